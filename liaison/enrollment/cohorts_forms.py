"""Forms for cohorts, roster changes and roster imports: shape only; rules live in services."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from liaison.enrollment.models import CohortStatus
from liaison.enrollment.roster_io import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS

COHORT_STATUS_LABELS: dict[CohortStatus, Any] = {
    CohortStatus.PLANNED: _l("Planned"),
    CohortStatus.ACTIVE: _l("Active"),
    CohortStatus.COMPLETED: _l("Completed"),
    CohortStatus.ARCHIVED: _l("Archived"),
}

MAX_CAPACITY = 10_000
REASON_MAX_LENGTH = 500


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered by templates/cohorts/_macros.html)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        valid = {value for value, _label in self.choices}
        if any(value not in valid for value in self.data or []):
            raise ValidationError(_l("Choose from the options listed."))


class CohortForm(FlaskForm):
    """A cohort's details, as a coordinator creates or edits them."""

    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Give the cohort a name.")),
            Length(max=120, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("For example: Spring 2026, North Philadelphia."),
    )
    neighborhood = StringField(
        _l("Neighborhood or district"),
        filters=[_strip],
        validators=[Optional(), Length(max=120, message=_l("Use at most %(max)d characters."))],
    )
    starts_on = DateField(
        _l("Start date"),
        validators=[Optional()],
        format="%Y-%m-%d",
        description=_l("The day of the first session."),
    )
    ends_on = DateField(
        _l("End date"),
        validators=[Optional()],
        format="%Y-%m-%d",
        description=_l("On or after the start date."),
    )
    capacity = IntegerField(
        _l("Capacity"),
        default=25,
        validators=[
            InputRequired(_l("Say how many liaisons the cohort can take.")),
            NumberRange(min=1, max=MAX_CAPACITY, message=_l("Use a number from %(min)d to %(max)d.")),
        ],
        description=_l("The most liaisons who can be placed in it."),
        render_kw={"inputmode": "numeric", "min": "1", "max": str(MAX_CAPACITY)},
    )
    status = SelectField(
        _l("Status"),
        choices=lambda: [(status.value, str(label)) for status, label in COHORT_STATUS_LABELS.items()],
        validators=[DataRequired()],
        default=CohortStatus.PLANNED.value,
        description=_l("People can be placed only in planned and active cohorts."),
    )
    min_sessions_required = IntegerField(
        _l("Sessions to attend for certification"),
        default=0,
        validators=[
            InputRequired(_l("Write 0 when attendance is not required.")),
            NumberRange(min=0, max=100, message=_l("Use a number from %(min)d to %(max)d.")),
        ],
        description=_l("0 when attendance is not required."),
        render_kw={"inputmode": "numeric", "min": "0", "max": "100"},
    )
    coordinator_ids = CheckboxListField(
        _l("Coordinators"),
        coerce=int,
        description=_l("The coordinators who look after this cohort."),
    )

    def __init__(self, *args: Any, coordinator_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coordinator_ids.choices = coordinator_choices or []

    def validate_ends_on(self, field: Field) -> None:
        # The service enforces this too; checking here shows it together with the other mistakes.
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end date must be on or after the start date."))


class ArchiveCohortForm(FlaskForm):
    """The confirmation that a cohort should be archived."""

    confirm = HiddenField(validators=[AnyOf(["yes"], message=_l("Confirm to archive the cohort."))])


class MoveMemberForm(FlaskForm):
    """Move a liaison to another cohort that has free places."""

    cohort_id = SelectField(
        _l("Move to"),
        coerce=int,
        # The service decides whether the cohort can take them (it may have filled up since).
        validate_choice=False,
        validators=[InputRequired(_l("Choose the cohort to move them to."))],
        description=_l("Only open cohorts with free places are listed."),
    )
    reason = TextAreaField(
        _l("Reason"),
        filters=[_strip],
        validators=[Optional(), Length(max=REASON_MAX_LENGTH, message=_l("Use at most %(max)d characters."))],
        description=_l("Kept with the liaison's history."),
        render_kw={"rows": "2"},
    )

    def __init__(self, *args: Any, cohort_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cohort_id.choices = [(0, str(_l("Choose a cohort")))] + (cohort_choices or [])

    def validate_cohort_id(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the cohort to move them to."))


class WithdrawMemberForm(FlaskForm):
    """End a liaison's place in a cohort, with the reason."""

    reason = TextAreaField(
        _l("Reason for withdrawing"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write the reason for withdrawing.")),
            Length(max=REASON_MAX_LENGTH, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("Kept with the liaison's history. Their account stays."),
        render_kw={"rows": "2"},
    )


class RosterFilterForm(FlaskForm):
    """Search the roster, and show people who left."""

    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Search by name or email"), validators=[Optional(), Length(max=100)])
    ended = BooleanField(_l("Show withdrawn and moved"), validators=[Optional()])


class ImportRosterForm(FlaskForm):
    """A CSV or XLSX file of people met at a community event."""

    file = FileField(
        _l("CSV or Excel file"),
        validators=[FileRequired(_l("Choose the file to upload."))],
        description=_l(
            "A .csv or .xlsx file with one header row and one person per row, at most %(rows)s rows and %(size)d MB.",
            rows=f"{MAX_IMPORT_ROWS:,}",
            size=MAX_IMPORT_BYTES // (1024 * 1024),
        ),
        render_kw={
            "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            # htmx keeps the chosen file when the report comes back with problems.
            "hx-preserve": "true",
        },
    )
