"""The demo program loaded by `flask liaison seed-demo`."""

from __future__ import annotations

from liaison.auth.models import Role
from liaison.auth.services import create_user, find_user_by_email

DEMO_PASSWORD = "liaison-demo"  # noqa: S105 - documented demo credential, refused by deploy-check

DEMO_USERS = [
    {
        "email": "coordinator@example.org",
        "full_name": "Dana Whitfield",
        "role": Role.COORDINATOR,
        "is_admin": True,
        "preferred_language": "en",
    },
    {
        "email": "liaison@example.org",
        "full_name": "Marisol Ortega",
        "role": Role.LIAISON,
        "is_admin": False,
        "preferred_language": "en",
    },
]


def seed_demo() -> list[str]:
    """Create whatever part of the demo program is missing; returns what was created."""
    created: list[str] = []
    for spec in DEMO_USERS:
        if find_user_by_email(spec["email"]) is None:
            create_user(password=DEMO_PASSWORD, **spec)
            created.append(spec["email"])
    return created
