"""Permission matrix rows for the liaison's training pages (/training).

Coordinators are not trainees: every page here is 403 for them. `module_id` names a published
module with a quiz, so the matrix liaison can read it (302 back to the module) and start its quiz
(302 to the new attempt). `attempt_id` names ANOTHER liaison's attempt: 404 for the matrix liaison.
POST rows are sent with an empty form (no answers: nothing is graded, the attempt is not theirs).
"""

from __future__ import annotations

LOGIN = 302


def _liaisons(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": status, "coordinator": 403, "admin": 403, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("training.index", "GET"): _liaisons(200),
    ("training.module", "GET"): _liaisons(200),
    ("training.mark_read", "POST"): _liaisons(302),
    ("training.start_quiz", "POST"): _liaisons(302),
    ("training.attempt", "GET"): _liaisons(404),
    ("training.submit_attempt", "POST"): _liaisons(404),
    ("training.result", "GET"): _liaisons(404),
}
