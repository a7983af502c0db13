"""Plain functions that make test data with sensible defaults."""

from __future__ import annotations

import itertools

from liaison.auth.models import Role, User
from liaison.auth.services import create_user
from liaison.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(
    role: Role = Role.LIAISON,
    *,
    email: str | None = None,
    full_name: str | None = None,
    password: str | None = PASSWORD,
    is_admin: bool = False,
    active: bool = True,
    preferred_language: str | None = None,
) -> User:
    """A committed account (with PASSWORD unless password=None, i.e. invited only)."""
    number = next(_counter)
    user = create_user(
        email=email or f"{role.value}{number}@test.example",
        full_name=full_name or f"Test {role.value.title()} {number}",
        role=role,
        password=password,
        is_admin=is_admin,
        preferred_language=preferred_language,
    )
    user.active = active
    db.session.commit()
    return user


def make_coordinator(**kwargs) -> User:
    return make_user(Role.COORDINATOR, **kwargs)


def make_admin(**kwargs) -> User:
    return make_user(Role.COORDINATOR, is_admin=True, **kwargs)


def make_liaison(**kwargs) -> User:
    return make_user(Role.LIAISON, **kwargs)
