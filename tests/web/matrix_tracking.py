"""Permission matrix rows for following requests: My requests, the request queue, public status.

"liaison" here is an uncertified liaison who filed nothing: `request_id` is another liaison's
request, so every page about it is a 404 for them (it looks absent, not forbidden).
POSTs are sent with an empty form: a coordinator gets 422 (nothing selected, no format, no
status; the world's request is not flagged for review).
"""

from __future__ import annotations

LOGIN = 302
EVERYONE = {"anonymous": 200, "liaison": 200, "coordinator": 200, "admin": 200, "deactivated": 200}


def _row(liaison: int, coordinator: int) -> dict[str, int]:
    return {
        "anonymous": LOGIN,
        "liaison": liaison,
        "coordinator": coordinator,
        "admin": coordinator,
        "deactivated": LOGIN,
    }


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("my_requests.index", "GET"): _row(200, 403),
    ("my_requests.show", "GET"): _row(404, 403),
    ("my_requests.receipt", "GET"): _row(404, 200),
    ("my_requests.email_receipt", "POST"): _row(404, 403),
    ("request_queue.index", "GET"): _row(403, 200),
    ("request_queue.bulk", "POST"): _row(403, 422),
    ("request_queue.export", "POST"): _row(403, 422),
    ("request_queue.show", "GET"): _row(403, 200),
    ("request_queue.change_status", "POST"): _row(403, 422),
    ("request_queue.clear_review", "POST"): _row(403, 422),
    # The world's request has not stopped forwarding: nothing to try again.
    ("request_queue.retry_forwarding", "POST"): _row(403, 409),
    ("request_status.show", "GET"): EVERYONE,
    ("request_status.show_json", "GET"): EVERYONE,
}
