"""Roster files without HTTP: reading CSV/XLSX imports, checking rows, all-or-nothing import, and
the formula guard on exports."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.enrollment import roster_io, services
from liaison.enrollment.models import Application, ApplicationSource, ApplicationStatus, GroupType
from liaison.enrollment.roster_io import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, parse_roster_file
from liaison.exports import csv_bytes, neutralise_cell, xlsx_bytes
from liaison.extensions import db
from tests import factories

HEADER = "full_name,email,phone,address,zip_code,neighborhood,group_type,group_name,languages"
GOOD_ROW = (
    'Ana Ruiz,ana@example.org,215-555-0100,12 Oak St,19104,Cedar Park,block_club,Oak St Block Club,"English; Spanish"'
)


def csv_file(*lines: str, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return newline.join(lines).encode(encoding) + newline.encode(encoding)


def messages(result: roster_io.RosterFile) -> list[str]:
    return [str(problem.message) for problem in result.problems]


def xlsx_file(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _context(app_ctx):
    """Messages are lazy translations: read them inside an app context."""


# Reading CSV --------------------------------------------------------------------------------


def test_a_good_csv_row_becomes_an_application_input():
    result = parse_roster_file("event.csv", csv_file(HEADER, GOOD_ROW))
    assert result.problems == []
    [row] = result.rows
    assert row.line == 2
    assert row.data.full_name == "Ana Ruiz"
    assert row.data.email == "ana@example.org"
    assert row.data.group_type is GroupType.BLOCK_CLUB
    assert row.data.languages == ["en", "es"]
    assert row.data.zip_code == "19104"


def test_utf8_with_and_without_bom_read_the_same_accents():
    line = "José Núñez,jose@example.org,,,,,,,Español"
    plain = parse_roster_file("a.csv", csv_file(HEADER, line))
    with_bom = parse_roster_file("a.csv", b"\xef\xbb\xbf" + csv_file(HEADER, line))
    assert plain.problems == with_bom.problems == []
    assert plain.rows[0].data.full_name == with_bom.rows[0].data.full_name == "José Núñez"
    assert with_bom.rows[0].data.languages == ["es"]


def test_semicolon_separated_files_and_mixed_case_spaced_headers_are_read():
    data = csv_file("Full Name;E-mail;ZIP code;Group_Type", "Ana Ruiz;ana@example.org;19104;Faith group")
    result = parse_roster_file("a.csv", data)
    assert result.problems == []
    assert result.rows[0].data.group_type is GroupType.FAITH_GROUP
    assert result.rows[0].data.zip_code == "19104"


def test_a_latin1_file_gets_a_plain_message_with_the_line():
    data = csv_file(HEADER, "Ana,ana@example.org", "José,jose@example.org", encoding="latin-1")
    result = parse_roster_file("a.csv", data)
    [problem] = result.problems
    assert problem.line == 3
    assert "not saved as UTF-8" in str(problem.message)
    assert "CSV UTF-8" in str(problem.message)
    assert result.rows == []


def test_a_utf16_file_is_named_as_such():
    result = parse_roster_file("a.csv", (HEADER + "\n").encode("utf-16"))
    assert "UTF-16" in messages(result)[0]


def test_an_empty_file_and_a_blank_file_say_they_are_empty():
    for data in (b"", b"\n\n  \n", b"\xef\xbb\xbf"):
        result = parse_roster_file("a.csv", data)
        assert result.rows == []
        assert "The file is empty" in messages(result)[0]


def test_a_header_without_rows_says_nobody_is_in_it():
    result = parse_roster_file("a.csv", csv_file(HEADER))
    assert messages(result) == ["The file has a header row but nobody in it. Add one person per row."]


def test_ragged_rows_are_reported_by_line_and_trailing_empty_separators_are_fine():
    data = csv_file(
        "full_name,email,phone",
        "Ana,ana@example.org",  # one value short
        "Bo,bo@example.org,,extra",  # one value too many
        "Cy,cy@example.org,,",  # a trailing empty separator, as Excel writes
    )
    result = parse_roster_file("a.csv", data)
    assert [(problem.line, "2 values" in str(problem.message)) for problem in result.problems] == [
        (2, True),
        (3, False),
    ]
    assert "4 values but the header has 3 columns" in str(result.problems[1].message)
    assert [row.data.full_name for row in result.rows] == ["Cy"]


def test_a_quoted_value_may_span_lines_and_later_rows_keep_their_line_numbers():
    data = csv_file(
        "full_name,email,address",
        'Ana,ana@example.org,"12 Oak St\nApt 3"',
        "Bo,not-an-email,5 Elm St",
    )
    result = parse_roster_file("a.csv", data)
    assert result.rows[0].data.address == "12 Oak St\nApt 3"
    [problem] = result.problems
    assert (problem.line, problem.column) == (4, "email")


def test_an_unclosed_quote_is_reported_at_the_line_where_it_opens():
    data = csv_file("full_name,email", "Ana,ana@example.org", '"Bo,bo@example.org', "Cy,cy@example.org")
    result = parse_roster_file("a.csv", data)
    [problem] = result.problems
    assert problem.line == 3
    assert "never closed" in str(problem.message)


def test_a_stray_quote_inside_a_value_is_reported():
    result = parse_roster_file("a.csv", csv_file("full_name,email", '"Ana" Ruiz,ana@example.org'))
    assert result.problems[0].line == 2
    assert "quotation mark in the wrong place" in str(result.problems[0].message)


def test_cr_only_line_ends_are_read():
    result = parse_roster_file("a.csv", csv_file("full_name,email", "Ana,ana@example.org", newline="\r"))
    assert result.problems == []
    assert result.rows[0].data.email == "ana@example.org"


def test_nul_bytes_are_refused_with_the_line():
    data = csv_file("full_name,email", "Ana,ana@example.org", "Bo\x00,bo@example.org")
    result = parse_roster_file("a.csv", data)
    [problem] = result.problems
    assert problem.line == 3
    assert "NUL" in str(problem.message)


def test_a_binary_file_named_csv_is_refused_without_a_crash():
    result = parse_roster_file("a.csv", bytes(range(256)) * 4)
    assert result.rows == []
    assert len(result.problems) == 1


def test_more_rows_than_the_limit_are_refused_and_the_limit_itself_is_fine():
    rows = [f"Person {n},p{n}@example.org" for n in range(MAX_IMPORT_ROWS)]
    at_limit = parse_roster_file("a.csv", csv_file("full_name,email", *rows))
    assert at_limit.problems == []
    assert len(at_limit.rows) == MAX_IMPORT_ROWS
    over = parse_roster_file("a.csv", csv_file("full_name,email", *rows, "One More,more@example.org"))
    assert any(f"more than {MAX_IMPORT_ROWS} rows" in message for message in messages(over))


def test_a_file_over_the_size_limit_is_refused_before_reading():
    data = csv_file("full_name,email") + b"x" * MAX_IMPORT_BYTES
    result = parse_roster_file("a.csv", data)
    assert result.rows == []
    assert "larger than 2 MB" in messages(result)[0]


def test_other_file_types_are_refused_plainly():
    assert "Upload a CSV file" in messages(parse_roster_file("notes.pdf", b"%PDF-1.7"))[0]
    old_excel = parse_roster_file("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    assert "Upload a CSV file" in messages(old_excel)[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=600),
        st.text(alphabet=st.sampled_from('ab,;"\n\r\t =+@é\x00'), max_size=300).map(
            lambda text: (HEADER + "\n" + text).encode("utf-8")
        ),
    ),
    st.sampled_from(["a.csv", "a.xlsx", "a", "a.txt"]),
)
def test_any_bytes_give_rows_or_problems_never_an_exception(data, filename):
    result = parse_roster_file(filename, data)
    assert result.rows or result.problems
    for problem in result.problems:
        assert str(problem.message)


# Checking columns and rows ------------------------------------------------------------------


def test_unknown_and_duplicate_columns_are_reported_on_line_one():
    data = csv_file("full_name,email,favourite_color,EMAIL", "Ana,ana@example.org,blue,ana@example.org")
    result = parse_roster_file("a.csv", data)
    assert [(problem.line, problem.column) for problem in result.problems] == [
        (1, "favourite_color"),
        (1, "email"),
    ]
    assert 'Unknown column "favourite_color"' in messages(result)[0]
    assert "appears twice" in messages(result)[1]


def test_a_missing_required_column_stops_the_row_checks():
    result = parse_roster_file("a.csv", csv_file("full_name,phone", "Ana,215-555-0100"))
    assert messages(result) == ['The header row has no "email" column.']
    assert result.rows == []


def test_each_bad_value_is_reported_with_its_line_and_column():
    data = csv_file(
        HEADER,
        ",ana@example.org,,,,,,,",  # missing name
        "Bo,bo at example,,,,,,,",  # bad email
        "Cy,cy@example.org,555,,,,,,",  # short phone
        "Di,di@example.org,,,1910,,,,",  # bad ZIP
        "Ed,ed@example.org,,,,,book club,,",  # unknown group type
        "Fa,,,,,,,,",  # missing email
    )
    result = parse_roster_file("a.csv", data)
    found = [(problem.line, problem.column) for problem in result.problems]
    assert found == [(2, "full_name"), (3, "email"), (4, "phone"), (5, "zip_code"), (6, "group_type"), (7, "email")]
    text = messages(result)
    assert text[0] == "The name is missing."
    assert '"bo at example" is not an email address' in text[1]
    assert 'Unknown group type "book club"' in text[4]
    assert result.rows == []


def test_a_value_longer_than_its_column_is_reported():
    result = parse_roster_file("a.csv", csv_file("full_name,email", f"{'A' * 201},a@example.org"))
    assert [(problem.column, str(problem.message)) for problem in result.problems] == [
        ("full_name", "Use at most 200 characters.")
    ]


def test_the_same_email_twice_in_a_file_is_reported_on_the_second_line():
    data = csv_file("full_name,email", "Ana,ana@example.org", "Bo,bo@example.org", "Ana Again,ANA@example.org ")
    result = parse_roster_file("a.csv", data)
    [problem] = result.problems
    assert (problem.line, problem.column) == (4, "email")
    assert str(problem.message) == "The same email address is already on line 2."


def test_an_empty_group_type_means_other_and_unknown_languages_are_kept_as_written():
    result = parse_roster_file("a.csv", csv_file("full_name,email,languages", "Ana,ana@example.org,Tagalog; es;;"))
    assert result.rows[0].data.group_type is GroupType.OTHER
    assert result.rows[0].data.languages == ["Tagalog", "es"]


def test_a_values_in_a_column_without_a_header_is_reported():
    result = parse_roster_file("a.csv", csv_file("full_name,email,", "Ana,ana@example.org,surprise"))
    assert "no name in the header row" in messages(result)[0]


# Reading XLSX -------------------------------------------------------------------------------


def test_a_good_workbook_is_read_with_excel_row_numbers_and_numeric_zips():
    data = xlsx_file(
        [
            ["Full Name", "Email", "ZIP_code", "group type"],
            ["Ana Ruiz", "ana@example.org", 19104, "Civic association"],
            [],
            ["Bo Li", "bo@example.org", None, None],
        ]
    )
    result = parse_roster_file("event.xlsx", data)
    assert result.problems == []
    assert [(row.line, row.data.full_name) for row in result.rows] == [(2, "Ana Ruiz"), (4, "Bo Li")]
    assert result.rows[0].data.zip_code == "19104"
    assert result.rows[0].data.group_type is GroupType.CIVIC_ASSOCIATION


def test_bad_workbook_rows_are_reported_with_their_row_numbers():
    data = xlsx_file([["full_name", "email"], ["Ana", "ana@example.org"], ["", "nobody@example.org"]])
    result = parse_roster_file("event.xlsx", data)
    assert [(problem.line, problem.column) for problem in result.problems] == [(3, "full_name")]


def test_a_broken_workbook_gets_a_plain_message():
    for name, data in (("a.xlsx", b"PK\x03\x04 not really a zip"), ("a.xlsx", b"just text")):
        result = parse_roster_file(name, data)
        assert result.rows == []
        assert "could not read this file as an Excel workbook" in messages(result)[0]


def test_a_workbook_that_would_unpack_to_a_huge_size_is_refused_before_reading(monkeypatch):
    data = xlsx_file([["full_name", "email"], ["Ana", "ana@example.org"]])
    monkeypatch.setattr(roster_io, "MAX_XLSX_UNPACKED_BYTES", 1000)
    result = parse_roster_file("a.xlsx", data)
    assert result.rows == []
    assert "far more than a roster" in messages(result)[0]


def test_a_workbook_named_csv_is_recognised():
    data = xlsx_file([["full_name", "email"], ["Ana", "ana@example.org"]])
    assert "name it .xlsx" in messages(parse_roster_file("event.csv", data))[0]


def test_an_empty_workbook_says_it_is_empty():
    assert "The file is empty" in messages(parse_roster_file("a.xlsx", xlsx_file([])))[0]


# Importing (database, no HTTP) --------------------------------------------------------------


def test_importing_a_good_file_creates_applications_awaiting_review_without_email(app_ctx, outbox):
    actor = factories.make_coordinator()
    roster = parse_roster_file("a.csv", csv_file(HEADER, GOOD_ROW, "Bo Li,bo@example.org,,,,,,,"))
    outcome = roster_io.import_roster(actor, roster)
    db.session.commit()
    assert (outcome.imported, outcome.problems) == (2, [])
    applications = db.session.scalars(select(Application).order_by(Application.id)).all()
    assert [(a.email, a.status, a.source) for a in applications] == [
        ("ana@example.org", ApplicationStatus.SUBMITTED, ApplicationSource.IMPORT),
        ("bo@example.org", ApplicationStatus.SUBMITTED, ApplicationSource.IMPORT),
    ]
    assert outbox() == []
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "roster.imported")) == 1


def test_one_pending_duplicate_imports_nobody(app_ctx):
    actor = factories.make_coordinator()
    services.submit_application(services.ApplicationInput(full_name="Bo", email="bo@example.org", consent=True))
    db.session.commit()
    roster = parse_roster_file("a.csv", csv_file(HEADER, GOOD_ROW, "Bo Li,BO@example.org,,,,,,,"))
    outcome = roster_io.import_roster(actor, roster)
    db.session.commit()
    assert outcome.imported == 0
    [problem] = outcome.problems
    assert (problem.line, problem.column) == (3, "email")
    assert "already waiting for review" in str(problem.message)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1


def test_a_duplicate_that_slips_past_the_check_undoes_the_rows_already_written(app_ctx, monkeypatch):
    actor = factories.make_coordinator()
    services.submit_application(services.ApplicationInput(full_name="Bo", email="bo@example.org", consent=True))
    db.session.commit()
    roster = parse_roster_file("a.csv", csv_file(HEADER, GOOD_ROW, "Bo Li,bo@example.org,,,,,,,"))
    # As if the twin arrived between the check and the writes.
    monkeypatch.setattr(roster_io, "pending_email_problems", lambda rows: [])
    outcome = roster_io.import_roster(actor, roster)
    db.session.commit()
    assert outcome.imported == 0
    assert [(problem.line, problem.column) for problem in outcome.problems] == [(3, "email")]
    assert db.session.scalars(select(Application.email)).all() == ["bo@example.org"]


# Export guard -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        (" =1", "' =1"),
        ("   @cmd", "'   @cmd"),
        ("\x00=1", "'=1"),
        ("\x00", "'"),
        ("Smith-Jones", "Smith-Jones"),
        ("a=b+c", "a=b+c"),
        (" plain", " plain"),
        ("", ""),
    ],
)
def test_cells_that_would_run_as_formulas_are_neutralised(value, expected):
    assert neutralise_cell(value) == expected


def test_numbers_dates_and_none_pass_through_the_guard():
    assert neutralise_cell(-5) == -5
    assert neutralise_cell(None) is None


def test_csv_and_xlsx_exports_write_guarded_text_cells():
    rows = [['=HYPERLINK("http://x")', "Smith-Jones", 3], ["\t=1", "@x", -1]]
    read = list(csv.reader(io.StringIO(csv_bytes(["name", "other", "n"], rows).decode("utf-8-sig"))))
    assert read == [["name", "other", "n"], ['\'=HYPERLINK("http://x")', "Smith-Jones", "3"], ["'\t=1", "'@x", "-1"]]
    sheet = load_workbook(io.BytesIO(xlsx_bytes(["name", "other", "n"], rows))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1] == ['\'=HYPERLINK("http://x")', "Smith-Jones", 3]
    assert values[2] == ["'\t=1", "'@x", -1]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
