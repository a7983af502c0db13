"""Response headers every page gets (SECURITY.md "Controls")."""

from __future__ import annotations

from flask import Flask, Response, current_app, request, session
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def set_security_headers(response: Response) -> Response:
    """CSP, nosniff, referrer policy, HSTS in production, no-store for logged-in pages."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: Flask-WTF's HTTPS check needs a Referer (pitfall 10).
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    hsts = current_app.config["HSTS_SECONDS"]
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    # Pages seen by a logged-in person may show personal data: never store them.
    if session.get("_user_id") is not None and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    response.vary.add("HX-Request")
    return response


def strip_nul_characters() -> None:
    """Remove NUL characters from submitted form fields before any view reads them.

    A NUL is never meaningful in typed text; PostgreSQL refuses it in text columns (a 500)
    while SQLite stores it. Uploaded files are checked by their own parsers.
    """
    if request.method not in ("POST", "PUT", "PATCH") or not request.form:
        return
    if not any("\x00" in value for value in request.form.values()):
        return
    cleaned = MultiDict([(key, value.replace("\x00", "")) for key, value in request.form.items(multi=True)])
    request.__dict__["form"] = ImmutableMultiDict(cleaned)


def init_app(app: Flask) -> None:
    """Register the header hook and the input clean-up."""
    app.after_request(set_security_headers)
    app.before_request(strip_nul_characters)
