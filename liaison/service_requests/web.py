"""What the service-request blueprints share: Vary on htmx, batch links, page numbers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, has_request_context, request

from liaison.htmx import add_vary_header

MAX_PAGE = 10_000


def keep_batch_id(endpoint: str, values: dict[str, Any]) -> None:
    """Fill a link's batch_id from the current URL (the shared pagination macro builds links from the query alone)."""
    view_args = request.view_args if has_request_context() else None
    if (
        "batch_id" not in values
        and view_args
        and "batch_id" in view_args
        and current_app.url_map.is_endpoint_expecting(endpoint, "batch_id")
    ):
        values["batch_id"] = view_args["batch_id"]


def batch_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of pages about one batch: responses vary on HX-Request, links stay in the batch."""
    bp = Blueprint(name, import_name)
    bp.after_request(add_vary_header)
    bp.url_defaults(keep_batch_id)
    return bp


def page_number(text: str | None) -> int:
    """The page asked for in the query string, or 1 for anything that is not a sensible page."""
    return int(text) if text and text.isdigit() and 0 < int(text) <= MAX_PAGE else 1
