"""Forms for coordinators' oversight of training: shape only; rules live in training.services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

# Far above any real accommodation; keeps a typo (5000 attempts) from passing unnoticed.
MAX_EXTRA_ATTEMPTS = 20
MAX_EXTRA_MINUTES = 240


class AccommodationForm(FlaskForm):
    """Extra attempts and/or extra minutes for one liaison on one quiz (added to any earlier grant)."""

    extra_attempts = IntegerField(
        _l("Extra attempts"),
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_EXTRA_ATTEMPTS, message=_l("Give from %(min)d to %(max)d extra attempts.")),
        ],
    )
    extra_minutes = IntegerField(
        _l("Extra minutes per attempt"),
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_EXTRA_MINUTES, message=_l("Give from %(min)d to %(max)d extra minutes.")),
        ],
    )

    def for_quiz(self, quiz_id: int) -> AccommodationForm:
        """Give the fields ids of their own: the page has one of these forms per quiz."""
        self.extra_attempts.id = f"quiz-{quiz_id}-extra-attempts"
        self.extra_minutes.id = f"quiz-{quiz_id}-extra-minutes"
        return self

    def shown_fields(self, *, limited_attempts: bool, timed: bool) -> list[str]:
        """The fields that make sense for a quiz (no extra attempts when attempts are unlimited)."""
        return [name for name, shown in (("extra_attempts", limited_attempts), ("extra_minutes", timed)) if shown]

    def move_errors_of_hidden_fields(self, shown: list[str]) -> None:
        """Messages about a field the page does not show go above the form, where they are seen."""
        for name in ("extra_attempts", "extra_minutes"):
            field = getattr(self, name)
            if name not in shown and field.errors:
                self.form_errors.extend(str(message) for message in field.errors)
                field.errors = []

    def values(self) -> dict[str, Any]:
        """The numbers for training.services.grant_accommodation (empty means none)."""
        return {"extra_attempts": self.extra_attempts.data or 0, "extra_minutes": self.extra_minutes.data or 0}


class UnlockForm(FlaskForm):
    """A button: give a liaison who used every attempt one more (only the CSRF token is sent)."""
