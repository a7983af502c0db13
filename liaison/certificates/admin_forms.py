"""Forms of the coordinators' certificate pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

REASON_MAX_LENGTH = 1000

STATE_LABELS = {
    "valid": _l("Valid"),
    "expiring_soon": _l("Expiring soon"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
    "pending": _l("Pending approval"),
}
EXPIRES_WITHIN = (30, 60, 90)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class CertificateFilterForm(FlaskForm):
    """Filter the certificate list by cohort, state and coming expiry."""

    class Meta:
        csrf = False  # a GET filter form changes nothing

    cohort = SelectField(_l("Cohort"), validators=[Optional()], coerce=str)
    state = SelectField(_l("State"), validators=[Optional()])
    expires = SelectField(_l("Expires"), validators=[Optional()])

    def __init__(self, *args, cohort_choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cohort.choices = [("", _l("All cohorts")), *cohort_choices]
        self.state.choices = [("", _l("Any state")), *((key, label) for key, label in STATE_LABELS.items())]
        self.expires.choices = [
            ("", _l("Any time")),
            *((str(days), _l("In the next %(days)d days", days=days)) for days in EXPIRES_WITHIN),
        ]


class RevokeForm(FlaskForm):
    """Revoke a certificate, with the reason (kept with the certificate and in the audit trail)."""

    reason = TextAreaField(
        _l("Reason for revoking"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write the reason for revoking.")),
            Length(max=REASON_MAX_LENGTH, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l(
            "The verify page shows the certificate as revoked from now on; the liaison can no longer file requests."
        ),
        render_kw={"rows": "2"},
    )
