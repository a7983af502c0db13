"""Forms of the liaison's training pages: buttons that change state, and quiz answers.

Each is a FlaskForm so that a missing or stale CSRF token re-renders the page with a message
(and, on a quiz, with every answer still chosen) instead of a bare 400 (SECURITY.md pitfall 9).
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes state (mark as read, start or retake a quiz): only the CSRF token."""


class AnswersForm(FlaskForm):
    """A quiz's answers. The questions come from the attempt's snapshot, not from fields here:
    each question key (`q<id>`) is sent with the keys of the chosen choices (`c<id>`)."""

    def raw_answers(self) -> dict[str, list[str]]:
        """Every submitted question key with its values; the service keeps only shown choices."""
        return {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
