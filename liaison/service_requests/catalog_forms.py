"""Forms for the service catalog and neighborhoods: shape only; the rules live in catalog.py."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from liaison.service_requests import catalog
from liaison.service_requests.models import AttributeDatatype

KIND_LABELS: dict[str, Any] = {
    "realtime": _l("Real time: the city updates the status as it works on it"),
    "batch": _l("Batch: the city updates statuses later, in bulk"),
    "blackbox": _l("Black box: the city gives no status updates"),
}

DATATYPE_LABELS: dict[AttributeDatatype, Any] = {
    AttributeDatatype.STRING: _l("Short text"),
    AttributeDatatype.NUMBER: _l("Number"),
    AttributeDatatype.DATETIME: _l("Date and time"),
    AttributeDatatype.TEXT: _l("Long text"),
    AttributeDatatype.SINGLEVALUELIST: _l("One choice from a list"),
    AttributeDatatype.MULTIVALUELIST: _l("Several choices from a list"),
}


def _strip(value: Any) -> Any:
    # PostgreSQL refuses NUL in text and no person types one (SECURITY.md pitfall 11).
    return value.replace("\x00", "").strip() if isinstance(value, str) else value


def _length(maximum: int) -> Length:
    return Length(max=maximum, message=_l("Use at most %(max)d characters."))


def _spanish(**render_kw: Any) -> dict[str, Any]:
    # Screen readers and spell checkers read Spanish fields as Spanish.
    return {"lang": "es", **render_kw}


class ServiceTypeForm(FlaskForm):
    """A service type's code, names, group, description, keywords, kind and whether it is in use."""

    code = StringField(
        _l("Service code"),
        filters=[_strip],
        validators=[DataRequired(_l("Give the service a code, for example SR-ST01.")), _length(catalog.CODE_MAX)],
        description=_l("Capital letters, digits and dashes, for example SR-ST01. Uploads and the city's 311 use it."),
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )
    name_en = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(_l("Give the service an English name.")), _length(catalog.NAME_MAX)],
    )
    name_es = StringField(
        _l("Name"), filters=[_strip], validators=[Optional(), _length(catalog.NAME_MAX)], render_kw=_spanish()
    )
    group_en = StringField(
        _l("Group"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Name the group the service belongs to, for example Streets.")),
            _length(catalog.GROUP_MAX),
        ],
        description=_l("Services are listed by group, for example Streets or Sanitation."),
        render_kw={"list": "catalog-groups", "autocomplete": "off"},
    )
    group_es = StringField(
        _l("Group"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.GROUP_MAX)],
        description=_l("Left empty, the Spanish name other services of the group use is copied."),
        render_kw=_spanish(),
    )
    description_en = TextAreaField(
        _l("Description"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.DESCRIPTION_MAX)],
        description=_l("What the service is for, in a sentence or two."),
        render_kw={"rows": 3},
    )
    description_es = TextAreaField(
        _l("Description"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.DESCRIPTION_MAX)],
        description=_l("What the service is for, in a sentence or two."),
        render_kw=_spanish(rows=3),
    )
    keywords = StringField(
        _l("Keywords"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.KEYWORDS_MAX)],
        description=_l("Words people search with, separated by commas, for example: pothole, road, pavement."),
    )
    kind = SelectField(
        _l("Status updates"),
        choices=lambda: [(kind, str(label)) for kind, label in KIND_LABELS.items()],
        default="realtime",
        validators=[DataRequired()],
        description=_l("The Open311 service type."),
    )
    active = BooleanField(
        _l("In use: liaisons can file requests for it"),
        default=True,
        description=_l("Turn off to stop new requests. Requests already filed stay."),
    )


class AttributeForm(FlaskForm):
    """An attribute: an extra question asked for one service (an Open311 attribute definition)."""

    code = StringField(
        _l("Attribute code"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Give the attribute a code, for example pole_number.")),
            _length(catalog.ATTRIBUTE_CODE_MAX),
        ],
        description=_l("Small letters, digits and underscores, for example pole_number. Upload columns use it."),
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )
    datatype = SelectField(
        _l("Type of answer"),
        choices=lambda: [(datatype.value, str(label)) for datatype, label in DATATYPE_LABELS.items()],
        default=AttributeDatatype.STRING.value,
        validators=[DataRequired(_l("Choose the type of answer."))],
    )
    description_en = StringField(
        _l("Question"),
        filters=[_strip],
        validators=[DataRequired(_l("Write the question in English.")), _length(catalog.QUESTION_MAX)],
        description=_l("Shown next to the answer, for example: Pole number."),
    )
    description_es = StringField(
        _l("Question"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.QUESTION_MAX)],
        description=_l("Shown next to the answer, for example: Pole number."),
        render_kw=_spanish(),
    )
    datatype_description_en = StringField(
        _l("Help text"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.HELP_MAX)],
        description=_l("How to answer, for example: on a metal tag on the pole."),
    )
    datatype_description_es = StringField(
        _l("Help text"),
        filters=[_strip],
        validators=[Optional(), _length(catalog.HELP_MAX)],
        description=_l("How to answer, for example: on a metal tag on the pole."),
        render_kw=_spanish(),
    )
    values = TextAreaField(
        _l("Choices"),
        filters=[_strip],
        validators=[Optional(), _length(20_000)],
        description=_l(
            "Only for list answers. One choice per line: key | English name | Spanish name, for example: blue | Blue | Azul"
        ),
        render_kw={"rows": 6, "spellcheck": "false"},
    )
    required = BooleanField(_l("An answer is required"))
    variable = BooleanField(
        _l("Liaisons answer it"),
        default=True,
        description=_l("Turn off for information that is only shown, never answered."),
    )


class NeighborhoodForm(FlaskForm):
    """A neighborhood's name and ZIP codes."""

    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(_l("Give the neighborhood a name.")), _length(catalog.NEIGHBORHOOD_NAME_MAX)],
    )
    zipcodes = StringField(
        _l("ZIP codes"),
        filters=[_strip],
        validators=[DataRequired(_l("Write at least one ZIP code, for example 19143.")), _length(1_000)],
        description=_l("5-digit ZIP codes separated by commas or spaces, for example: 19134, 19125."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ConfirmDeleteForm(FlaskForm):
    """The confirmation that something should be deleted."""

    confirm = HiddenField(validators=[AnyOf(["yes"], message=_l("Confirm to delete it."))])


class MoveForm(FlaskForm):
    """Move an attribute one place up or down."""

    direction = HiddenField(validators=[AnyOf(["up", "down"], message=_l("Choose up or down."))])
