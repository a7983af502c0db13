"""Log in, log out, forgotten passwords, invitations and the account page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from liaison.auth import services
from liaison.auth.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, SetPasswordForm
from liaison.auth.tokens import TokenPurpose, load_token
from liaison.errors import DomainError
from liaison.extensions import db, limiter
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.permissions import acting_user
from liaison.urls import safe_next_url

bp = Blueprint("auth", __name__)


def _login_account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _failed_login(response: Any) -> bool:
    # Only failed attempts count against the account's limit.
    return response.status_code != 302


def _limit(name: str) -> Any:
    return lambda: current_app.config[name]


def _adopt_language_choice(user: Any) -> None:
    # The language picked on this device before logging in is the person's latest choice.
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE_NAME"])
    if chosen in current_app.config["LANGUAGES"]:
        services.set_preferred_language(user, chosen)


def _start_session(user: Any) -> None:
    # A fresh session id at login defeats session fixation.
    session.regenerate()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@csrf_checked_by_form
@limiter.limit(_limit("RATELIMIT_LOGIN_PER_IP"), methods=["POST"])
@limiter.limit(
    _limit("RATELIMIT_LOGIN_PER_ACCOUNT"),
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_failed_login,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            _adopt_language_choice(user)
            db.session.commit()
            _start_session(user)
            return redirect(safe_next_url(request.args.get("next")) or url_for("main.dashboard"))
        # One message whether the email exists or not: no account enumeration.
        form.form_errors.append(_("That email and password do not match an active account."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    session.clear()
    session.regenerate()
    flash(_("You have logged out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@csrf_checked_by_form
@limiter.limit(_limit("RATELIMIT_PASSWORD_RESET"), methods=["POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("auth/forgot_password_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


def _set_password_from_token(token: str, purpose: TokenPurpose, template: str) -> Any:
    user = load_token(token, purpose)
    if user is None:
        return render_template("auth/token_invalid.html", purpose=purpose.value), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(user, form.password.data)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            _adopt_language_choice(user)
            db.session.commit()
            logout_user()
            _start_session(user)
            flash(_("Your password is set. Welcome!"), "success")
            return redirect(url_for("main.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, user=user, token=token), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@csrf_checked_by_form
def accept_invitation(token: str) -> Any:
    return _set_password_from_token(token, TokenPurpose.INVITATION, "auth/accept_invitation.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@csrf_checked_by_form
def reset_password(token: str) -> Any:
    return _set_password_from_token(token, TokenPurpose.PASSWORD_RESET, "auth/reset_password.html")


@bp.route("/account", methods=["GET", "POST"])
@csrf_checked_by_form
@login_required
def account() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(acting_user(), form.current_password.data, form.password.data)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            db.session.commit()
            # set_password ended every session, this one included: start a new one.
            _start_session(acting_user())
            flash(_("Your password has been changed. Other devices have been logged out."), "success")
            return redirect(url_for("auth.account"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/account.html", form=form), status
