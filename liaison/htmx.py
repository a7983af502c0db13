"""htmx request helpers; routes decide by the request, never by the triggering element's id."""

from __future__ import annotations

from flask import Response, request


def is_htmx() -> bool:
    """True when htmx (not a full page load or a boosted link) sent this request."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def add_vary_header(response: Response) -> Response:
    """Full pages and fragments share URLs, so caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response
