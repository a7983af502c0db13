"""Spreadsheet downloads (CSV and XLSX) with every text cell guarded against formula injection.

A spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and some
also after a tab, carriage return, line feed or NUL, or after leading spaces (SECURITY.md
pitfall 12: defusedcsv misses those). `neutralise_cell` prefixes such a cell with an apostrophe,
which spreadsheets show as text. Every feature that exports personal data uses these helpers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from flask import Response
from flask_babel import to_user_timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Characters that make a spreadsheet treat the cell as a formula (or start one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_LEADING_SPACE = re.compile(r"^[\s\0]+")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def neutralise_cell(value: Any) -> Any:
    """The value, with text that a spreadsheet would run as a formula made inert.

    NUL characters are dropped (no spreadsheet keeps them); numbers, dates and None are not
    formulas and pass through unchanged.
    """
    if not isinstance(value, str):
        return value
    text = value.replace("\0", "")
    if value.startswith(FORMULA_TRIGGERS) or _LEADING_SPACE.sub("", text).startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _local(value: datetime) -> datetime:
    # Spreadsheets have no time zones: show the time as people in the program read it.
    return to_user_timezone(value).replace(tzinfo=None) if value.tzinfo else value


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(neutralise_cell(value) if isinstance(value, str) else value)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _local(value)
    if isinstance(value, str):
        # openpyxl refuses control characters; a guarded cell never starts with one.
        return ILLEGAL_CHARACTERS_RE.sub("", neutralise_cell(value))
    if value is None or isinstance(value, int | float | date):
        return value
    return neutralise_cell(str(value))


def safe_filename(name: str, extension: str) -> str:
    """A download name made of plain ASCII letters, digits, dots, dashes and underscores."""
    stem = _FILENAME_UNSAFE.sub("-", name).strip("-.") or "export"
    return f"{stem[:80]}.{extension}"


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    # Exports hold personal data: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads accents), every text cell guarded."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(str(cell)) for cell in header])
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download (attachment) of the rows."""
    return _attachment(csv_bytes(header, rows), f"{CSV_MIMETYPE}; charset=utf-8", safe_filename(filename, "csv"))


def xlsx_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "Sheet1") -> bytes:
    """An XLSX workbook of one sheet: a bold header row, then the rows, every text cell guarded."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _FILENAME_UNSAFE.sub(" ", sheet_title)[:31].strip() or "Sheet1"
    sheet.append([_xlsx_value(str(cell)) for cell in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_xlsx_value(cell) for cell in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            # Explicitly text: openpyxl would otherwise store a string starting with "=" as a formula.
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(
    filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "Sheet1"
) -> Response:
    """An XLSX download (attachment) of the rows."""
    body = xlsx_bytes(header, rows, sheet_title=sheet_title)
    return _attachment(body, XLSX_MIMETYPE, safe_filename(filename, "xlsx"))
