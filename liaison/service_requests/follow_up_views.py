"""A liaison's word on a closed request (fixed, or disputed and refiled), and coordinators' dispute rates."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("follow_up", __name__)
