"""The public status page of one request (by unguessable link, no personal data)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("request_status", __name__)
