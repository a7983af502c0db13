"""Cohorts: list, create, edit, archive, roster, moves, withdrawals, exports and imports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cohorts", __name__)
