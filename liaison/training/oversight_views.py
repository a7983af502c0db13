"""Coordinators oversee training: accommodations, item analysis, per-liaison progress."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oversight", __name__)
