"""Roster files: exporting a cohort's roster, and importing people met at a community event.

Reading and checking an import file are pure functions (`parse_roster_file`): bytes in, rows and
problems out, each problem with its line number, column and a plain message. Nothing is
half-imported: `import_roster` writes every row or none (SECURITY.md "all or nothing"). The
CSV reader guards against the csv module's silent failures (SECURITY.md pitfall 11): unclosed
quotes, NUL bytes, ragged rows and files that are not UTF-8 are reported, never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.auth.services import normalise_email
from liaison.enrollment.models import (
    PENDING_STATUSES,
    Application,
    ApplicationSource,
    Cohort,
    GroupType,
    MembershipStatus,
)
from liaison.enrollment.services import ApplicationInput, RosterRow, roster_query, roster_rows, submit_application
from liaison.errors import ValidationFailed
from liaison.extensions import db
from liaison.training.services import Progress, progress_for_users, published_modules

# Export ------------------------------------------------------------------------------------

INVITATION_LABELS: dict[str, Any] = {
    "pending": _l("pending"),
    "accepted": _l("accepted"),
    "deactivated": _l("deactivated"),
}

MEMBERSHIP_STATUS_LABELS: dict[MembershipStatus, Any] = {
    MembershipStatus.ACTIVE: _l("active"),
    MembershipStatus.MOVED: _l("moved"),
    MembershipStatus.WITHDRAWN: _l("withdrawn"),
}

ROSTER_EXPORT_COLUMNS: tuple[Any, ...] = (
    _l("Name"),
    _l("Email address"),
    _l("Invitation"),
    _l("Joined"),
    _l("Last login"),
    _l("Sessions attended"),
    _l("Training complete"),
    _l("Status"),
)
# Liaisons whose training progress is read per query when exporting (keeps IN lists short).
EXPORT_PROGRESS_CHUNK = 500


def training_complete(progress: Progress | None, required_modules: int) -> str:
    """Required modules complete out of those published, e.g. "3 of 6" ("" when none is required).

    Words, not "3/6": spreadsheet programs read "3/6" in a CSV as a date.
    """
    if not required_modules:
        return ""
    return gettext("%(done)d of %(total)d", done=progress.required_complete if progress else 0, total=required_modules)


def roster_export_row(row: RosterRow, training: str = "") -> list[Any]:
    """One roster row as export cells, in the order of ROSTER_EXPORT_COLUMNS."""
    return [
        row.user.full_name,
        row.user.email,
        str(INVITATION_LABELS[row.invitation_state]),
        row.membership.joined_at,
        row.user.last_login_at,
        row.sessions_attended,
        training,
        str(MEMBERSHIP_STATUS_LABELS[row.membership.status]),
    ]


def export_roster(actor: User, cohort: Cohort, *, file_format: str, include_ended: bool = False) -> list[list[Any]]:
    """The roster's rows for a download, recorded as an audit event (it holds personal data)."""
    rows = roster_rows(db.session.execute(roster_query(cohort.id, include_ended=include_ended)))
    modules = published_modules()
    required_modules = sum(1 for module in modules if module.required)
    progress: dict[int, Progress] = {}
    for start in range(0, len(rows), EXPORT_PROGRESS_CHUNK):
        chunk = rows[start : start + EXPORT_PROGRESS_CHUNK]
        progress.update(progress_for_users([row.user.id for row in chunk], modules))
    record_event(actor, "roster.exported", cohort, format=file_format, rows=len(rows), include_ended=include_ended)
    return [roster_export_row(row, training_complete(progress.get(row.user.id), required_modules)) for row in rows]


# Import: limits and columns -------------------------------------------------------------------

MAX_IMPORT_ROWS = 2000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# A workbook is a zip: refuse one that would unpack to far more than 2,000 rows could need.
MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024

# Column name → longest value accepted (the database column's length).
IMPORT_COLUMNS: dict[str, int] = {
    "full_name": 200,
    "email": 254,
    "phone": 40,
    "address": 300,
    "zip_code": 10,
    "neighborhood": 120,
    "group_type": 40,
    "group_name": 200,
    "languages": 300,
}
REQUIRED_COLUMNS = ("full_name", "email")

# Languages written out in full are stored as the codes the application form uses.
LANGUAGE_CODES = {
    "english": "en",
    "inglés": "en",
    "ingles": "en",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "chinese": "zh",
    "vietnamese": "vi",
    "russian": "ru",
    "arabic": "ar",
    "haitian creole": "ht",
    "french": "fr",
    "portuguese": "pt",
}
_LANGUAGE_CODE_VALUES = frozenset(LANGUAGE_CODES.values())
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_HEADER_NOISE = re.compile(r"[\s_\-]+")


def template_header() -> list[str]:
    """The header row of the downloadable import template."""
    return list(IMPORT_COLUMNS)


@dataclass(frozen=True)
class ImportProblem:
    """Something wrong in an import file: where (line, column) and what, in plain words."""

    line: int | None
    column: str
    message: Any


@dataclass(frozen=True)
class ImportRow:
    """A valid row of an import file, ready to become an application."""

    line: int
    data: ApplicationInput


@dataclass
class RosterFile:
    """What an import file holds: valid rows, and every problem found."""

    rows: list[ImportRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Unreadable(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, problem: ImportProblem) -> None:
        self.problem = problem
        super().__init__(str(problem.message))


# A table: (line number, cells) for every line, header first.
Table = list[tuple[int, list[str]]]


# Import: reading CSV and XLSX -----------------------------------------------------------------


def parse_roster_file(filename: str, data: bytes) -> RosterFile:
    """Read and check an uploaded CSV or XLSX file; never raises for bad content."""
    try:
        table, problems = _read_table(filename, data)
    except _Unreadable as unreadable:
        return RosterFile(problems=[unreadable.problem])
    result = check_table(table)
    result.problems[:0] = problems
    return result


def _read_table(filename: str, data: bytes) -> tuple[Table, list[ImportProblem]]:
    if len(data) > MAX_IMPORT_BYTES:
        raise _Unreadable(
            ImportProblem(
                None,
                "",
                _l(
                    "The file is larger than %(size)d MB. Split it into smaller files and upload them one by one.",
                    size=MAX_IMPORT_BYTES // (1024 * 1024),
                ),
            )
        )
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith(b"PK\x03\x04"):
        if extension not in ("xlsx", ""):
            raise _Unreadable(
                ImportProblem(None, "", _l("This file is an Excel workbook: name it .xlsx, or save it as CSV."))
            )
        return read_xlsx_table(data)
    if extension == "xlsx":
        raise _Unreadable(ImportProblem(None, "", _XLSX_UNREADABLE))
    if extension not in ("csv", "txt", ""):
        raise _Unreadable(ImportProblem(None, "", _l("Upload a CSV file (.csv) or an Excel workbook (.xlsx).")))
    return read_csv_table(data)


def _decode_csv(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Unreadable(
            ImportProblem(None, "", _l('The file is saved as UTF-16. Save it as "CSV UTF-8" and upload it again.'))
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Unreadable(
            ImportProblem(
                None, "", _l("Old Excel files (.xls) cannot be read. Save it as .xlsx or as CSV and upload it again.")
            )
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _Unreadable(
            ImportProblem(
                line,
                "",
                _l(
                    "Line %(line)d contains a NUL character: this does not look like a CSV file. "
                    'Save it from your spreadsheet as "CSV UTF-8" and upload it again.',
                    line=line,
                ),
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Unreadable(
            ImportProblem(
                line,
                "",
                _l(
                    "Line %(line)d has characters we cannot read: the file is not saved as UTF-8 "
                    '(it may be Latin-1 or Windows-1252). In your spreadsheet choose "CSV UTF-8" when saving, '
                    "then upload it again.",
                    line=line,
                ),
            )
        ) from None
    if not text.strip():
        raise _Unreadable(ImportProblem(None, "", _EMPTY_FILE))
    return text


_EMPTY_FILE = _l("The file is empty. Start from the template: one header row, then one person per row.")
_XLSX_UNREADABLE = _l(
    "We could not read this file as an Excel workbook (.xlsx). Save it again from your spreadsheet program, "
    "or save it as CSV."
)


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_csv_table(data: bytes) -> tuple[Table, list[ImportProblem]]:
    """The lines of a CSV file (UTF-8 with or without BOM, comma or semicolon), each with its line number."""
    text = _decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    table: Table = []
    problems: list[ImportProblem] = []
    data_rows = 0
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(_quote_problem(start, error))
            break
        if not any(cell.strip() for cell in cells):
            continue
        if table:
            data_rows += 1
            if data_rows > MAX_IMPORT_ROWS:
                problems.append(_too_many_rows())
                break
        table.append((start, cells))
    return table, problems


def _quote_problem(line: int, error: csv.Error) -> ImportProblem:
    if "end of data" in str(error):
        message = _l(
            "A quotation mark opened on line %(line)d is never closed, so the rest of the file "
            "cannot be read. Close the quote or remove it.",
            line=line,
        )
    elif "field larger than field limit" in str(error):
        message = _l("Line %(line)d has a value that is far too long (often a quotation mark left open).", line=line)
    else:
        message = _l(
            'Line %(line)d has a quotation mark in the wrong place. Put quotes around the whole value, like "Smith, Ann".',
            line=line,
        )
    return ImportProblem(line, "", message)


def _too_many_rows() -> ImportProblem:
    return ImportProblem(
        None,
        "",
        _l(
            "The file has more than %(max)d rows. Split it into smaller files and upload them one by one.",
            max=MAX_IMPORT_ROWS,
        ),
    )


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_xlsx_table(data: bytes) -> tuple[Table, list[ImportProblem]]:
    """The rows of an XLSX workbook's first sheet, each with its row number."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _Unreadable(ImportProblem(None, "", _XLSX_UNREADABLE)) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _Unreadable(
            ImportProblem(
                None,
                "",
                _l("This workbook holds far more than a roster. Copy the people into a new workbook and upload that."),
            )
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zip, XML and openpyxl errors all mean "not a workbook we can read"
        raise _Unreadable(ImportProblem(None, "", _XLSX_UNREADABLE)) from None
    table: Table = []
    problems: list[ImportProblem] = []
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # dimensions written by other programs are often wrong
        data_rows = 0
        for line, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [_xlsx_text(value) for value in values]
            if not any(cell.strip() for cell in cells):
                continue
            if table:
                data_rows += 1
                if data_rows > MAX_IMPORT_ROWS:
                    problems.append(_too_many_rows())
                    break
            table.append((line, cells))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError):
        raise _Unreadable(ImportProblem(None, "", _XLSX_UNREADABLE)) from None
    finally:
        workbook.close()
    if not table:
        raise _Unreadable(ImportProblem(None, "", _EMPTY_FILE))
    # A workbook's short rows just end in empty cells; pad them so no row looks ragged.
    width = max(len(cells) for _line, cells in table)
    return [(line, cells + [""] * (width - len(cells))) for line, cells in table], problems


# Import: checking rows ----------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """A header as matched: lower case, without spaces, underscores or dashes."""
    return _HEADER_NOISE.sub("", name.strip().lstrip("\ufeff").lower())


_KNOWN_HEADERS = {normalise_header(column): column for column in IMPORT_COLUMNS}


def _map_header(line: int, header: Sequence[str]) -> tuple[dict[int, str], set[int], list[ImportProblem], bool]:
    columns: dict[int, str] = {}
    unnamed: set[int] = set()
    problems: list[ImportProblem] = []
    for index, name in enumerate(header):
        key = normalise_header(name)
        if not key:
            unnamed.add(index)
            continue
        column = _KNOWN_HEADERS.get(key)
        if column is None:
            problems.append(
                ImportProblem(
                    line,
                    name.strip(),
                    _l(
                        'Unknown column "%(name)s". The columns we read are: %(columns)s.',
                        name=name.strip(),
                        columns=", ".join(IMPORT_COLUMNS),
                    ),
                )
            )
        elif column in columns.values():
            problems.append(ImportProblem(line, column, _l('The column "%(name)s" appears twice.', name=column)))
        else:
            columns[index] = column
    missing = [column for column in REQUIRED_COLUMNS if column not in columns.values()]
    for column in missing:
        problems.append(ImportProblem(line, column, _l('The header row has no "%(name)s" column.', name=column)))
    return columns, unnamed, problems, bool(missing)


def check_table(table: Table) -> RosterFile:
    """Check a table (header first) and turn its good rows into application inputs."""
    result = RosterFile()
    if not table:
        result.problems.append(ImportProblem(None, "", _EMPTY_FILE))
        return result
    header_line, header = table[0]
    columns, unnamed, header_problems, required_missing = _map_header(header_line, header)
    result.problems.extend(header_problems)
    if required_missing:
        return result
    if len(table) == 1:
        result.problems.append(
            ImportProblem(None, "", _l("The file has a header row but nobody in it. Add one person per row."))
        )
        return result
    first_line_with_email: dict[str, int] = {}
    reported_unnamed = False
    for line, cells in table[1:]:
        # Excel may leave trailing separators; only real values beyond the header count.
        if len(cells) < len(header) or any(cell.strip() for cell in cells[len(header) :]):
            result.problems.append(
                ImportProblem(
                    line,
                    "",
                    _l(
                        "Line %(line)d has %(found)d values but the header has %(expected)d columns. "
                        "Check for a missing or extra separator.",
                        line=line,
                        found=len(cells),
                        expected=len(header),
                    ),
                )
            )
            continue
        if not reported_unnamed and any(cells[index].strip() for index in unnamed if index < len(cells)):
            reported_unnamed = True
            result.problems.append(
                ImportProblem(
                    header_line,
                    "",
                    _l("A column has values but no name in the header row. Name it, or delete the column."),
                )
            )
        values = {column: cells[index].strip() for index, column in columns.items()}
        row, problems = check_row(line, values)
        if row is not None:
            email = normalise_email(row.data.email)
            if email in first_line_with_email:
                problems.append(
                    ImportProblem(
                        line,
                        "email",
                        _l(
                            "The same email address is already on line %(other)d.",
                            other=first_line_with_email[email],
                        ),
                    )
                )
                row = None
            else:
                first_line_with_email[email] = line
        result.problems.extend(problems)
        if row is not None:
            result.rows.append(row)
    return result


def _group_type(value: str) -> GroupType | None:
    if not value:
        return GroupType.OTHER
    key = re.sub(r"[\s\-]+", "_", value.strip().lower())
    try:
        return GroupType(key)
    except ValueError:
        return None


def _languages(value: str) -> list[str]:
    languages: list[str] = []
    for part in value.split(";"):
        name = part.strip()
        if not name:
            continue
        code = name.lower() if name.lower() in _LANGUAGE_CODE_VALUES else LANGUAGE_CODES.get(name.lower(), name)
        if code not in languages:
            languages.append(code)
    return languages


def check_row(line: int, values: dict[str, str]) -> tuple[ImportRow | None, list[ImportProblem]]:
    """One data row: the application it describes, or what is wrong with it."""
    problems: list[ImportProblem] = []

    def problem(column: str, message: Any) -> None:
        problems.append(ImportProblem(line, column, message))

    for column, longest in IMPORT_COLUMNS.items():
        if len(values.get(column, "")) > longest:
            problem(column, _l("Use at most %(max)d characters.", max=longest))
    full_name = values.get("full_name", "")
    if not full_name:
        problem("full_name", _l("The name is missing."))
    email = values.get("email", "")
    if not email:
        problem("email", _l("The email address is missing."))
    else:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            problem("email", _l('"%(email)s" is not an email address like name@example.org.', email=email))
    phone = values.get("phone", "")
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if phone and (len(digits) != 10 or re.search(r"[^\d\s().+\-]", phone)):
        problem("phone", _l("Write a 10-digit phone number with the area code, like 215-555-0123."))
    zip_code = values.get("zip_code", "")
    if zip_code and not _ZIP.match(zip_code):
        problem("zip_code", _l("Write a 5-digit ZIP code, like 19121, or ZIP+4, like 19121-3401."))
    group_type = _group_type(values.get("group_type", ""))
    if group_type is None:
        problem(
            "group_type",
            _l(
                'Unknown group type "%(value)s". Use one of: %(choices)s.',
                value=values.get("group_type", ""),
                choices=", ".join(member.value for member in GroupType),
            ),
        )
    if problems or group_type is None:
        return None, problems
    data = ApplicationInput(
        full_name=full_name,
        email=normalise_email(email),
        phone=phone,
        address=values.get("address", ""),
        zip_code=zip_code,
        neighborhood=values.get("neighborhood", ""),
        group_type=group_type,
        group_name=values.get("group_name", ""),
        languages=_languages(values.get("languages", "")),
    )
    return ImportRow(line=line, data=data), problems


# Import: writing ----------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    """What an import did: how many applications it created, or why it created none."""

    imported: int
    problems: list[ImportProblem]


class _RollBack(Exception):
    """Undo every row of an import that turned out to have a bad one."""


def pending_email_problems(rows: Iterable[ImportRow]) -> list[ImportProblem]:
    """Rows whose email already has an application waiting for review (one query)."""
    by_email = {row.data.email: row.line for row in rows}
    if not by_email:
        return []
    pending = db.session.scalars(
        select(Application.email).where(Application.email.in_(list(by_email)), Application.status.in_(PENDING_STATUSES))
    ).all()
    return sorted(
        (
            ImportProblem(
                by_email[email], "email", _l("An application with this email address is already waiting for review.")
            )
            for email in set(pending)
        ),
        key=lambda problem: problem.line or 0,
    )


def import_roster(actor: User, roster: RosterFile) -> ImportOutcome:
    """Turn every row into an application awaiting review, or, if any row is bad, none of them."""
    problems = list(roster.problems) or pending_email_problems(roster.rows)
    if problems:
        return ImportOutcome(imported=0, problems=problems)
    try:
        with db.session.begin_nested():
            for row in roster.rows:
                try:
                    submit_application(row.data, source=ApplicationSource.IMPORT, actor=actor, notify=False)
                except ValidationFailed as error:
                    problems.append(ImportProblem(row.line, error.field or "", error.message))
            if problems:
                raise _RollBack
    except _RollBack:
        return ImportOutcome(imported=0, problems=problems)
    record_event(actor, "roster.imported", subject_type="application", rows=len(roster.rows))
    return ImportOutcome(imported=len(roster.rows), problems=[])


def iter_problems(problems: Sequence[ImportProblem], limit: int) -> Iterator[ImportProblem]:
    """The first `limit` problems, file-wide ones first, then by line."""
    ordered = sorted(problems, key=lambda problem: (problem.line is not None, problem.line or 0))
    yield from ordered[:limit]
