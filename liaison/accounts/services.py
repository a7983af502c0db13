"""Listing and managing accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from liaison.auth.models import Role, User
from liaison.auth.services import deactivate_user, reactivate_user
from liaison.db_types import contains_pattern
from liaison.errors import NotAllowed


def accounts_query(*, search: str = "", role: str = "", status: str = "") -> Select[tuple[User]]:
    """Accounts matching the filters, newest first."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    if search:
        pattern = contains_pattern(search)
        query = query.where(
            or_(
                func.lower(User.full_name).like(pattern, escape="\\"), func.lower(User.email).like(pattern, escape="\\")
            )
        )
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if status == "active":
        query = query.where(User.active.is_(True))
    elif status == "deactivated":
        query = query.where(User.active.is_(False))
    return query


def set_account_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (ending sessions) or reactivate an account; nobody deactivates themselves."""
    if user.id == actor.id:
        raise NotAllowed(_l("You cannot deactivate your own account."))
    if active:
        reactivate_user(actor, user)
    else:
        deactivate_user(actor, user)
