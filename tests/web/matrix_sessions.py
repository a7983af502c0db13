"""Permission matrix rows for training sessions, attendance and calendar files.

The `world` liaison logged in by the matrix is in no cohort, so their calendar files are 404;
`user_id` names a liaison outside the session's cohort, so taking their attendance is 404.
"""

from __future__ import annotations

LOGIN = 302


def _coordinators(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


def _liaisons(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": status, "coordinator": 403, "admin": 403, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("sessions.index", "GET"): _coordinators(200),
    ("sessions.create", "GET"): _coordinators(200),
    ("sessions.create", "POST"): _coordinators(422),
    ("sessions.edit", "GET"): _coordinators(200),
    ("sessions.edit", "POST"): _coordinators(422),
    # An empty form does not confirm, so nothing is cancelled.
    ("sessions.cancel", "POST"): _coordinators(422),
    ("sessions.attendance", "GET"): _coordinators(200),
    ("sessions.set_attendance", "POST"): _coordinators(404),
    ("sessions.ics", "GET"): _liaisons(404),
    ("sessions.ics_all", "GET"): _liaisons(404),
}
