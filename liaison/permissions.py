"""Role checks as decorators; object checks live as predicates beside each feature's services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from liaison.auth.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: Role) -> Callable[[F], F]:
    """Let in logged-in users with one of `roles`; others get 403 (anonymous: the login page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def admin_required(view: F) -> F:
    """Only coordinators marked admin (they manage accounts, settings and the catalog)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not (current_user.role == Role.COORDINATOR and current_user.is_admin):
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def acting_user() -> User:
    """The logged-in user as a plain model object, for passing to services and audit events."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


coordinator_required = role_required(Role.COORDINATOR)
liaison_required = role_required(Role.LIAISON)
