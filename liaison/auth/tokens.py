"""Signed, expiring, single-use tokens for invitations and password resets.

A token carries the user id and a fingerprint of the current password hash. Setting a password
changes the hash, so every token issued before it stops working: single use without a table.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from liaison.auth.models import User
from liaison.extensions import db


class TokenPurpose(enum.StrEnum):
    """What a token may be used for; each purpose signs with its own salt."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password-reset"  # noqa: S105 - a token purpose, not a password


def _serializer(purpose: TokenPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"liaison.{purpose}")


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "no-password").encode()).hexdigest()[:20]


def _max_age(purpose: TokenPurpose) -> timedelta:
    if purpose is TokenPurpose.INVITATION:
        return current_app.config["INVITATION_TOKEN_MAX_AGE"]
    return current_app.config["PASSWORD_RESET_TOKEN_MAX_AGE"]


def make_token(user: User, purpose: TokenPurpose) -> str:
    """A token that lets its holder set this user's password once."""
    return _serializer(purpose).dumps({"u": user.id, "p": _fingerprint(user)})


def load_token(token: str, purpose: TokenPurpose) -> User | None:
    """The active user the token was made for, or None when it is invalid, used or expired."""
    try:
        payload = _serializer(purpose).loads(token, max_age=int(_max_age(purpose).total_seconds()))
    except BadData:
        return None
    if not isinstance(payload, dict):
        return None
    user = db.session.get(User, payload.get("u"))
    if user is None or not user.active or payload.get("p") != _fingerprint(user):
        return None
    return user
