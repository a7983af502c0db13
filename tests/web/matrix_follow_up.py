"""Permission matrix rows for closure follow-up: confirm, dispute, and the dispute-rate page.

"liaison" is an uncertified liaison and `request_id` another liaison's request: answering it is a
404 (it looks absent). Coordinators never answer for a liaison (403); only they see the rates.
"""

from __future__ import annotations

LOGIN = 302


def _row(liaison: int, coordinator: int) -> dict[str, int]:
    return {
        "anonymous": LOGIN,
        "liaison": liaison,
        "coordinator": coordinator,
        "admin": coordinator,
        "deactivated": LOGIN,
    }


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("follow_up.confirm", "POST"): _row(404, 403),
    ("follow_up.dispute", "POST"): _row(404, 403),
    ("follow_up.dispute_rates", "GET"): _row(403, 200),
}
