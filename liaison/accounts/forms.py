"""Forms for managing accounts (admin coordinators)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from liaison.auth.models import Role


def role_choices() -> list[tuple[str, str]]:
    return [(Role.COORDINATOR.value, str(_l("Coordinator"))), (Role.LIAISON.value, str(_l("Liaison")))]


def language_choices() -> list[tuple[str, str]]:
    return [("en", "English"), ("es", "Español")]


class InviteUserForm(FlaskForm):
    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter the person's name.")), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter an email address.")),
            Email(_l("Enter an email address like name@example.org."), check_deliverability=False),
            Length(max=254),
        ],
        description=_l("The invitation to set a password is sent here."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    preferred_language = SelectField(_l("Language for emails"), choices=language_choices, validators=[DataRequired()])
    is_admin = BooleanField(
        _l("Administrator (manages accounts, settings and the service catalog)"),
        validators=[Optional()],
    )


class AccountFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Search by name or email"), validators=[Optional(), Length(max=100)])
    role = SelectField(
        _l("Role"),
        choices=lambda: [("", str(_l("All roles"))), *role_choices()],
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=lambda: [
            ("", str(_l("Active and deactivated"))),
            ("active", str(_l("Active"))),
            ("deactivated", str(_l("Deactivated"))),
        ],
        validators=[Optional()],
    )
