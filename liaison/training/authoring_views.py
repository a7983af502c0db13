"""Coordinators author training: modules, Markdown preview, publishing, quizzes and questions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("authoring", __name__)
