"""Reading an uploaded CSV or XLSX file into a draft batch's rows.

`parse_upload` is a pure function: bytes in, rows (valid or not) and file problems out, each
with the line it comes from and a plain message; it never raises for bad content. It guards
against the csv module's silent failures (SECURITY.md pitfall 11): files that are not UTF-8,
NUL bytes, binary files, a quotation mark left open that swallows the following lines, and
ragged rows are reported, never guessed at. Problems that make the file unreadable as a whole
(`FileProblem.stops_import`) mean nothing is imported; every other row is imported as is, with
its problems, for the liaison to fix in the batch grid.

`import_into_batch` appends the rows with one multi-row INSERT, so 5,000 rows take well under
a second.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.certificates.services import filing_gate
from liaison.errors import Conflict, NotAllowed, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.batches import get_own_batch
from liaison.service_requests.models import ROW_FIELDS, BatchRow, BatchStatus, RequestBatch
from liaison.service_requests.validation import Catalog, validate_row

logger = logging.getLogger(__name__)

ATTRIBUTE_PREFIX = "attribute:"
# The upload's columns in the template's order; `service` (by name) may replace `service_code`.
UPLOAD_COLUMNS: tuple[str, ...] = ROW_FIELDS
# A workbook is a zip: refuse one that would unpack to far more than the row limit could need.
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
# The key in `BatchRow.errors` for a problem with the row as a whole (e.g. a missing separator).
ROW_ERROR_KEY = "row"

_HEADER_NOISE = re.compile(r"[\s_]+")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# Control characters other than tab, line feed, form feed and carriage return: text never has many.
_BINARY_BYTES = bytes(range(0, 9)) + b"\x0b" + bytes(range(14, 32))
_BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x7fELF", b"MZ", b"\x1f\x8b", b"Rar!")


@dataclass(frozen=True)
class FileProblem:
    """Something wrong with the file rather than with one row: where, and what, in plain words."""

    line: int | None
    column: str
    message: str
    # True when nothing can be imported until the file is fixed.
    stops_import: bool = True


@dataclass
class ParsedRow:
    """One data row as given in the file, with the problems found in it."""

    line_number: int
    values: dict[str, Any]
    errors: dict[str, str]


@dataclass
class ParsedUpload:
    """What an upload holds: its data rows (valid or not) and the problems with the file."""

    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    # Data rows in the file (empty lines are not counted), even when too many to import.
    total: int = 0

    @property
    def can_import(self) -> bool:
        return bool(self.rows) and not any(problem.stops_import for problem in self.problems)

    @property
    def rows_with_problems(self) -> int:
        return sum(1 for row in self.rows if row.errors)


@dataclass
class ImportResult:
    """What an import did to the batch."""

    imported: int
    with_problems: int
    first_position: int
    last_position: int


class _Unreadable(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, line: int | None, message: Any) -> None:
        self.problem = FileProblem(line, "", str(message))
        super().__init__(self.problem.message)


# A table: (line number, cells) for every non-empty line, header first.
Table = list[tuple[int, list[str]]]

_MSG_EMPTY = _l("The file is empty. Start from the template: one header row, then one request per row.")
_MSG_HEADER_ONLY = _l("The file has a header row but no requests. Add one request per row under the header.")
_MSG_XLSX_UNREADABLE = _l(
    "We could not read this file as an Excel workbook (.xlsx). Save it again from your spreadsheet program, "
    "or save it as CSV UTF-8."
)
_MSG_UTF16 = _l('The file is saved as UTF-16 (Unicode text). Save it as "CSV UTF-8" and upload it again.')
_MSG_OLD_EXCEL = _l(
    "Old Excel files (.xls) and password-protected workbooks cannot be read. "
    'Save it as .xlsx or as "CSV UTF-8" and upload it again.'
)
_MSG_BINARY = _l(
    "This is not a spreadsheet file (it looks like a picture, PDF or program). "
    'Upload a CSV file saved as "CSV UTF-8", or an Excel workbook (.xlsx).'
)
_MSG_WRONG_EXTENSION = _l("Upload a CSV file (.csv) or an Excel workbook (.xlsx).")
_MSG_ZIP_AS_CSV = _l("This file is an Excel workbook or another zip file: name it .xlsx, or save it as CSV UTF-8.")
_MSG_BIG_WORKBOOK = _l(
    "This workbook holds far more than a batch. Copy the requests into a new workbook and upload that."
)


# Parsing --------------------------------------------------------------------------------------


def parse_upload(filename: str, data: bytes, *, catalog: Catalog, max_rows: int, max_bytes: int) -> ParsedUpload:
    """Read and check an uploaded CSV or XLSX file; never raises for bad content."""
    if len(data) > max_bytes:
        return ParsedUpload(problems=[FileProblem(None, "", too_big_message(max_bytes))])
    try:
        table, problems = _read_table(filename, data)
    except _Unreadable as unreadable:
        return ParsedUpload(problems=[unreadable.problem])
    if not table:
        return ParsedUpload(problems=[*problems, FileProblem(None, "", str(_MSG_EMPTY))])
    return _check_table(table, problems, catalog=catalog, max_rows=max_rows)


def too_big_message(max_bytes: int) -> str:
    """The message for a file over the size limit."""
    return gettext(
        "The file is larger than %(size)s MB. Split it into smaller files and upload them one by one.",
        size=_megabytes(max_bytes),
    )


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def _read_table(filename: str, data: bytes) -> tuple[Table, list[FileProblem]]:
    extension = _extension(filename)
    if data.startswith(b"PK\x03\x04"):
        if extension not in ("xlsx", "xlsm", ""):
            raise _Unreadable(None, _MSG_ZIP_AS_CSV)
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Unreadable(None, _MSG_OLD_EXCEL)
    if extension in ("xlsx", "xlsm"):
        raise _Unreadable(None, _MSG_XLSX_UNREADABLE)
    if extension not in ("csv", "txt", ""):
        raise _Unreadable(None, _MSG_WRONG_EXTENSION)
    return _read_csv(data)


def _line_of(data: bytes, offset: int) -> int:
    return len(_LINE_BREAK.findall(data, 0, offset)) + 1


def _looks_utf16(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = data[:400]
    if len(sample) < 4:
        return False
    # ASCII text saved as UTF-16 has a NUL in every other byte.
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) > len(odd) * 0.6 or even.count(0) > len(even) * 0.6


def _looks_binary(data: bytes) -> bool:
    if data.startswith(_BINARY_SIGNATURES):
        return True
    sample = data[:4096]
    controls = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    return controls > max(8, len(sample) // 20)


def _decode(data: bytes) -> str:
    if _looks_utf16(data):
        raise _Unreadable(None, _MSG_UTF16)
    if _looks_binary(data):
        raise _Unreadable(None, _MSG_BINARY)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = _line_of(data, nul)
        raise _Unreadable(
            line,
            _l(
                "Line %(line)d contains a NUL character, which a CSV file cannot hold. "
                'Save the file from your spreadsheet as "CSV UTF-8" and upload it again.',
                line=line,
            ),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = _line_of(data, error.start)
        raise _Unreadable(
            line,
            _l(
                "Line %(line)d has characters we cannot read: the file is not saved as UTF-8 "
                '(it may be Latin-1 or Windows-1252). In your spreadsheet choose "CSV UTF-8" when saving, '
                "then upload it again.",
                line=line,
            ),
        ) from None


def _delimiter(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return ";" if line.count(";") > line.count(",") else ","
    return ","


def _read_csv(data: bytes) -> tuple[Table, list[FileProblem]]:
    text = _decode(data)
    if not text.strip():
        return [], []
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table: Table = []
    width = 0
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise _Unreadable(start, _quote_message(start, error)) from None
        if not any(cell.strip() for cell in cells):
            continue
        if not table:
            width = len(cells)
        elif _swallowed_lines(cells, width, delimiter):
            raise _Unreadable(start, _unclosed_quote(start))
        table.append((start, cells))
    return table, []


def _swallowed_lines(cells: list[str], width: int, delimiter: str) -> bool:
    """A value spanning lines looks like a quote left open when the row no longer fits the header
    or the value itself holds what looks like a whole row."""
    multiline = [cell for cell in cells if "\n" in cell or "\r" in cell]
    if not multiline:
        return False
    if len(cells) != width:
        return True
    return any(line.count(delimiter) >= max(width - 1, 2) for cell in multiline for line in cell.splitlines()[1:])


def _unclosed_quote(line: int) -> str:
    return gettext(
        "A quotation mark opened on line %(line)d is not closed where it should be, so the lines after it "
        "run together. Close the quote or remove it.",
        line=line,
    )


def _quote_message(line: int, error: csv.Error) -> str:
    if "end of data" in str(error):
        return _unclosed_quote(line)
    if "field larger than field limit" in str(error):
        return gettext("Line %(line)d has a value that is far too long (often a quotation mark left open).", line=line)
    return gettext(
        'Line %(line)d has a quotation mark in the wrong place. Put quotes around the whole value, like "Oak St, rear".',
        line=line,
    )


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 and not value.microsecond else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value).replace("\x00", "")


def _read_xlsx(data: bytes) -> tuple[Table, list[FileProblem]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _Unreadable(None, _MSG_XLSX_UNREADABLE) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _Unreadable(None, _MSG_BIG_WORKBOOK)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zip, XML and openpyxl errors all mean "not a workbook we can read"
        raise _Unreadable(None, _MSG_XLSX_UNREADABLE) from None
    table: Table = []
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # dimensions written by other programs are often wrong
        for line, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [_xlsx_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                table.append((line, cells))
    except Exception:  # noqa: BLE001 - a broken sheet inside a valid zip
        raise _Unreadable(None, _MSG_XLSX_UNREADABLE) from None
    finally:
        workbook.close()
    if not table:
        return [], []
    # A workbook's rows just end where their last value is: pad them so no row looks ragged.
    width = max(len(table[0][1]), max(len(_trimmed(cells)) for _line, cells in table))
    return [(line, cells + [""] * (width - len(cells))) for line, cells in table], []


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


# Header and rows ------------------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """A header as matched: lower case, without spaces or underscores."""
    return _HEADER_NOISE.sub("", name.strip().lstrip("\ufeff").lower())


@dataclass
class _Columns:
    fields: dict[int, str] = field(default_factory=dict)  # cell index → ROW_FIELDS name or "service"
    attributes: dict[int, str] = field(default_factory=dict)  # cell index → attribute code
    unnamed: set[int] = field(default_factory=set)


def _map_header(line: int, header: Sequence[str], catalog: Catalog) -> tuple[_Columns, list[FileProblem]]:
    known = {normalise_header(name): name for name in (*ROW_FIELDS, "service")}
    attribute_codes = {normalise_header(code): code for code in catalog.attribute_codes()}
    columns = _Columns()
    problems: list[FileProblem] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff")
        key = normalise_header(name)
        if not key:
            columns.unnamed.add(index)
            continue
        if key.startswith(ATTRIBUTE_PREFIX):
            code = attribute_codes.get(key[len(ATTRIBUTE_PREFIX) :])
            target = f"{ATTRIBUTE_PREFIX}{code}" if code else None
        else:
            code = None
            target = known.get(key)
        if target is None:
            problems.append(_unknown_column(line, name, key.startswith(ATTRIBUTE_PREFIX)))
        elif target in seen:
            problems.append(
                FileProblem(
                    line,
                    name,
                    gettext(
                        'The columns "%(first)s" and "%(second)s" are the same column. Keep one of them.',
                        first=seen[target],
                        second=name,
                    ),
                )
            )
        else:
            seen[target] = name
            if code:
                columns.attributes[index] = code
            else:
                columns.fields[index] = target
    named = set(columns.fields.values())
    for required, label in (("description", "description"), ("service_code", "service_code")):
        if required not in named and not (required == "service_code" and "service" in named):
            problems.append(FileProblem(line, label, gettext('The header row has no "%(name)s" column.', name=label)))
    if "address" not in named and not {"lat", "long"} <= named:
        problems.append(
            FileProblem(
                line,
                "address",
                gettext('The header row needs an "address" column (or both "lat" and "long" columns).'),
            )
        )
    return columns, problems


def _unknown_column(line: int, name: str, is_attribute: bool) -> FileProblem:
    if is_attribute:
        message = gettext(
            'No service in the catalog has the field in column "%(name)s". Check the spelling against the '
            "template, or delete the column.",
            name=name,
        )
    else:
        message = gettext(
            'Unknown column "%(name)s": its values were not imported. The columns we read are: %(columns)s, '
            "and attribute:<code> columns from the template.",
            name=name,
            columns=", ".join(ROW_FIELDS),
        )
    return FileProblem(line, name, message, stops_import=False)


def _too_many_rows(total: int, max_rows: int) -> FileProblem:
    return FileProblem(
        None,
        "",
        gettext(
            "The file has %(total)d rows; at most %(max)d can be uploaded at once. "
            "Split it into smaller files and upload them one by one.",
            total=total,
            max=max_rows,
        ),
    )


def _check_table(table: Table, problems: list[FileProblem], *, catalog: Catalog, max_rows: int) -> ParsedUpload:
    header_line, header = table[0]
    columns, header_problems = _map_header(header_line, header, catalog)
    problems = [*problems, *header_problems]
    result = ParsedUpload(problems=problems, total=len(table) - 1)
    if any(problem.stops_import for problem in problems):
        return result
    if result.total == 0:
        problems.append(FileProblem(None, "", str(_MSG_HEADER_ONLY)))
        return result
    if result.total > max_rows:
        problems.append(_too_many_rows(result.total, max_rows))
        return result
    width = len(header)
    reported_unnamed = False
    for line, cells in table[1:]:
        values: dict[str, Any] = dict.fromkeys(ROW_FIELDS, "")
        service_name = ""
        for index, name in columns.fields.items():
            if index < len(cells):
                if name == "service":
                    service_name = cells[index]
                else:
                    values[name] = cells[index]
        if not values["service_code"].strip() and service_name:
            values["service_code"] = service_name
        attributes = {
            code: cells[index]
            for index, code in columns.attributes.items()
            if index < len(cells) and cells[index].strip()
        }
        values["attributes"] = attributes
        errors = validate_row(values, catalog, upload=True).errors
        if len(cells) < width or any(cell.strip() for cell in cells[width:]):
            errors = {
                ROW_ERROR_KEY: ngettext(
                    "This row has %(num)d value but the header has %(expected)d columns. "
                    "Check for a missing or extra separator.",
                    "This row has %(num)d values but the header has %(expected)d columns. "
                    "Check for a missing or extra separator.",
                    len(_trimmed(cells)) if len(cells) > width else len(cells),
                    expected=width,
                ),
                **errors,
            }
        if not reported_unnamed and any(index < len(cells) and cells[index].strip() for index in columns.unnamed):
            reported_unnamed = True
            problems.append(
                FileProblem(
                    header_line,
                    "",
                    gettext("A column has values but no name in the header row, so they were not imported."),
                    stops_import=False,
                )
            )
        result.rows.append(ParsedRow(line_number=line, values=values, errors=errors))
    return result


# Importing ------------------------------------------------------------------------------------


def import_into_batch(liaison: User, batch: RequestBatch, parsed: ParsedUpload) -> ImportResult:
    """Append every parsed row (valid or not) to the liaison's draft batch, after its rows."""
    locked = get_own_batch(liaison, batch.id, for_update=True)
    decision = filing_gate(liaison)
    if not decision.allowed:
        raise NotAllowed(decision.reason)
    if locked.status is not BatchStatus.DRAFT:
        raise Conflict(_l("This batch has been submitted, so it can no longer be changed."))
    if not parsed.can_import:
        blocking = next((problem for problem in parsed.problems if problem.stops_import), None)
        raise ValidationFailed(blocking.message if blocking else _MSG_HEADER_ONLY, field="file")
    # row_count is kept equal to the last position; the max guards against a writer that slipped.
    last = db.session.scalar(select(func.max(BatchRow.position)).where(BatchRow.batch_id == locked.id)) or 0
    start = max(locked.row_count or 0, last) + 1
    db.session.execute(
        insert(BatchRow),
        [
            {
                "batch_id": locked.id,
                "position": position,
                "source_line": row.line_number,
                "values": row.values,
                "errors": row.errors,
            }
            for position, row in enumerate(parsed.rows, start=start)
        ],
    )
    count = len(parsed.rows)
    locked.row_count = start - 1 + count
    locked.revision = (locked.revision or 0) + 1
    db.session.expire(locked, ["rows"])
    with_problems = parsed.rows_with_problems
    record_event(liaison, "batch.rows_uploaded", locked, rows=count, rows_with_problems=with_problems)
    logger.info("user %s uploaded %d rows into batch %s", liaison.id, count, locked.id)
    return ImportResult(
        imported=count, with_problems=with_problems, first_position=start, last_position=start - 1 + count
    )
