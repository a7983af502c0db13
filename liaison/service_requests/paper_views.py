"""Printable paper: a batch's meeting intake sheet and the meeting packet of a liaison's area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("paper", __name__)
