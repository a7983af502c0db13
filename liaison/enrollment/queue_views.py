"""The coordinators' applications queue: filters, inline and bulk decisions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("queue", __name__)
