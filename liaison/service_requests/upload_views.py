"""Uploading a CSV or XLSX into a batch, and the template and example files."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("batch_upload", __name__)
