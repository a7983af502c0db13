"""Reading uploaded CSV and XLSX files into batch rows: the CSV corpus of SECURITY.md, XLSX, limits."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.importer import ParsedUpload, import_into_batch, parse_upload
from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch
from liaison.service_requests.validation import Catalog, load_catalog
from tests import factories

pytestmark = pytest.mark.usefixtures("app_ctx")

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
HEADER = "service_code,address,zipcode,description,neighbor_first_name,contact_consent,attribute:item_count"
GOOD = "POTHOLE,1200 Cedar Ave,19143,Deep pothole,,,"


@pytest.fixture
def catalog() -> Catalog:
    factories.make_service_type("POTHOLE", name="Pothole")
    factories.make_service_type(
        "BULKY",
        name="Bulky item pickup",
        attributes=[
            {"code": "item_count", "datatype": "number", "required": True},
            {"code": "pickup_after", "datatype": "datetime"},
        ],
    )
    return load_catalog()


def parse(data: bytes | str, catalog: Catalog, filename: str = "requests.csv", **limits: int) -> ParsedUpload:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return parse_upload(
        filename,
        data,
        catalog=catalog,
        max_rows=limits.get("max_rows", MAX_ROWS),
        max_bytes=limits.get("max_bytes", MAX_BYTES),
    )


def only_problem(parsed: ParsedUpload) -> str:
    assert len(parsed.problems) == 1, parsed.problems
    return parsed.problems[0].message


def csv_text(*lines: str, end: str = "\r\n") -> str:
    return end.join((HEADER, *lines)) + end


# The CSV corpus -----------------------------------------------------------------------------


def test_a_good_file_gives_every_row_with_its_line_number(catalog):
    parsed = parse(csv_text(GOOD, "BULKY,9 Elm St,19104,Old sofa,,,3", "BULKY,9 Elm St,19104,Old sofa,,,"), catalog)
    assert parsed.problems == []
    assert parsed.total == 3
    assert [row.line_number for row in parsed.rows] == [2, 3, 4]
    assert parsed.rows[0].errors == {}
    assert parsed.rows[1].errors == {}
    assert parsed.rows[1].values["attributes"] == {"item_count": "3"}
    assert set(parsed.rows[2].errors) == {"attribute:item_count"}
    assert parsed.rows_with_problems == 1
    assert parsed.can_import


def test_rows_keep_the_values_exactly_as_given(catalog):
    parsed = parse(csv_text("pothole, 1200 Cedar Ave ,19143,Deep pothole,,,"), catalog)
    values = parsed.rows[0].values
    assert values["service_code"] == "pothole"
    assert values["address"] == " 1200 Cedar Ave "
    assert values["lat"] == ""
    assert values["attributes"] == {}


def test_an_empty_file_is_refused(catalog):
    parsed = parse(b"", catalog)
    assert only_problem(parsed).startswith("The file is empty.")
    assert parsed.rows == []
    assert not parsed.can_import


def test_a_file_of_blank_lines_is_empty(catalog):
    assert only_problem(parse(" \r\n\r\n", catalog)).startswith("The file is empty.")


def test_a_header_only_file_has_no_requests(catalog):
    parsed = parse(csv_text(), catalog)
    assert only_problem(parsed).startswith("The file has a header row but no requests.")
    assert parsed.total == 0


def test_a_byte_order_mark_is_ignored(catalog):
    parsed = parse(b"\xef\xbb\xbf" + csv_text(GOOD).encode(), catalog)
    assert parsed.problems == []
    assert parsed.rows[0].values["service_code"] == "POTHOLE"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_asked_to_be_saved_as_utf8(catalog, encoding):
    message = only_problem(parse(csv_text(GOOD).encode(encoding), catalog))
    assert message.startswith("The file is saved as UTF-16")
    assert "CSV UTF-8" in message


def test_a_latin1_file_is_refused_with_the_line_of_the_first_accent(catalog):
    data = csv_text(GOOD, GOOD, "POTHOLE,12 Peña St,19143,Bache profundo,,,").encode("latin-1")
    parsed = parse(data, catalog)
    assert parsed.problems[0].line == 4
    assert only_problem(parsed).startswith("Line 4 has characters we cannot read: the file is not saved as UTF-8")
    assert parsed.rows == []


def test_a_nul_byte_is_refused_with_its_line(catalog):
    parsed = parse(csv_text(GOOD, "POTHOLE,12 Oak\x00 St,19143,Hole,,,"), catalog)
    assert only_problem(parsed).startswith("Line 3 contains a NUL character")
    assert parsed.problems[0].line == 3


def test_an_unclosed_quote_at_the_end_is_reported_where_it_opened(catalog):
    parsed = parse(csv_text(GOOD, 'POTHOLE,"12 Oak St,19143,Hole,,,', GOOD, GOOD), catalog)
    assert only_problem(parsed).startswith("A quotation mark opened on line 3 is not closed")
    assert parsed.problems[0].line == 3
    assert parsed.rows == []


def test_a_quote_that_swallows_lines_until_another_quote_is_reported_where_it_opened(catalog):
    parsed = parse(
        csv_text(GOOD, 'POTHOLE,"12 Oak St,19143,Hole,,,', GOOD, 'POTHOLE,9 Elm St",19143,Hole,,,', GOOD), catalog
    )
    assert only_problem(parsed).startswith("A quotation mark opened on line 3 is not closed")


def test_a_quote_in_the_middle_of_a_value_is_reported(catalog):
    parsed = parse(csv_text(GOOD, 'POTHOLE,"12 Oak" St,19143,Hole,,,'), catalog)
    assert only_problem(parsed).startswith("Line 3 has a quotation mark in the wrong place.")


def test_a_properly_quoted_value_may_span_lines(catalog):
    parsed = parse(csv_text('POTHOLE,"1200 Cedar Ave, rear",19143,"Deep pothole\nnear the school",,,', GOOD), catalog)
    assert parsed.problems == []
    assert parsed.rows[0].values["description"] == "Deep pothole\nnear the school"
    assert parsed.rows[0].values["address"] == "1200 Cedar Ave, rear"
    # The second row starts on the fourth physical line.
    assert [row.line_number for row in parsed.rows] == [2, 4]


def test_ragged_rows_are_imported_with_a_message_about_the_separators(catalog):
    parsed = parse(csv_text(GOOD, "POTHOLE,1200 Cedar Ave,19143", GOOD + ",extra"), catalog)
    assert parsed.problems == []
    assert parsed.total == 3
    short, extra = parsed.rows[1], parsed.rows[2]
    assert short.errors["row"] == (
        "This row has 3 values but the header has 7 columns. Check for a missing or extra separator."
    )
    assert "description" in short.errors
    assert extra.errors["row"].startswith("This row has 8 values but the header has 7 columns.")
    assert parsed.rows_with_problems == 2


def test_trailing_empty_separators_from_excel_are_not_ragged(catalog):
    parsed = parse(csv_text(GOOD + ",,,"), catalog)
    assert parsed.rows[0].errors == {}


def test_duplicate_headers_stop_the_import(catalog):
    parsed = parse("service_code,address,description,Address\r\nPOTHOLE,1 Oak St,Hole,2 Oak St\r\n", catalog)
    assert only_problem(parsed) == 'The columns "address" and "Address" are the same column. Keep one of them.'
    assert parsed.problems[0].line == 1
    assert not parsed.can_import


def test_unknown_headers_are_reported_by_name_and_the_rows_still_imported(catalog):
    parsed = parse("service_code,address,description,Notes,attribute:colour\r\nPOTHOLE,1 Oak St,Hole,x,y\r\n", catalog)
    messages = [problem.message for problem in parsed.problems]
    assert messages[0].startswith('Unknown column "Notes": its values were not imported.')
    assert messages[1].startswith('No service in the catalog has the field in column "attribute:colour".')
    assert [problem.column for problem in parsed.problems] == ["Notes", "attribute:colour"]
    assert parsed.can_import
    assert parsed.rows[0].errors == {}


def test_headers_match_in_any_case_with_spaces_or_underscores(catalog):
    parsed = parse(
        "Service Code,ADDRESS,Zip_Code,Description,Attribute: Item Count\r\nBULKY,1 Oak St,19143,Sofa,2\r\n", catalog
    )
    assert parsed.problems == []
    assert parsed.rows[0].values["zipcode"] == "19143"
    assert parsed.rows[0].values["attributes"] == {"item_count": "2"}
    assert parsed.rows[0].errors == {}


def test_a_service_column_by_name_replaces_service_code(catalog):
    parsed = parse("service,address,description\r\nBulky Item Pickup,1 Oak St,Sofa\r\n", catalog)
    assert parsed.problems == []
    assert parsed.rows[0].values["service_code"] == "Bulky Item Pickup"
    assert set(parsed.rows[0].errors) == {"attribute:item_count"}


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("address,description", 'The header row has no "service_code" column.'),
        ("service_code,address", 'The header row has no "description" column.'),
        (
            "service_code,description,lat",
            'The header row needs an "address" column (or both "lat" and "long" columns).',
        ),
    ],
)
def test_a_missing_required_header_stops_the_import(catalog, header, missing):
    parsed = parse(header + "\r\nPOTHOLE,x\r\n", catalog)
    assert missing in [problem.message for problem in parsed.problems]
    assert not parsed.can_import


def test_coordinates_may_replace_the_address_column(catalog):
    parsed = parse("service_code;description;lat;long\r\nPOTHOLE;Hole;39.95;-75.16\r\n", catalog)
    assert parsed.problems == []
    assert parsed.rows[0].errors == {}


def test_semicolon_separated_files_are_read(catalog):
    parsed = parse(csv_text("POTHOLE;1200 Cedar Ave, rear;19143;Deep pothole;;;").replace(",", ";", 6), catalog)
    assert parsed.problems == []
    assert parsed.rows[0].values["address"] == "1200 Cedar Ave, rear"
    assert parsed.rows[0].errors == {}


def test_cr_only_line_endings_are_read_with_the_right_line_numbers(catalog):
    parsed = parse(csv_text(GOOD, GOOD, end="\r"), catalog)
    assert parsed.problems == []
    assert [row.line_number for row in parsed.rows] == [2, 3]


def test_trailing_empty_rows_are_ignored_and_not_counted(catalog):
    parsed = parse(csv_text(GOOD, "", ",,,,,,", "  ", ""), catalog)
    assert parsed.total == 1
    assert len(parsed.rows) == 1


def test_formulas_are_kept_as_text_never_evaluated(catalog):
    formula = '=HYPERLINK("http://evil.example","click")'
    parsed = parse(csv_text(f'POTHOLE,1 Oak St,19143,"{formula.replace(chr(34), chr(34) * 2)}",,,'), catalog)
    assert parsed.rows[0].values["description"] == formula
    assert parsed.rows[0].errors == {}


def test_exactly_the_row_limit_is_accepted(catalog):
    parsed = parse(csv_text(*[GOOD] * 5000), catalog)
    assert parsed.problems == []
    assert parsed.total == 5000
    assert len(parsed.rows) == 5000
    assert parsed.rows[-1].line_number == 5001


def test_one_row_over_the_limit_imports_nothing(catalog):
    parsed = parse(csv_text(*[GOOD] * 5001), catalog)
    assert only_problem(parsed) == (
        "The file has 5001 rows; at most 5000 can be uploaded at once. "
        "Split it into smaller files and upload them one by one."
    )
    assert parsed.rows == []
    assert parsed.total == 5001
    assert not parsed.can_import


def test_a_file_over_the_size_limit_is_refused_before_reading(catalog):
    parsed = parse(csv_text(GOOD), catalog, max_bytes=20)
    assert only_problem(parsed).startswith("The file is larger than")
    assert parsed.total == 0


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        bytes(range(256)) * 4,
    ],
)
def test_a_binary_file_named_csv_is_refused(catalog, data):
    assert only_problem(parse(data, catalog)).startswith("This is not a spreadsheet file")


def test_a_workbook_named_csv_is_refused_with_a_hint(catalog):
    message = only_problem(parse(xlsx([["service_code"]]), catalog, filename="requests.csv"))
    assert message.startswith("This file is an Excel workbook or another zip file")


def test_an_old_excel_file_is_refused(catalog):
    assert only_problem(parse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, catalog, "a.xls")).startswith(
        "Old Excel files (.xls)"
    )


def test_other_file_types_are_refused(catalog):
    assert only_problem(parse(csv_text(GOOD), catalog, filename="requests.pdf")) == (
        "Upload a CSV file (.csv) or an Excel workbook (.xlsx)."
    )


# XLSX -------------------------------------------------------------------------------------------


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as a person typed it
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_file_is_read_with_numbers_and_dates_as_text(catalog):
    data = xlsx(
        [
            ["Service_Code", "Address", "ZIPCODE", "lat", "long", "Description", "Contact Consent"]
            + ["attribute:item_count", "attribute:pickup_after"],
            ["BULKY", "9 Elm St", 19143.0, 39.95, -75.1652, "Old sofa", True, 3, datetime(2025, 3, 14, 18, 30)],
            [None] * 9,
            ["POTHOLE", "1 Oak St", 2134, None, None, "=1+1", False],
        ]
    )
    parsed = parse(data, catalog, filename="Requests.XLSX")
    assert parsed.problems == []
    assert parsed.total == 2
    first, second = parsed.rows
    assert first.line_number == 2
    assert first.values["zipcode"] == "19143"
    assert first.values["lat"] == "39.95"
    assert first.values["long"] == "-75.1652"
    assert first.values["contact_consent"] == "yes"
    assert first.values["attributes"] == {"item_count": "3", "pickup_after": "2025-03-14 18:30"}
    assert first.errors == {}
    assert second.line_number == 4
    assert second.values["description"] == "=1+1"
    assert second.values["contact_consent"] == "no"


def test_an_xlsx_file_that_is_not_a_zip_is_refused(catalog):
    message = only_problem(parse(b"service_code,address\r\n", catalog, filename="requests.xlsx"))
    assert message.startswith("We could not read this file as an Excel workbook (.xlsx).")


def test_a_broken_xlsx_zip_is_refused(catalog):
    data = xlsx([["service_code"], ["POTHOLE"]])
    assert only_problem(parse(data[: len(data) // 2], catalog, filename="requests.xlsx")).startswith(
        "We could not read this file as an Excel workbook"
    )


def test_an_xlsx_value_beyond_the_named_columns_is_reported(catalog):
    data = xlsx([["service_code", "address", "description"], ["POTHOLE", "1 Oak St", "Hole", "stray"]])
    parsed = parse(data, catalog, filename="r.xlsx")
    assert only_problem(parsed) == "A column has values but no name in the header row, so they were not imported."
    assert parsed.problems[0].line == 1
    assert parsed.can_import
    assert parsed.rows[0].errors == {}


def test_an_empty_workbook_is_empty(catalog):
    assert only_problem(parse(xlsx([]), catalog, filename="r.xlsx")).startswith("The file is empty.")


# Importing into a batch -------------------------------------------------------------------------


def test_import_appends_every_row_after_the_existing_ones(catalog):
    liaison = factories.make_certified_liaison()
    batch = factories.make_batch(liaison, rows=[{"service_code": "POTHOLE"}, {"service_code": "POTHOLE"}])
    batch.row_count = 2
    revision = batch.revision
    parsed = parse(csv_text(GOOD, "NOPE,1 Oak St,19143,Hole,,,"), catalog)
    result = import_into_batch(liaison, batch, parsed)
    db.session.commit()
    assert (result.imported, result.with_problems, result.first_position, result.last_position) == (2, 1, 3, 4)
    rows = db.session.scalars(select(BatchRow).where(BatchRow.batch_id == batch.id).order_by(BatchRow.position)).all()
    assert [(row.position, row.source_line) for row in rows] == [(1, None), (2, None), (3, 2), (4, 3)]
    assert rows[2].values["address"] == "1200 Cedar Ave"
    assert rows[2].errors == {}
    assert set(rows[3].errors) == {"service_code"}
    stored = db.session.get(RequestBatch, batch.id)
    assert stored.row_count == 4
    assert stored.revision == revision + 1


def test_the_audit_event_counts_rows_but_holds_no_neighbor_data(catalog):
    liaison = factories.make_certified_liaison()
    batch = factories.make_batch(liaison)
    parsed = parse(csv_text("POTHOLE,1 Oak St,19143,Hole,Zebulon,yes,"), catalog)
    import_into_batch(liaison, batch, parsed)
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "batch.rows_uploaded"))
    assert event.details == {"rows": 1, "rows_with_problems": 0}
    assert "Zebulon" not in str(event.details)


def test_another_liaisons_batch_is_not_found(catalog):
    owner = factories.make_certified_liaison()
    other = factories.make_certified_liaison()
    batch = factories.make_batch(owner)
    with pytest.raises(NotFound):
        import_into_batch(other, batch, parse(csv_text(GOOD), catalog))


def test_a_submitted_batch_cannot_take_rows(catalog):
    liaison = factories.make_certified_liaison()
    batch = factories.make_batch(liaison, status=BatchStatus.SUBMITTED)
    with pytest.raises(Conflict):
        import_into_batch(liaison, batch, parse(csv_text(GOOD), catalog))


def test_a_liaison_the_filing_gate_refuses_cannot_import(catalog):
    liaison = factories.make_user()
    batch = factories.make_batch(liaison)
    with pytest.raises(NotAllowed, match="not in an active cohort|not certified"):
        import_into_batch(liaison, batch, parse(csv_text(GOOD), catalog))


def test_a_file_with_a_blocking_problem_imports_nothing(catalog):
    liaison = factories.make_certified_liaison()
    batch = factories.make_batch(liaison)
    with pytest.raises(ValidationFailed, match="5001 rows"):
        import_into_batch(liaison, batch, parse(csv_text(*[GOOD] * 5001), catalog))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BatchRow)) == 0


def test_5000_rows_parse_and_import_in_a_fixed_number_of_queries(catalog, count_queries):
    liaison = factories.make_certified_liaison()
    batch = factories.make_batch(liaison)
    lines = [f"POTHOLE,{number} Cedar Ave,19143,Pothole number {number},Ana,yes," for number in range(5000)]
    data = csv_text(*lines).encode()
    parsed = parse(data, catalog)
    with count_queries() as queries:
        import_into_batch(liaison, batch, parsed)
        db.session.flush()
    db.session.commit()
    assert parsed.rows_with_problems == 0
    assert db.session.scalar(select(func.count()).select_from(BatchRow).where(BatchRow.batch_id == batch.id)) == 5000
    # lock, gate (a few), max position, the multi-row insert (batched by the driver), the batch update, audit.
    assert len(queries) < 30, len(queries)
