"""Permission matrix rows for reviewing possible duplicates and submitting a batch.

Only liaisons reach these pages (coordinators and admins: 403). `batch_id` and `row_id` name a
draft batch of another liaison, so for the matrix's liaison every route is a 404 (absent, not
forbidden), before any form is read. POSTs are sent with an empty form.
"""

from __future__ import annotations

LOGIN = 302
LIAISONS_OWN = {"anonymous": LOGIN, "liaison": 404, "coordinator": 403, "admin": 403, "deactivated": LOGIN}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("batch_submit.review", "GET"): LIAISONS_OWN,
    ("batch_submit.submit", "POST"): LIAISONS_OWN,
    ("batch_submit.decide", "POST"): LIAISONS_OWN,
}
