"""Forms for following requests: list filters, status changes, the review flag, exports, receipts.

Shape only (choices, lengths); whether a change is allowed is `tracking`'s call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from liaison.service_requests.models import RequestState
from liaison.service_requests.tracking import (
    NOTE_MAX_LENGTH,
    SEARCH_MAX_LENGTH,
    BatchLine,
    RequestFilters,
    state_label,
)

MAX_ID = 2**31 - 1


def record_id(value: Any) -> int | None:
    """A database id from a form or URL value, or None when it cannot be one."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def _strip(value: Any) -> Any:
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def state_filter_choices() -> list[tuple[str, str]]:
    return [
        ("", str(_l("Any status"))),
        ("open", str(_l("Open (not closed yet)"))),
        ("closed", str(_l("Closed or rejected"))),
        *[(state.value, state_label(state)) for state in RequestState],
    ]


def target_choices(states: Iterable[RequestState] | None = None) -> list[tuple[str, str]]:
    """The states to move to: every one but submitted, or only those `states` allow."""
    targets = [state for state in RequestState if state is not RequestState.SUBMITTED]
    if states is not None:
        allowed = set(states)
        targets = [state for state in targets if state in allowed]
    return [(state.value, state_label(state)) for state in targets]


class _Filters(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(
        _l("Search"),
        description=_l("Words in the address or description, or a request number such as 1024."),
        validators=[Optional(), Length(max=SEARCH_MAX_LENGTH)],
        filters=[_strip],
        render_kw={"type": "search", "autocomplete": "off", "spellcheck": "false"},
    )
    state = SelectField(_l("Status"), choices=state_filter_choices, validators=[Optional()])
    # Any value only narrows the list, so stale or odd values are not errors.
    service_type = SelectField(_l("Service"), choices=[], validate_choice=False, validators=[Optional()])
    batch = SelectField(_l("Batch"), choices=[], validate_choice=False, validators=[Optional()])

    def set_service_types(self, choices: Iterable[tuple[int, str]]) -> None:
        self.service_type.choices = [("", str(_l("All services"))), *[(str(id_), name) for id_, name in choices]]

    def _state_value(self) -> str:
        valid = {value for value, _label in state_filter_choices()}
        return self.state.data if self.state.data in valid else ""

    def _search(self) -> str:
        return "" if self.q.errors else (self.q.data or "").strip()


class MyRequestFilterForm(_Filters):
    """A liaison's filters on My requests."""

    def set_batches(self, batches: Iterable[BatchLine]) -> None:
        self.batch.choices = [("", str(_l("All batches"))), *[(str(b.id), f"#{b.id} {b.title}") for b in batches]]

    def to_filters(self) -> RequestFilters:
        return RequestFilters(
            state=self._state_value(),
            service_type_id=record_id(self.service_type.data),
            batch_id=record_id(self.batch.data),
            search=self._search(),
        )


REVIEW_CHOICES = (("", _l("Flagged or not")), ("yes", _l("Needs review")), ("no", _l("Reviewed")))


class QueueFilterForm(_Filters):
    """The coordinators' queue filters."""

    batch = StringField(
        _l("Batch number"),
        validators=[Optional(), Length(max=12)],
        filters=[_strip],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    neighborhood = SelectField(_l("Neighborhood"), choices=[], validate_choice=False, validators=[Optional()])
    # A text box, not a menu: a city has thousands of liaisons.
    liaison = StringField(
        _l("Liaison"),
        description=_l("Part of a name or email, or a liaison's number."),
        validators=[Optional(), Length(max=100)],
        filters=[_strip],
        render_kw={"autocomplete": "off"},
    )
    review = SelectField(
        _l("Review"), choices=lambda: [(value, str(label)) for value, label in REVIEW_CHOICES], validators=[Optional()]
    )
    requested_from = DateField(_l("Filed on or after"), validators=[Optional()])
    requested_to = DateField(_l("Filed on or before"), validators=[Optional()])

    def set_choices(self, neighborhoods: Iterable[str]) -> None:
        """Fill the neighborhood menu (only when the filters are drawn)."""
        self.neighborhood.choices = [("", str(_l("All neighborhoods"))), *[(name, name) for name in neighborhoods]]

    def validate_batch(self, field: StringField) -> None:
        if field.data and record_id(field.data.removeprefix("#")) is None:
            raise ValidationError(_l("Type a batch number, such as 42."))

    def validate_requested_to(self, field: DateField) -> None:
        if field.data and self.requested_from.data and field.data < self.requested_from.data:
            raise ValidationError(_l("Choose a date on or after the first date."))

    def to_filters(self) -> RequestFilters:
        review = self.review.data
        return RequestFilters(
            state=self._state_value(),
            service_type_id=record_id(self.service_type.data),
            neighborhood=(self.neighborhood.data or "").replace("\x00", "").strip()[:120],
            liaison_id=record_id(self.liaison.data),
            liaison_text="" if record_id(self.liaison.data) else (self.liaison.data or "").replace("\x00", ""),
            batch_id=None if self.batch.errors else record_id((self.batch.data or "").removeprefix("#")),
            needs_review=True if review == "yes" else False if review == "no" else None,
            requested_from=None if self.requested_from.errors else self.requested_from.data,
            requested_to=None if self.requested_to.errors else self.requested_to.data,
            search=self._search(),
        )


def _selected(form: FlaskForm, field: SelectMultipleField) -> None:
    if not field.data:
        raise ValidationError(_l("Select at least one request first."))


NOTE_DESCRIPTION = _l(
    "The liaison sees it in the request's history, and it is shown on the public status page: "
    "never write a neighbor's name or contact details here."
)


class StatusForm(FlaskForm):
    """One request's new status and a note."""

    to_state = SelectField(
        _l("New status"),
        choices=target_choices,
        validators=[DataRequired(_l("Choose the new status."))],
    )
    note = TextAreaField(
        _l("Note"),
        description=NOTE_DESCRIPTION,
        filters=[_strip],
        validators=[Length(max=NOTE_MAX_LENGTH, message=_l("Use at most %(max)d characters."))],
        render_kw={"rows": "2"},
    )


def _ids_coerce(value: Any) -> int:
    number = record_id(value)
    if number is None:
        raise ValueError("not an id")
    return number


class BulkStatusForm(StatusForm):
    """The same new status (or clearing the review flag) for every selected request."""

    request_ids = SelectMultipleField(
        _l("Selected requests"), coerce=_ids_coerce, validate_choice=False, validators=[_selected]
    )
    to_state = SelectField(
        _l("New status"),
        choices=lambda: [("", str(_l("Choose a status"))), *target_choices()],
        validators=[DataRequired(_l("Choose the new status."))],
        id="bulk-to-state",
    )
    note = TextAreaField(
        _l("Note"),
        description=NOTE_DESCRIPTION,
        filters=[_strip],
        validators=[Length(max=NOTE_MAX_LENGTH, message=_l("Use at most %(max)d characters."))],
        id="bulk-note",
        render_kw={"rows": "2"},
    )


class ExportForm(FlaskForm):
    """Download the filtered list; neighbor contact only when ticked (the export is then audited)."""

    format = SelectField(
        _l("Format"),
        choices=lambda: [("csv", "CSV"), ("xlsx", "Excel (XLSX)")],
        validators=[DataRequired(_l("Choose CSV or Excel."))],
    )
    include_contact = BooleanField(
        _l("Include neighbor contact details"),
        description=_l("Names, phones and emails are personal data: the download is recorded."),
    )


class ConfirmForm(FlaskForm):
    """A button that changes something (email a receipt, clear a flag): the CSRF token only."""
