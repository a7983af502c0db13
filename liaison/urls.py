"""URL helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import url_for


def safe_next_url(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


class RowUrl:
    """A URL built once per page with url_for, then with one value filled in per row or link
    (url_for on every row of a 50-row table costs more than the rest of the row)."""

    _PLACEHOLDER = 987_654_321

    def __init__(self, endpoint: str, key: str, **values: Any) -> None:
        self.head, _placeholder, self.tail = url_for(endpoint, **values, **{key: self._PLACEHOLDER}).rpartition(
            str(self._PLACEHOLDER)
        )

    def __call__(self, value: int) -> str:
        return f"{self.head}{int(value)}{self.tail}"
