"""Liaisons take training: the module list, reading a module, taking a quiz, results."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("training", __name__)
