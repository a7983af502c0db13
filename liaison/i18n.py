"""Language choice: the user's preference, else the language cookie, else Accept-Language."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import _get_current_context, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context


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


def current_translations() -> Any:
    """The Translations of the current locale, kept in Flask-Babel's per-request context
    together with the locale they belong to (force_locale swaps the locale, so the pair is
    checked). Flask-Babel's own lookup walks the domain, the locale and a cache keyed by the
    locale's name on every call: a quarter of a page's rendering time once a page has a few
    dozen words to translate."""
    context = _get_current_context()
    if context is None:
        return get_translations()
    locale = getattr(context, "babel_locale", None) or get_locale()
    cached = getattr(context, "liaison_translations", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    context.liaison_translations = (locale, translations)
    return translations


# The render context's name for the Translations (set by templating.inject_globals).
TEMPLATE_TRANSLATIONS = "page_translations"


def _template_translations(context: Any) -> Any:
    # Macros imported without context have no page_translations: they look them up.
    return context.get(TEMPLATE_TRANSLATIONS) or current_translations()


def install_template_gettext(app: Flask) -> None:
    """Give templates gettext callables that read the Translations the render context carries
    (same results as Flask-Babel's callables, installed by babel.init_app, which these replace;
    a page calls them a few dozen times)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=pass_context(lambda context, string: _template_translations(context).ugettext(string)),
        ngettext=pass_context(
            lambda context, singular, plural, number: _template_translations(context).ungettext(
                singular, plural, number
            )
        ),
        newstyle=True,
        pgettext=pass_context(
            lambda context, msgctxt, string: _template_translations(context).upgettext(msgctxt, string)
        ),
        npgettext=pass_context(
            lambda context, msgctxt, singular, plural, number: _template_translations(context).unpgettext(
                msgctxt, singular, plural, number
            )
        ),
    )
