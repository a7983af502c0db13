"""Forms for batches: shape only; the rules live in service_requests.batches.

The grid's rows are not WTForms fields: their names (`rows-<row id>-<field>`) and the attribute
fields of each row's service depend on the data, so `row_values` reads them from the posted
form. The grid form itself only carries the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from liaison.errors import DomainError
from liaison.forms import apply_domain_error
from liaison.service_requests import batches
from liaison.service_requests.batches import BatchInput
from liaison.service_requests.models import AttributeDatatype, BatchRow, RequestBatch, ServiceType
from liaison.service_requests.validation import CONSENT_YES as CONSENT_WORDS
from liaison.service_requests.validation import FIELD_LABELS, Catalog
from liaison.training.content import localized

# The row fields the grid shows, in order; lat/long only appear for rows that have them.
GRID_FIELDS: tuple[str, ...] = (
    "service_code",
    "address",
    "zipcode",
    "lat",
    "long",
    "description",
    "neighbor_first_name",
    "neighbor_last_name",
    "neighbor_phone",
    "neighbor_email",
)
CONSENT_YES = "yes"
CONSENT_NO = "no"


def _without_nul(value: object) -> object:
    return value.replace("\x00", "") if isinstance(value, str) else value


class BatchForm(FlaskForm):
    """Title, meeting date and neighborhood of a batch."""

    title = StringField(
        _l("Title"),
        filters=[_without_nul],
        validators=[DataRequired(_l("Give the batch a title, like the meeting's name.")), Length(max=200)],
        description=_l("For example: Cedar Park civic meeting, March."),
    )
    meeting_date = DateField(
        _l("Meeting date"),
        validators=[Optional()],
        invalid_value_message=_l("Enter a real date, like 2026-03-15."),
    )
    neighborhood = SelectField(_l("Neighborhood"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args: Any, neighborhoods: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.neighborhood.choices = [(name, name) for name in neighborhoods or []]
        self.neighborhood.flags.required = True

    def to_input(self) -> BatchInput:
        """What the liaison typed, as the service takes it."""
        return BatchInput(
            title=self.title.data or "",
            meeting_date=self.meeting_date.data,
            neighborhood=self.neighborhood.data or "",
        )

    def show_error(self, error: DomainError) -> None:
        """Put a service's refusal next to its field."""
        apply_domain_error(self, error)

    @classmethod
    def for_batch(cls, batch: RequestBatch, neighborhoods: list[str]) -> BatchForm:
        """The form filled with a batch's details."""
        return cls(
            formdata=None,
            neighborhoods=neighborhoods,
            data={"title": batch.title, "meeting_date": batch.meeting_date, "neighborhood": batch.neighborhood},
        )


class GridForm(FlaskForm):
    """The whole grid sent as one form (without JavaScript); rows are read by `row_values`."""


class DeleteBatchForm(FlaskForm):
    """Deleting a draft deletes every row typed in it, so the liaison confirms it."""

    confirm = BooleanField(
        _l("Yes, delete this draft batch and all its rows"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class RemoveRowForm(FlaskForm):
    """Confirms removing one row (the page shown when JavaScript is off)."""


def field_name(row_id: int, field: str) -> str:
    """The form name of a row's field: both the grid form and a single row's post use it."""
    return f"rows-{row_id}-{field}"


def attribute_name(row_id: int, code: str) -> str:
    """The form name of a row's answer to a service attribute."""
    return f"rows-{row_id}-attribute-{code}"


def posted_row_ids(form: MultiDict[str, str]) -> list[int]:
    """The ids of the rows the grid form sent, in order, each once."""
    ids: list[int] = []
    for text in form.getlist("row_ids"):
        if text.isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids


def row_values(form: MultiDict[str, str], row_id: int, catalog: Catalog, stored_service: str = "") -> dict[str, Any]:
    """A row's values as typed in the posted form.

    The attribute fields read are those of the service the row was shown with (the hidden
    `shown_service` field, else the stored one): when the liaison has just chosen another
    service, the answers on the page still belong to the previous one. A list of checkboxes
    sends nothing when none is ticked, so each has a hidden empty companion saying it was shown.
    """
    values: dict[str, Any] = {}
    for name in GRID_FIELDS:
        key = field_name(row_id, name)
        if key in form:
            values[name] = form.get(key, "")
    if field_name(row_id, "service_code") in form:
        consent = form.get(field_name(row_id, "contact_consent"), "")
        values["contact_consent"] = CONSENT_YES if consent else CONSENT_NO
    shown = form.get(field_name(row_id, "shown_service"), stored_service)
    service = catalog.find(shown or "")
    if service is not None:
        answers: dict[str, Any] = {}
        for attribute in catalog.specs[service.id].attributes.values():
            key = attribute_name(row_id, attribute.code)
            if key not in form:
                continue
            if attribute.datatype is AttributeDatatype.MULTIVALUELIST:
                answers[attribute.code] = [item for item in form.getlist(key) if item]
            else:
                answers[attribute.code] = form.get(key, "")
        if answers:
            values["attributes"] = answers
    return values


def service_options(catalog: Catalog) -> list[tuple[str, list[tuple[str, str]]]]:
    """The active services for the row's select, grouped by their group, names localized."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for service_type in catalog.types:
        group = localized(service_type.group) or _("Other services")
        groups.setdefault(group, []).append((service_type.code, localized(service_type.name) or service_type.code))
    return list(groups.items())


# What the row partial shows ---------------------------------------------------------------------

NEIGHBOR_GRID_FIELDS = ("neighbor_first_name", "neighbor_last_name", "neighbor_phone", "neighbor_email")


@dataclass
class AttributeView:
    """One attribute field of a row, ready for the template."""

    id: int
    code: str
    name: str
    label: str
    hint: str
    datatype: str
    required: bool
    variable: bool
    value: Any
    choices: list[tuple[str, str]]
    error: str | None


@dataclass
class RowView:
    """One grid row as the partial shows it: values as typed, and which messages to show."""

    row: BatchRow
    values: dict[str, Any]
    service: ServiceType | None
    selected_code: str
    unknown_service: str
    attributes: list[AttributeView]
    errors: dict[str, str]
    other_errors: list[tuple[str, str]]
    hidden_problems: int
    state: str
    show_coordinates: bool

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def consent_checked(self) -> bool:
        return self.value("contact_consent").strip().casefold() in CONSENT_WORDS

    @property
    def neighbor_open(self) -> bool:
        """The neighbor's contact fields start open when something is typed in them or is wrong."""
        if self.consent_checked or "contact_consent" in self.errors:
            return True
        return any(self.value(name).strip() or name in self.errors for name in NEIGHBOR_GRID_FIELDS)

    def value(self, name: str) -> str:
        return str(self.values.get(name) or "")

    def name(self, field: str) -> str:
        return field_name(self.row.id, field)

    def field_id(self, field: str) -> str:
        return field_name(self.row.id, field)


def _filled(value: Any) -> bool:
    if isinstance(value, list):
        return any(str(item or "").strip() for item in value)
    return bool(str(value or "").strip())


def row_view(
    row: BatchRow,
    catalog: Catalog,
    values: dict[str, Any] | None = None,
    *,
    live: bool = False,
) -> RowView:
    """What the row partial needs for `row`, shown with `values` (default: as stored).

    Every problem of a row someone typed in is shown, except while the row is being typed
    (`live`): then a missing answer is only flagged once a later field has been filled, so a
    liaison is not told off for fields they have not reached yet.
    """
    values = dict(row.values or {}) if values is None else values
    stored_errors = dict(row.errors or {})
    typed_service = str(values.get("service_code") or "").strip()
    service = catalog.find(typed_service) if typed_service else None
    answers = values.get("attributes") or {}
    order: list[str] = ["service_code"]
    attributes: list[AttributeView] = []
    if service is not None:
        for attribute in service.attributes:
            key = f"attribute:{attribute.code}"
            if attribute.variable:
                order.append(key)
            attributes.append(
                AttributeView(
                    id=attribute.id,
                    code=attribute.code,
                    name=attribute_name(row.id, attribute.code),
                    label=localized(attribute.description) or attribute.code,
                    hint=localized(attribute.datatype_description),
                    datatype=str(attribute.datatype),
                    required=attribute.required,
                    variable=attribute.variable,
                    value=answers.get(attribute.code, [] if attribute.datatype == "multivaluelist" else ""),
                    choices=[
                        (str(entry.get("key")), localized(entry.get("name")) or str(entry.get("key")))
                        for entry in attribute.values or []
                        if isinstance(entry, dict) and "key" in entry
                    ],
                    error=None,
                )
            )
    # Attributes come after the description on the page, so they are checked in that order.
    order = ["service_code", "address", "zipcode", "lat", "long", "description", *order[1:]]
    order += [*NEIGHBOR_GRID_FIELDS]
    blank = batches.is_blank(values)

    def value_of(key: str) -> Any:
        if key.startswith("attribute:"):
            return answers.get(key.split(":", 1)[1])
        return values.get(key)

    last_filled = max((index for index, key in enumerate(order) if _filled(value_of(key))), default=-1)
    shown: dict[str, str] = {}
    for key, message in stored_errors.items():
        if blank:
            continue
        if live and key in order and not _filled(value_of(key)) and order.index(key) >= last_filled:
            continue
        shown[key] = message
    for attribute in attributes:
        attribute.error = shown.get(f"attribute:{attribute.code}")
    show_coordinates = any(_filled(values.get(name)) or name in stored_errors for name in ("lat", "long"))
    rendered = {"service_code", "address", "zipcode", "description", "contact_consent", *NEIGHBOR_GRID_FIELDS}
    if show_coordinates:
        rendered |= {"lat", "long"}
    rendered |= {f"attribute:{attribute.code}" for attribute in attributes if attribute.variable}
    other = [(_error_label(key), message) for key, message in shown.items() if key not in rendered]
    if blank:
        state = "empty"
    elif not stored_errors:
        state = "ready"
    elif shown:
        state = "needs_fixing"
    else:
        state = "unfinished"
    return RowView(
        row=row,
        values=values,
        service=service,
        selected_code=service.code if service is not None else typed_service,
        unknown_service=typed_service if service is None else "",
        attributes=attributes,
        errors=shown,
        other_errors=other,
        hidden_problems=len(stored_errors) - len(shown),
        state=state,
        show_coordinates=show_coordinates,
    )


def _error_label(key: str) -> str:
    if key.startswith("attribute:"):
        return key.split(":", 1)[1]
    return str(FIELD_LABELS.get(key, key))
