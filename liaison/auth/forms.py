"""Forms for logging in and setting passwords: shape only, rules live in services."""

from __future__ import annotations

from flask import current_app
from flask_babel import LazyString, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length


def _password_hint() -> str:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    return ngettext(
        "At least %(num)d character. A few unrelated words make a strong password.",
        "At least %(num)d characters. A few unrelated words make a strong password.",
        minimum,
    )


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter an email address like name@example.org."), check_deliverability=False),
            Length(max=254),
        ],
        description=_l("We will email you a link to choose a new password."),
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )


# Created before the new-password fields, so WTForms renders it first on the account page.
_CURRENT_PASSWORD = PasswordField(
    _l("Current password"),
    validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    render_kw={"autocomplete": "current-password"},
)


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a password.")), Length(max=1024)],
        description=LazyString(_password_hint),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Type the new password again"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(SetPasswordForm):
    current_password = _CURRENT_PASSWORD
