"""The Spanish catalog covers every message in the source, and translations never break formatting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPANISH_PO = PROJECT_ROOT / "liaison" / "translations" / "es" / "LC_MESSAGES" / "messages.po"

# The Makefile's `extract-messages` options; keep the two in step. `--ignore-dirs` is spelled
# out because Babel otherwise skips every directory whose name starts with "_" (templates/_macros).
EXTRACT_OPTIONS = [
    "-F", "babel.cfg",
    "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "-k", "lazy_ngettext:1,2",
    "--ignore-dirs", ".* __pycache__",
    "--no-location",
]  # fmt: skip

# A %(name)s-style placeholder: name, conversion flags, width, precision, type.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _strings(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _translated(message: Message) -> bool:
    return not message.fuzzy and all(_strings(message.string or ""))


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> list[Message]:
    """Every message marked for translation in the code and templates today."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", *EXTRACT_OPTIONS, "-o", str(pot), "."]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}{result.stderr}"
    return [message for message in _read_catalog(pot) if message.id]


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    return _read_catalog(SPANISH_PO)


def test_every_message_has_a_spanish_translation(source_messages: list[Message], spanish: Catalog) -> None:
    assert source_messages, "extraction found no messages at all"
    missing = []
    for message in source_messages:
        entry = spanish.get(message.id)
        if entry is None or not _translated(entry):
            missing.append(_strings(message.id)[0])
    assert not missing, (
        f"{len(missing)} message(s) have no Spanish translation (missing, empty or fuzzy); "
        "run `make extract-messages` and translate them:\n" + "\n".join(f"  {msgid!r}" for msgid in missing)
    )


def test_spanish_translations_keep_the_english_placeholders(spanish: Catalog) -> None:
    mismatches = []
    for message in spanish:
        if not message.id or not _translated(message):
            continue
        expected = set().union(*map(_placeholders, _strings(message.id)))
        for translation in _strings(message.string):
            found = _placeholders(translation)
            if found != expected:
                mismatches.append(f"  {_strings(message.id)[0]!r}: expected {sorted(expected)}, got {sorted(found)}")
    assert not mismatches, "Spanish translations whose %(name)s placeholders differ from the English:\n" + "\n".join(
        mismatches
    )


def test_spanish_translations_format_without_errors(spanish: Catalog) -> None:
    # Jinja's gettext always applies `%` formatting, so a stray "%" or a wrong type would crash a page.
    failures = []
    for message in spanish:
        if not message.id or not _translated(message):
            continue
        english = " ".join(_strings(message.id))
        values = {
            match.group(1): 1 if match.group(0)[-1] in "diouxXeEfFgGc" else "x"
            for match in PLACEHOLDER.finditer(english)
        }
        for translation in _strings(message.string):
            if "%" in PLACEHOLDER.sub("", translation).replace("%%", ""):
                failures.append(f"  {translation!r}: a '%' that is not a %(name)s placeholder (write '%%')")
                continue
            try:
                translation % values
            except (KeyError, ValueError, TypeError) as error:
                failures.append(f"  {translation!r}: {error!r}")
    assert not failures, "Spanish translations that fail to format:\n" + "\n".join(failures)


def test_home_page_welcomes_visitors_in_spanish(client) -> None:
    response = client.get("/", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="es"' in page
    assert "Cómo funciona el programa" in page, (
        "no Spanish on the home page: run `make translations` to compile the catalog"
    )
    assert "How the program works" not in page


def test_templates_translate_in_the_page_language_and_inside_force_locale(app):
    from flask import render_template_string
    from flask_babel import force_locale

    template = '{% import "_macros/pagination.html" as p %}{{ _("Log in") }}|{{ ngettext("%(num)d person", "%(num)d people", 2) }}'
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert render_template_string(template) == "Iniciar sesión|2 personas"
        with force_locale("en"):
            assert render_template_string(template) == "Log in|2 people"
        assert render_template_string(template) == "Iniciar sesión|2 personas"


def test_macros_imported_without_context_translate_too(app):
    from flask import render_template_string
    from wtforms import Form, StringField

    class Search(Form):
        q = StringField("Search")

    with app.test_request_context(headers={"Accept-Language": "es"}):
        html = render_template_string(
            '{% import "_macros/forms.html" as forms %}{{ forms.field(form.q) }}', form=Search()
        )
        assert "(opcional)" in html


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("format", ["full", "long", "medium", "short", "yyyy-MM-dd HH:mm"])
def test_dates_and_times_read_exactly_as_flask_babel_writes_them(app, language, format):
    from datetime import UTC, datetime, timedelta

    from flask_babel import force_locale
    from flask_babel import format_datetime as flask_babel_format

    from liaison.i18n import format_datetime

    with app.test_request_context(), force_locale(language):
        # Every month of a year, both sides of each daylight-saving change, and a naive value.
        moments = [datetime(2026, 1, 1, 3, 7, tzinfo=UTC) + timedelta(hours=hours) for hours in range(0, 8760, 97)]
        moments.append(datetime(2026, 7, 4, 12, 0))
        for moment in moments:
            assert format_datetime(moment, format) == flask_babel_format(moment, format)
        assert format_datetime(None, format) == ""
