"""Languages: choosing the request's locale, and fast translation and date formatting for templates."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format, parse_pattern
from flask import Flask, current_app, g, request
from flask_babel import get_locale, get_timezone, get_translations
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


# The render context's name for the Translations, looked up once per render by
# templating.inject_globals. Flask-Babel's own template callables look them up on every `_()`,
# walking the domain, the locale and a cache keyed by the locale's name: a quarter of a page's
# rendering time once it has a few dozen words to translate.
TEMPLATE_TRANSLATIONS = "page_translations"


def _template_translations(context: Any) -> Any:
    # Macros imported without context have no page_translations: they ask Flask-Babel.
    return context.get(TEMPLATE_TRANSLATIONS) or get_translations()


def install_template_formatting(app: Flask) -> None:
    """The `datetimeformat` filter, replacing Flask-Babel's (see format_datetime)."""
    app.jinja_env.filters["datetimeformat"] = format_datetime


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


STANDARD_FORMATS = ("full", "long", "medium", "short")


@functools.cache
def _datetime_pattern(locale: str, format: str) -> DateTimePattern:
    """The locale's date-and-time pattern for `format` as one parsed pattern: Babel's
    format_datetime looks up and applies the date and the time patterns apart on every call."""
    if format not in STANDARD_FORMATS:
        return parse_pattern(format)
    glue = get_datetime_format(format, locale=locale)
    time_pattern = get_time_format(format, locale=locale).pattern
    date_pattern = get_date_format(format, locale=locale).pattern
    return parse_pattern(glue.replace("{0}", time_pattern).replace("{1}", date_pattern))


def format_datetime(value: datetime | None, format: str = "medium") -> str:
    """Flask-Babel's `datetimeformat` (the request's locale and the program's time zone, same
    text), at a third of the cost: a list page formats one or two dates per row."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    return _datetime_pattern(str(locale), format).apply(value.astimezone(get_timezone()), locale)
