"""Account rules: authentication, passwords, tokens, activation. No HTTP in here."""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select

from liaison.audit import record_event
from liaison.auth.models import Role, User
from liaison.auth.passwords import hash_password, needs_rehash, verify_password
from liaison.auth.sessions import end_user_sessions
from liaison.auth.tokens import TokenPurpose, make_token
from liaison.db_types import utcnow
from liaison.errors import ValidationFailed
from liaison.extensions import db
from liaison.mail import queue_mail
from liaison.templating import program_name

logger = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The account with this email, whatever its case."""
    # Emails are stored normalised, so the unique index on email serves this lookup.
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user these credentials belong to, or None. Always costs one hash."""
    user = find_user_by_email(email)
    if user is None:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    logger.info("user %s logged in", user.id)
    return user


def check_password_strength(password: str, user: User | None = None) -> None:
    """Raise ValidationFailed when the password is too short or is the person's own email."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValidationFailed(
            lazy_ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.", minimum),
            field="password",
        )
    if user is not None and password.strip().lower() == user.email.lower():
        raise ValidationFailed(_l("Do not use your email address as your password."), field="password")


def set_password(user: User, password: str) -> None:
    """Give the user a new password and end all their sessions (and every token issued before)."""
    check_password_strength(password, user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = end_user_sessions(user.id)
    record_event(user, "user.password_set", user, sessions_ended=ended)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a logged-in user's password after checking the current one."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(_l("That is not your current password."), field="current_password")
    set_password(user, new_password)


def create_user(
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str | None = None,
    is_admin: bool = False,
    preferred_language: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an account; without a password the person sets one from an invitation."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise ValidationFailed(_l("An account with this email already exists."), field="email")
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role,
        is_admin=is_admin,
        preferred_language=preferred_language,
        active=True,
    )
    db.session.add(user)
    if password is not None:
        check_password_strength(password, user)
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
    db.session.flush()
    record_event(actor, "user.created", user, role=role.value)
    return user


def send_invitation(user: User, *, actor: User | None = None) -> None:
    """Email the user a single-use link to set their password (valid 7 days by default)."""
    from flask import url_for

    token = make_token(user, TokenPurpose.INVITATION)
    queue_mail(
        address=user.email,
        recipient_id=user.id,
        template="invitation",
        subject=_l("Set your password for %(program)s", program=program_name()),
        locale=user.preferred_language,
        user=user,
        link=url_for("auth.accept_invitation", token=token, _external=True),
        days=current_app.config["INVITATION_TOKEN_MAX_AGE"].days,
    )
    record_event(actor, "user.invitation_sent", user)


def request_password_reset(email: str) -> None:
    """Email a reset link when an active account has this email; silent otherwise."""
    from flask import url_for

    user = find_user_by_email(email)
    if user is None or not user.active:
        logger.info("password reset asked for an unknown or inactive account")
        return
    token = make_token(user, TokenPurpose.PASSWORD_RESET)
    queue_mail(
        address=user.email,
        recipient_id=user.id,
        template="password_reset",
        subject=_l("Reset your password for %(program)s", program=program_name()),
        locale=user.preferred_language,
        user=user,
        link=url_for("auth.reset_password", token=token, _external=True),
        hours=int(current_app.config["PASSWORD_RESET_TOKEN_MAX_AGE"].total_seconds() // 3600),
    )
    record_event(user, "user.password_reset_requested", user)


def deactivate_user(actor: User, user: User) -> None:
    """Stop an account from logging in and end its sessions at once."""
    user.active = False
    ended = end_user_sessions(user.id)
    record_event(actor, "user.deactivated", user, sessions_ended=ended)


def reactivate_user(actor: User, user: User) -> None:
    """Let a deactivated account log in again."""
    user.active = True
    record_event(actor, "user.reactivated", user)


def set_preferred_language(user: User, language: str) -> None:
    """Remember the language the person chose."""
    if language not in current_app.config["LANGUAGES"]:
        raise ValidationFailed(_l("That language is not available."), field="language")
    user.preferred_language = language
