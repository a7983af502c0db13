"""Permission matrix rows for the liaison's batch pages (/requests/batches, helper "grid").

Batches are a liaison's own work: coordinators get 403 here (they see batches through the
request queue). The matrix liaison is NOT certified, so starting a batch is refused (403 with
the reason). `batch_id` and `row_id` name ANOTHER liaison's draft and its row: 404 for the
matrix liaison on every page and action, and nothing changes. POSTs are sent with an empty form.
"""

from __future__ import annotations

LOGIN = 302


def _liaisons(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": status, "coordinator": 403, "admin": 403, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("batches.index", "GET"): _liaisons(200),
    ("batches.new", "GET"): _liaisons(403),
    ("batches.new", "POST"): _liaisons(403),
    ("batches.show", "GET"): _liaisons(404),
    ("batches.update_details", "POST"): _liaisons(404),
    ("batches.delete", "POST"): _liaisons(404),
    ("batches.save_rows", "POST"): _liaisons(404),
    ("batches.add_row", "POST"): _liaisons(404),
    ("batches.row", "GET"): _liaisons(404),
    ("batches.save_row", "POST"): _liaisons(404),
    ("batches.confirm_remove_row", "GET"): _liaisons(404),
    ("batches.remove_row", "POST"): _liaisons(404),
}
