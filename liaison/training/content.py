"""Coordinator-written Markdown, rendered and sanitised; texts shown in the reader's language."""

from __future__ import annotations

import functools
from typing import Any

import nh3
from flask import current_app
from flask_babel import get_locale
from markdown_it import MarkdownIt
from markupsafe import Markup

# "js-default" escapes raw HTML in the Markdown; nh3 then allows only these tags and attributes.
# Never allow data-* or hx-* attributes: htmx would act on them (SECURITY.md pitfall 7).
_markdown = MarkdownIt("js-default").enable("table")
ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
ALLOWED_URL_SCHEMES = {"https", "mailto"}


def render_markdown(text: str) -> Markup:
    """Safe HTML for a Markdown text (wrap it in an element with hx-disable when shown)."""
    return Markup(_sanitised_html(text or ""))  # noqa: S704 - sanitised by nh3 in _sanitised_html


@functools.lru_cache(maxsize=256)
def _sanitised_html(text: str) -> str:
    """Markdown rendered and sanitised, kept per text: a module's body is rendered once per
    process and revision (the text is the key, so an edited body is never served stale)."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def current_language() -> str:
    """The language of the current request (English outside a request)."""
    try:
        return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    except RuntimeError:
        return "en"


def localized(value: Any, language: str | None = None) -> str:
    """The text in `language` (the current one by default), else English, else any."""
    if not isinstance(value, dict):
        return str(value or "")
    language = language or current_language()
    return value.get(language) or value.get("en") or next((text for text in value.values() if text), "")
