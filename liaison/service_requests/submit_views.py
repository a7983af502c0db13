"""Reviewing a batch's possible duplicates and submitting it, exactly once."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batch_submit", __name__)
