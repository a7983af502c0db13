"""Forms for closure follow-up: confirm, dispute with a reason, and the dispute-rate filters.

Shape only; whether an answer is allowed is `follow_up`'s call. The two answer forms carry a
prefix so their fields (and CSRF inputs) have ids of their own on the request page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, StopValidation

from liaison.service_requests.follow_up import DEFAULT_PERIOD, GROUPINGS, REASON_MAX_LENGTH


def _clean(value: Any) -> Any:
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


class ConfirmFixedForm(FlaskForm):
    """The "it is fixed" button: the CSRF token only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "confirm")
        super().__init__(*args, **kwargs)


class DisputeForm(FlaskForm):
    """Why the request is not settled; the text goes to the city with the refiled request."""

    reason = TextAreaField(
        _l("What is still wrong?"),
        description=_l(
            "At most 1,000 characters. This goes to the city with the new request: "
            "do not write the neighbor's name or contact details here."
        ),
        validators=[
            InputRequired(_l("Say what is still wrong, so the city knows what to look at.")),
            Length(max=REASON_MAX_LENGTH, message=_l("Use at most %(max)d characters.")),
        ],
        filters=[_clean],
        render_kw={"rows": 4, "maxlength": REASON_MAX_LENGTH},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "dispute")
        super().__init__(*args, **kwargs)

    def validate_reason(self, field: TextAreaField) -> None:
        if not field.data:
            # Only spaces were typed: InputRequired saw text, the filter left none.
            raise StopValidation(str(_l("Say what is still wrong, so the city knows what to look at.")))


PERIOD_CHOICES: tuple[tuple[str, Any], ...] = (
    ("30", _l("Last 30 days")),
    ("90", _l("Last 90 days")),
    ("365", _l("Last 12 months")),
    ("all", _l("All time")),
)
GROUPING_CHOICES: tuple[tuple[str, Any], ...] = (
    ("service", _l("Service")),
    ("neighborhood", _l("Neighborhood")),
)


class DisputeRateFilterForm(FlaskForm):
    """The period and the grouping of the dispute-rate page."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    period = SelectField(
        _l("Closed in"),
        choices=lambda: [(value, str(label)) for value, label in PERIOD_CHOICES],
        default=str(DEFAULT_PERIOD),
        validators=[Optional()],
    )
    by = SelectField(
        _l("Group by"),
        choices=lambda: [(value, str(label)) for value, label in GROUPING_CHOICES],
        default="service",
        validators=[Optional()],
    )

    def period_days(self) -> int | None:
        """The chosen period in days (None for all time); the default when the choice is not valid."""
        value = self.period.data if self.period.data in dict(PERIOD_CHOICES) else str(DEFAULT_PERIOD)
        return None if value == "all" else int(value)

    def grouping(self) -> str:
        return self.by.data if self.by.data in GROUPINGS else "service"
