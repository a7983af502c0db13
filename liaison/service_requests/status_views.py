"""The public status page of one request (by unguessable link, no personal data).

Anyone holding the link (printed on the receipt, in its QR code, or emailed) sees the request
number, service, status in plain words, filing and update dates, the coordinators' status notes
and the place at block level ("1200 block of Cedar Ave"; see `tracking.public_location`). Never
a neighbor's name, phone or email, the description, coordinates nor the liaison's name.
Rate limited per IP with the verify page's setting (RATELIMIT_STATUS if set), `noindex`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from liaison.errors import NotFound
from liaison.extensions import limiter
from liaison.service_requests import tracking

bp = Blueprint("request_status", __name__)

# Never indexed; kept fresh (a status changes) but never holding anything personal.
HEADERS = {"X-Robots-Tag": "noindex", "Cache-Control": "no-cache"}


def _status_limit() -> str:
    config = current_app.config
    return config.get("RATELIMIT_STATUS") or config["RATELIMIT_VERIFY"]


# One budget per IP for the page and its JSON.
status_limit = limiter.shared_limit(_status_limit, scope="request-status")


@bp.get("/<public_token>")
@status_limit
def show(public_token: str) -> Any:
    service_request = tracking.get_by_token(public_token)
    status = tracking.public_status(service_request)
    return (
        render_template(
            "service_requests/status/show.html",
            status=status,
            state_label=tracking.state_label,
            state_text=tracking.PUBLIC_STATE_TEXT,
            state_tags=tracking.STATE_TAGS,
            open311_labels=tracking.OPEN311_LABELS,
        ),
        200,
        HEADERS,
    )


def _w3c(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@bp.get("/<public_token>.json")
@status_limit
def show_json(public_token: str) -> Any:
    try:
        status = tracking.public_status(tracking.get_by_token(public_token))
    except NotFound:
        return jsonify({"error": "not found"}), 404, HEADERS
    body = {
        "service_request_id": status.number,
        "service_name": status.service,
        "status": status.open311_status,
        "state": status.state.value,
        "location": status.location or None,
        "zipcode": status.zipcode or None,
        "requested_datetime": _w3c(status.requested_at),
        "updated_datetime": _w3c(status.updated_at),
        "closed_datetime": _w3c(status.closed_at),
        "external_id": status.external_id or None,
        "status_notes": [
            {"datetime": _w3c(note.occurred_at), "state": note.state, "note": note.note}
            for note in status.notes
            if note.note
        ],
    }
    return jsonify(body), 200, HEADERS
