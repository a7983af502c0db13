"""A liaison's own requests: list, search, one request with its history, receipt."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("my_requests", __name__)
