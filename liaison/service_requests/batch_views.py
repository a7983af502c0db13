"""A certified liaison's batches: start one, type rows in the grid, fix them, see what was filed."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batches", __name__)
