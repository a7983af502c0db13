"""Language choice: the user's preference, else the language cookie, else Accept-Language."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user


def select_locale() -> str:
    """The locale for this request (Flask-Babel calls this once per request)."""
    languages = current_app.config["LANGUAGES"]
    if (
        not g.get("database_unavailable")
        and current_user.is_authenticated
        and current_user.preferred_language in languages
    ):
        return current_user.preferred_language
    cookie = request.cookies.get(current_app.config["LANGUAGE_COOKIE_NAME"])
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


LANGUAGE_NAMES = {"en": "English", "es": "Español"}
