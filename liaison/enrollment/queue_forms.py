"""Forms of the coordinators' applications queue: filters, one decision, a bulk decision.

Shape only (choices, lengths, "a cohort is needed to approve"); whether a decision is allowed
(capacity, already decided, notes to decline) is the services' call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from liaison.enrollment.models import ApplicationStatus
from liaison.enrollment.services import APPLICATION_STATUS_LABELS, ApplicationFilters, CohortChoice

NOTE_MAX_LENGTH = 2000
BULK_MAX_SELECTED = 200
DEFAULT_STATUS = ApplicationStatus.SUBMITTED.value
ALL_STATUSES = "all"
# What needs a decision first.
STATUS_ORDER = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.WAITLISTED,
    ApplicationStatus.APPROVED,
    ApplicationStatus.DECLINED,
    ApplicationStatus.WITHDRAWN,
)

# Ids are 32-bit integers in the database; anything else typed into a URL is no id at all.
MAX_ID = 2**31 - 1

CHOOSE_COHORT = _l("Choose the cohort to approve into.")
NOTE_TO_DECLINE = _l("Write a short note saying why.")


def record_id(value: Any) -> int | None:
    """A database id from a form or URL value, or None when it cannot be one."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def without_nul(value: Any) -> Any:
    """Typed text without NUL characters, which PostgreSQL refuses in text (a 500 otherwise)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _capitalised(label: Any) -> str:
    text = str(label)
    return text[:1].upper() + text[1:]


def status_choices() -> list[tuple[str, str]]:
    return [
        *[(status.value, _capitalised(APPLICATION_STATUS_LABELS[status])) for status in STATUS_ORDER],
        (ALL_STATUSES, str(_l("All statuses"))),
    ]


def decision_choices() -> list[tuple[str, str]]:
    return [
        ("approve", str(_l("Approve into a cohort"))),
        ("waitlist", str(_l("Waitlist"))),
        ("decline", str(_l("Decline"))),
    ]


def cohort_choice_label(choice: CohortChoice) -> str:
    """A cohort in the approve menu, with its free places."""
    places = ngettext("%(num)d place left", "%(num)d places left", choice.free_places)
    return f"{choice.name} ({places})"


class QueueFilterForm(FlaskForm):
    """The queue's GET filters; neighborhood and cohort choices are only needed to draw them."""

    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(
        _l("Search by name or email"),
        validators=[Optional(), Length(max=100)],
        filters=[without_nul],
        render_kw={"type": "search", "autocomplete": "off", "spellcheck": "false"},
    )
    status = SelectField(_l("Status"), choices=status_choices, default=DEFAULT_STATUS, validators=[Optional()])
    # Any value only narrows the list, so stale or odd values are not errors.
    neighborhood = SelectField(
        _l("Neighborhood"), choices=[], validate_choice=False, validators=[Optional()], filters=[without_nul]
    )
    cohort = SelectField(_l("Cohort"), choices=[], validate_choice=False, validators=[Optional()])
    submitted_from = DateField(_l("Submitted on or after"), validators=[Optional()])
    submitted_to = DateField(_l("Submitted on or before"), validators=[Optional()])

    def set_choices(self, neighborhoods: Iterable[str], cohorts: Iterable[tuple[int, str]]) -> None:
        """Fill the neighborhood and cohort menus (only when the filters are drawn)."""
        self.neighborhood.choices = [("", str(_l("All neighborhoods"))), *[(name, name) for name in neighborhoods]]
        self.cohort.choices = [("", str(_l("All cohorts"))), *[(str(id_), name) for id_, name in cohorts]]

    def validate_submitted_to(self, field: DateField) -> None:
        if field.data and self.submitted_from.data and field.data < self.submitted_from.data:
            raise ValidationError(_l("Choose a date on or after the first date."))

    @property
    def status_value(self) -> str:
        """The status shown: the one asked for, or submitted (new applications) by default."""
        valid = {value for value, _label in status_choices()}
        return self.status.data if self.status.data in valid else DEFAULT_STATUS

    def to_filters(self) -> ApplicationFilters:
        """The service's filters; a field with an error is left out."""
        status = self.status_value
        return ApplicationFilters(
            status="" if status == ALL_STATUSES else status,
            neighborhood=(self.neighborhood.data or "").strip(),
            cohort_id=record_id(self.cohort.data),
            submitted_from=None if self.submitted_from.errors else self.submitted_from.data,
            submitted_to=None if self.submitted_to.errors else self.submitted_to.data,
            search="" if self.q.errors else (self.q.data or "").strip(),
        )


class _DecisionFields(FlaskForm):
    """A decision, a cohort for approvals and a note (required to decline)."""

    decision = SelectField(
        _l("Decision"),
        choices=decision_choices,
        validators=[DataRequired(_l("Choose approve, waitlist or decline."))],
    )
    # The service explains why a cohort cannot take someone (full, closed): no choice check here.
    # Validators here must not stop the chain on an empty value (as Optional does): the checks
    # below make cohort and note required for some decisions.
    cohort_id = SelectField(_l("Cohort"), choices=[], validate_choice=False, description=_l("Needed to approve."))
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=NOTE_MAX_LENGTH)],
        filters=[without_nul],
        description=_l("Required to decline; kept for the record, not sent to the applicant."),
    )

    def set_cohort_choices(self, cohorts: Iterable[CohortChoice]) -> None:
        """The approve menu: open cohorts with free places."""
        self.cohort_id.choices = [("", str(_l("Choose a cohort")))] + [
            (str(choice.id), cohort_choice_label(choice)) for choice in cohorts
        ]

    def validate_cohort_id(self, field: SelectField) -> None:
        if self.decision.data != "approve":
            return
        if record_id(field.data) is None:
            raise ValidationError(CHOOSE_COHORT)

    def validate_note(self, field: TextAreaField) -> None:
        if self.decision.data == "decline" and not (field.data or "").strip():
            raise ValidationError(NOTE_TO_DECLINE)

    @property
    def cohort_value(self) -> int | None:
        return record_id(self.cohort_id.data)


class DecisionForm(_DecisionFields):
    """One application's decision (a row of the queue or its detail page)."""

    next = HiddenField(filters=[without_nul])


def _at_least_one(form: FlaskForm, field: SelectMultipleField) -> None:
    if not field.data:
        raise ValidationError(_l("Select at least one application first."))
    if any(record_id(value) is None for value in field.data):
        raise ValidationError(_l("Select applications from the list."))
    if len(field.data) > BULK_MAX_SELECTED:
        raise ValidationError(
            _l("Select at most %(num)d applications at a time.", num=BULK_MAX_SELECTED),
        )


class BulkDecisionForm(_DecisionFields):
    """The same decision for every selected application."""

    application_ids = SelectMultipleField(
        _l("Selected applications"), coerce=int, validate_choice=False, validators=[_at_least_one]
    )
    decision = SelectField(
        _l("Decision"),
        choices=lambda: [("", str(_l("Choose a decision"))), *decision_choices()],
        validators=[DataRequired(_l("Choose what to do with the selected applications."))],
        id="bulk-decision",
    )
    cohort_id = SelectField(
        _l("Cohort"),
        choices=[],
        validate_choice=False,
        description=_l("Needed to approve."),
        id="bulk-cohort",
    )
    note = TextAreaField(
        _l("Note"),
        validators=[Length(max=NOTE_MAX_LENGTH)],
        filters=[without_nul],
        description=_l("Required to decline; kept for the record, not sent to the applicants."),
        id="bulk-note",
    )
