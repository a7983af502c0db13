"""Permission matrix lines for the public application form (anyone may apply)."""

from __future__ import annotations

ROLES = ["anonymous", "liaison", "coordinator", "admin", "deactivated"]

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("apply.apply", "GET"): dict.fromkeys(ROLES, 200),
    # An empty form is invalid input, whoever sends it.
    ("apply.apply", "POST"): dict.fromkeys(ROLES, 422),
    ("apply.thanks", "GET"): dict.fromkeys(ROLES, 200),
}
