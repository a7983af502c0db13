"""Forms of the review page: keep or drop a possible duplicate, and submit the batch."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp

from liaison.service_requests.models import DuplicateDecision

DECISION_CHOICES = [
    SelectChoice(DuplicateDecision.KEEP.value, _l("Keep: file it")),
    SelectChoice(DuplicateDecision.DROP.value, _l("Drop: do not file it")),
]


class DecisionForm(FlaskForm):
    """One flagged row's choice (the review page renders the radios itself, one form per row)."""

    decision = RadioField(
        _l("Keep or drop this row?"),
        choices=DECISION_CHOICES,
        validators=[InputRequired(message=_l("Choose keep or drop."))],
    )


class SubmitForm(FlaskForm):
    """The Submit button's form: the key of this submit and the revision the liaison reviewed."""

    idempotency_key = HiddenField(validators=[InputRequired(), Length(max=64)])
    revision = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
