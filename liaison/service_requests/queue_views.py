"""The coordinators' request queue: filters, bulk status changes, exports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("request_queue", __name__)
