"""The upload page: importing a file into a batch, its report, limits, htmx and the downloads."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from liaison.auth.models import Role
from liaison.extensions import db
from liaison.service_requests.importer import parse_upload
from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch
from liaison.service_requests.validation import load_catalog
from tests import factories
from tests.conftest import login

HEADER = "service_code,address,zipcode,description,neighbor_first_name,contact_consent,attribute:item_count"
COLOR_VALUES = [
    {"key": "blue", "name": {"en": "Blue", "es": "Azul"}},
    {"key": "green", "name": {"en": "Green", "es": "Verde"}},
]


@dataclass
class Setup:
    liaison_id: int
    batch_id: int


@pytest.fixture
def catalog_types(app):
    with app.test_request_context():
        factories.make_service_type("POTHOLE", name="Pothole")
        factories.make_service_type(
            "BULKY",
            name="Bulky item pickup",
            attributes=[
                {"code": "item_count", "datatype": "number", "required": True},
                {"code": "pickup_after", "datatype": "datetime"},
                {"code": "bin_color", "datatype": "singlevaluelist", "values": COLOR_VALUES},
                {"code": "items", "datatype": "multivaluelist", "values": COLOR_VALUES},
                {"code": "where", "datatype": "string"},
                {"code": "details", "datatype": "text"},
            ],
        )


@pytest.fixture
def certified(app, client, catalog_types) -> Setup:
    with app.test_request_context():
        liaison = factories.make_certified_liaison()
        batch = factories.make_batch(liaison, rows=[{"service_code": "POTHOLE"}])
        setup = Setup(liaison.id, batch.id)
        email = liaison.email
    assert login(client, email).status_code == 302
    return setup


def url(batch_id: int) -> str:
    return f"/requests/batches/{batch_id}/upload"


def send(client, batch_id: int, content: bytes | str, filename: str = "requests.csv", **kwargs):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        url(batch_id), data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data", **kwargs
    )


def stored_rows(app, batch_id: int) -> list[BatchRow]:
    with app.test_request_context():
        rows = db.session.scalars(
            select(BatchRow).where(BatchRow.batch_id == batch_id).order_by(BatchRow.position)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_the_upload_page_shows_the_form_the_limits_and_the_downloads(client, certified):
    response = client.get(url(certified.batch_id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'type="file"' in html
    assert 'class="usa-file-input"' in html
    assert "At most 5000 rows and 5 MB per file." in html
    assert "/requests/batches/upload-template.csv" in html
    assert "/requests/batches/upload-example.csv" in html
    assert "/requests/batches/upload-example.xlsx" in html
    assert "<progress" in html
    assert "js/upload.js" in html


def test_a_liaison_the_filing_gate_refuses_is_told_why(app, client, catalog_types, make_user):
    liaison = make_user(Role.LIAISON)
    with app.test_request_context():
        batch = factories.make_batch(db.session.get(type(liaison), liaison.id))
        batch_id = batch.id
    login(client, liaison.email)
    response = client.get(url(batch_id))
    assert response.status_code == 403
    assert "You are not in an active cohort; ask your coordinator." in response.get_data(as_text=True)


def test_a_submitted_batch_takes_no_upload(app, client, certified):
    with app.test_request_context():
        db.session.get(RequestBatch, certified.batch_id).status = BatchStatus.SUBMITTED
        db.session.commit()
    assert client.get(url(certified.batch_id)).status_code == 409
    assert send(client, certified.batch_id, f"{HEADER}\r\nPOTHOLE,1 Oak St,19143,Hole,,,\r\n").status_code == 409


def test_uploading_imports_every_row_and_reports_problems_by_file_line(app, client, certified):
    content = "\r\n".join(
        [HEADER, "POTHOLE,1200 Cedar Ave,19143,Deep pothole,,,", "BULKY,9 Elm St,191,Old sofa,Ana,no,", ""]
    )
    response = send(client, certified.batch_id, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 rows imported from requests.csv" in html
    assert "1 row has problems. Fix it on the batch page before you submit." in html
    problems = re.findall(r'<td data-label="Line">(\d+)</td>\s*<td data-label="Column">([^<]+)</td>', html)
    assert sorted(problems) == [("3", "attribute:item_count"), ("3", "contact_consent"), ("3", "zipcode")]
    assert f'href="/requests/batches/{certified.batch_id}"' in html
    assert "numbered 2 to 3" in html
    assert "Ana" not in html
    rows = stored_rows(app, certified.batch_id)
    assert [(row.position, row.source_line) for row in rows] == [(1, None), (2, 2), (3, 3)]
    assert rows[2].values["neighbor_first_name"] == "Ana"
    assert set(rows[2].errors) == {"zipcode", "contact_consent", "attribute:item_count"}
    with app.test_request_context():
        batch = db.session.get(RequestBatch, certified.batch_id)
        assert (batch.row_count, batch.revision) == (3, 1)


def test_unknown_columns_are_reported_after_an_import(client, certified):
    response = send(client, certified.batch_id, "service_code,address,description,Notes\r\nPOTHOLE,1 Oak St,Hole,x\r\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 row imported" in html
    assert "Line 1:" in html
    assert "Unknown column &#34;Notes&#34;: its values were not imported." in html


def test_a_file_that_cannot_be_read_is_refused_with_the_message_at_the_file_input(app, client, certified):
    content = f"{HEADER}\r\nPOTHOLE,12 Peña St,19143,Bache,,,\r\n".encode("latin-1")
    response = send(client, certified.batch_id, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<span class="usa-error-message" id="file-error" role="alert">(.*?)</span>', html, re.S)
    assert "Line 2 has characters we cannot read" in error.group(1)
    assert 'aria-describedby="file-hint file-error"' in html
    assert "Nothing was imported." in html
    assert len(stored_rows(app, certified.batch_id)) == 1


def test_over_the_row_limit_nothing_is_imported(app, client, certified):
    app.config["BULK_MAX_ROWS"] = 2
    content = "\r\n".join([HEADER] + ["POTHOLE,1 Oak St,19143,Hole,,,"] * 3)
    response = send(client, certified.batch_id, content)
    assert response.status_code == 422
    assert "The file has 3 rows; at most 2 can be uploaded at once." in response.get_data(as_text=True)
    assert len(stored_rows(app, certified.batch_id)) == 1


def test_no_file_chosen_is_a_422_next_to_the_input(client, certified):
    response = client.post(url(certified.batch_id), data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the file to upload." in response.get_data(as_text=True)


def test_htmx_gets_the_section_fragment_for_a_refusal_and_for_a_report(client, certified):
    refused = send(client, certified.batch_id, b"", headers={"HX-Request": "true"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="upload-section">')
    assert "The file is empty." in html
    assert 'id="upload-file-control" hx-preserve="true"' in html

    done = send(
        client, certified.batch_id, f"{HEADER}\r\nPOTHOLE,1 Oak St,19143,Hole,,,\r\n", headers={"HX-Request": "true"}
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "<html" not in html
    assert "1 row imported from requests.csv" in html
    assert 'type="file"' not in html  # the report replaces the form: the same file is not sent twice
    assert "HX-Request" in done.headers.get("Vary", "")


def test_a_request_over_the_size_limit_gets_the_upload_page_with_413(app, client, certified):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = send(client, certified.batch_id, "x" * 5000)
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is larger than 5 MB." in html
    assert 'type="file"' in html
    assert len(stored_rows(app, certified.batch_id)) == 1


def test_the_upload_refuses_a_missing_csrf_token_and_imports_nothing(app, client, certified):
    app.config["WTF_CSRF_ENABLED"] = True
    response = send(client, certified.batch_id, f"{HEADER}\r\nPOTHOLE,1 Oak St,19143,Hole,,,\r\n")
    assert response.status_code == 422
    assert "Your session expired. Check the form and send it again." in response.get_data(as_text=True)
    assert len(stored_rows(app, certified.batch_id)) == 1


# Downloads ------------------------------------------------------------------------------------


def test_the_template_has_every_column_and_reads_back_without_header_problems(app, client, certified):
    response = client.get("/requests/batches/upload-template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    header = body.decode("utf-8-sig").strip()
    assert header.startswith("service_code,address,zipcode,lat,long,description,neighbor_first_name")
    assert header.endswith(
        "attribute:item_count,attribute:pickup_after,attribute:bin_color,attribute:items,"
        "attribute:where,attribute:details"
    )
    with app.test_request_context():
        catalog = load_catalog()
        filled = body + b"POTHOLE,1 Oak St,19143,,,Hole" + b"," * (header.count(",") - 5) + b"\r\n"
        parsed = parse_upload("template.csv", filled, catalog=catalog, max_rows=10, max_bytes=10_000)
    assert parsed.problems == []
    assert [row.errors for row in parsed.rows] == [{}]


@pytest.mark.parametrize(("path", "filename"), [("upload-example.csv", "e.csv"), ("upload-example.xlsx", "e.xlsx")])
def test_the_examples_read_back_with_no_problems_at_all(app, client, certified, path, filename):
    response = client.get(f"/requests/batches/{path}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    with app.test_request_context():
        parsed = parse_upload(filename, response.get_data(), catalog=load_catalog(), max_rows=10, max_bytes=1_000_000)
    assert parsed.problems == []
    assert parsed.total == 2
    assert [row.errors for row in parsed.rows] == [{}, {}]
    bulky = parsed.rows[1].values
    assert bulky["service_code"] == "BULKY"
    assert bulky["attributes"]["bin_color"] == "blue"
    assert bulky["attributes"]["items"] == "blue;green"


def test_coordinators_may_download_the_example_but_not_upload(app, client, catalog_types, make_user):
    coordinator = make_user(Role.COORDINATOR)
    login(client, coordinator.email)
    assert client.get("/requests/batches/upload-example.csv").status_code == 200
    with app.test_request_context():
        liaison = factories.make_certified_liaison()
        batch_id = factories.make_batch(liaison).id
    assert client.get(url(batch_id)).status_code == 403


def test_the_upload_page_and_report_run_a_fixed_number_of_queries(app, client, certified, count_queries):
    small = "\r\n".join([HEADER] + ["POTHOLE,1 Oak St,19143,Hole,,,"] * 2)
    large = "\r\n".join([HEADER] + ["POTHOLE,1 Oak St,19143,Hole,,,"] * 300 + ["NOPE,1 Oak St,19143,Hole,,,"] * 300)
    assert send(client, certified.batch_id, small).status_code == 200  # the session's first touch writes once
    with count_queries() as few:
        assert send(client, certified.batch_id, small).status_code == 200
    with count_queries() as many:
        assert send(client, certified.batch_id, large).status_code == 200
    assert len(many) == len(few)
    with app.test_request_context():
        count = db.session.scalar(
            select(func.count()).select_from(BatchRow).where(BatchRow.batch_id == certified.batch_id)
        )
    assert count == 1 + 2 + 2 + 600
