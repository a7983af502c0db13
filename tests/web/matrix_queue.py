"""Permission matrix lines for the coordinators' applications queue (coordinators only)."""

from __future__ import annotations

LOGIN = 302


def coordinators_only(status: int) -> dict[str, int]:
    """Coordinators (admin or not) get `status`; liaisons 403; visitors and deactivated accounts log in."""
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("queue.index", "GET"): coordinators_only(200),
    ("queue.detail", "GET"): coordinators_only(200),
    # An empty form chooses no decision: invalid input.
    ("queue.decide", "POST"): coordinators_only(422),
    ("queue.bulk", "POST"): coordinators_only(422),
    # The world's application is still pending: nothing to resend, back to its page with a message.
    ("queue.resend_invitation", "POST"): coordinators_only(302),
}
