"""A tiny HTTP client on http.client: log in through the real form, fetch a page once."""

from __future__ import annotations

import html
import http.client
import re
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie

SESSION_COOKIE = "liaison_session"
# Sent by the login client and by the load generator alike: Flask-Login's session protection
# hashes the client address and User-Agent, and a different one would mark the session non-fresh.
USER_AGENT = "liaison-benchmarks"
TIMEOUT = 10.0

_CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=\"csrf_token\"[^>]*>", re.IGNORECASE)
_VALUE = re.compile(r"\bvalue=\"([^\"]*)\"", re.IGNORECASE)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def cookie(self, name: str) -> str | None:
        """The value a Set-Cookie header of this response gives `name` (None if it sets none)."""
        for header in self.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            if name in jar:
                return jar[name].value
        return None


def request(
    host: str, port: int, method: str, path: str, *, cookie: str | None = None, form: dict[str, str] | None = None
) -> Response:
    """One request, redirects not followed."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
    body = None
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        raw = connection.getresponse()
        return Response(raw.status, raw.headers, raw.read().decode("utf-8", errors="replace"))
    finally:
        connection.close()


def csrf_token(page: str) -> str:
    """The value of the hidden csrf_token input of a form page."""
    match = _CSRF_INPUT.search(page)
    value = _VALUE.search(match.group(0)) if match else None
    if value is None:
        raise RuntimeError("no csrf_token input on the login page")
    return html.unescape(value.group(1))


def log_in(host: str, port: int, email: str, password: str) -> str:
    """Log in through GET/POST /login; the new session cookie's value."""
    page = request(host, port, "GET", "/login")
    if page.status != 200:
        raise RuntimeError(f"GET /login answered {page.status}")
    anonymous = page.cookie(SESSION_COOKIE)
    if anonymous is None:
        raise RuntimeError("GET /login set no session cookie (the CSRF token lives in the session)")
    result = request(
        host,
        port,
        "POST",
        "/login",
        cookie=anonymous,
        form={"csrf_token": csrf_token(page.body), "email": email, "password": password},
    )
    session = result.cookie(SESSION_COOKIE)
    if result.status != 302 or not session:
        raise RuntimeError(f"logging in as {email} failed: {result.status} {result.body[:300]!r}")
    if session == anonymous:
        raise RuntimeError("the session id was not regenerated at login")
    return session
