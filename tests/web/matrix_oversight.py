"""Permission matrix rows for coordinators' oversight of training. POST rows send an empty form.

`user_id` names a liaison with an open attempt (`attempt_id`) on `quiz_id`, not locked: an empty
accommodation form is refused (422) and unlocking a quiz that is not locked sends the coordinator
back with the message (302). The open attempt has no result yet; its page says so (200).
"""

from __future__ import annotations

LOGIN = 302


def _coordinators(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("oversight.liaison", "GET"): _coordinators(200),
    ("oversight.attempt", "GET"): _coordinators(200),
    ("oversight.grant", "POST"): _coordinators(422),
    ("oversight.unlock", "POST"): _coordinators(302),
    ("oversight.analysis", "GET"): _coordinators(200),
}
