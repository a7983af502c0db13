"""Coordinators (admins) manage the service catalog and the neighborhoods it is filed in."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog", __name__)
