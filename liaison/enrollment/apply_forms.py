"""The public application form: shape only (required, length, format); rules live in services."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from liaison.enrollment.models import GroupType

MOTIVATION_MAX_LENGTH = 2000

# Languages an applicant can tick; stored as these codes. Anything typed under "Other languages"
# is stored as typed, after the codes.
APPLICANT_LANGUAGES: dict[str, Any] = {
    "en": _l("English"),
    "es": _l("Spanish"),
    "zh": _l("Chinese"),
    "vi": _l("Vietnamese"),
    "ru": _l("Russian"),
    "ar": _l("Arabic"),
    "ht": _l("Haitian Creole"),
    "fr": _l("French"),
    "pt": _l("Portuguese"),
}

AVAILABILITY: dict[str, Any] = {
    "weekday_daytime": _l("Weekday daytime"),
    "weekday_evenings": _l("Weekday evenings"),
    "weekends": _l("Weekends"),
}

GROUP_TYPES: dict[GroupType, Any] = {
    GroupType.BLOCK_CLUB: _l("Block club"),
    GroupType.CIVIC_ASSOCIATION: _l("Civic association"),
    GroupType.FAITH_GROUP: _l("Faith group"),
    GroupType.OTHER: _l("Other community group"),
}


def language_label(value: str) -> str:
    """A stored language as a person reads it (codes are translated, typed names kept)."""
    return str(APPLICANT_LANGUAGES.get(value, value))


def availability_label(value: str) -> str:
    """A stored availability code as a person reads it."""
    return str(AVAILABILITY.get(value, value))


def group_type_label(value: GroupType | str) -> str:
    """A group type as a person reads it."""
    try:
        return str(GROUP_TYPES[GroupType(value)])
    except ValueError:
        return str(value)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _phone_digits(form: FlaskForm, field: Field) -> None:
    digits = re.sub(r"\D", "", field.data or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or re.search(r"[^\d\s().+\-]", field.data or ""):
        raise ValidationError(_l("Enter a 10-digit phone number with the area code, like 215-555-0123."))


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered by templates/apply/_choices.html)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        # The default message ("'x' is not a valid choice for this field") names the bad value;
        # only a hand-made request can send one, so one plain sentence is enough.
        valid = {str(value) for value, _label in self.choices}
        if any(value not in valid for value in self.data or []):
            raise ValidationError(_l("Choose from the options listed."))


class ApplicationForm(FlaskForm):
    """Everything an applicant tells the program about themselves."""

    full_name = StringField(
        _l("Full name"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your full name.")),
            Length(max=200, message=_l("Use at most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter an email address like name@example.org."), check_deliverability=False),
            Length(max=254, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("We send the confirmation and every next step here."),
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )
    phone = TelField(
        _l("Phone number"),
        filters=[_strip],
        validators=[DataRequired(_l("Enter a phone number where we can reach you.")), _phone_digits],
        description=_l("With the area code. We call or text only about the program."),
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    address = StringField(
        _l("Home address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your home address.")),
            Length(max=300, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("Street and number, and apartment if there is one."),
        render_kw={"autocomplete": "street-address"},
    )
    zip_code = StringField(
        _l("ZIP code"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your ZIP code.")),
            Regexp(r"^\d{5}(-\d{4})?$", message=_l("Enter a 5-digit ZIP code, like 19121, or ZIP+4, like 19121-3401.")),
        ],
        description=_l("5 digits, or ZIP+4."),
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric", "maxlength": "10"},
    )
    neighborhood = StringField(
        _l("Neighborhood"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the neighborhood you live in.")),
            Length(max=120, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("Start typing to pick from neighborhoods we know, or write your own."),
        render_kw={"list": "neighborhood-options", "autocomplete": "off"},
    )
    group_type = RadioField(
        _l("What kind of group do you represent?"),
        choices=lambda: [(member.value, str(label)) for member, label in GROUP_TYPES.items()],
        validators=[InputRequired(_l("Choose the kind of group you represent."))],
    )
    group_name = StringField(
        _l("Name of your group"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the name of the group you represent.")),
            Length(max=200, message=_l("Use at most %(max)d characters.")),
        ],
        description=_l("For example: Norris Square Civic Association."),
    )
    languages = CheckboxListField(
        _l("Languages you speak"),
        choices=lambda: [(code, str(label)) for code, label in APPLICANT_LANGUAGES.items()],
        description=_l("Choose every language you can help neighbors in."),
    )
    languages_other = StringField(
        _l("Other languages"),
        filters=[_strip],
        validators=[Optional(), Length(max=100, message=_l("Use at most %(max)d characters."))],
        description=_l("Separate several with commas."),
    )
    availability = CheckboxListField(
        _l("When can you attend training sessions?"),
        choices=lambda: [(code, str(label)) for code, label in AVAILABILITY.items()],
        description=_l("Choose all that apply."),
    )
    motivation = TextAreaField(
        _l("Why do you want to be a neighborhood liaison?"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Tell us in a few sentences why you want to serve.")),
            Length(
                max=MOTIVATION_MAX_LENGTH,
                message=_l("Use at most %(max)d characters; you wrote more. Shorten it a little."),
            ),
        ],
        description=_l("A few sentences are enough: what you would like to help your neighbors with."),
        render_kw={"rows": "6", "maxlength": str(MOTIVATION_MAX_LENGTH)},
    )
    consent = BooleanField(
        _l("I have read the program terms above and I agree to them."),
        validators=[DataRequired(_l("Please agree to the program terms to apply."))],
    )

    def validate_languages(self, field: Field) -> None:
        if not field.data and not self.languages_other.data:
            raise ValidationError(_l("Choose at least one language, or write it under Other languages."))

    def validate_availability(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one time when you could attend."))

    def all_languages(self) -> list[str]:
        """The ticked language codes, then each language typed under Other."""
        typed = [name.strip() for name in (self.languages_other.data or "").split(",") if name.strip()]
        return [*self.languages.data, *typed]
