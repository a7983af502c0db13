"""Printable paper over HTTP: the intake sheet of a batch and the meeting packet page and PDF."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest

from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import BatchStatus, RequestState, ServiceType
from tests import factories
from tests.conftest import login

NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def service_type_id(app):
    with app.app_context():
        return factories.make_service_type("SR-ST01", name="Street Defect").id


@pytest.fixture
def liaison(app, client, service_type_id):
    with app.app_context():
        user = factories.make_certified_liaison(neighborhood="Cedar Park", full_name="Lena Liaison")
        user_id, email = user.id, user.email
    assert login(client, email).status_code == 302
    return user_id


def make_batch(app, liaison_id, rows=(), **kwargs) -> int:
    with app.app_context():
        return factories.make_batch(db.session.get(User, liaison_id), rows=rows, **kwargs).id


def file_request(app, liaison_id, service_type_id, **fields) -> int:
    with app.app_context():
        user = db.session.get(User, liaison_id) if liaison_id else None
        return factories.make_service_request(user, db.session.get(ServiceType, service_type_id), **fields).id


# Intake sheet -----------------------------------------------------------------------------------


def test_the_batch_page_offers_the_intake_sheet_with_rows_and_language(app, client, liaison):
    batch_id = make_batch(app, liaison)

    page = text(client.get(f"/requests/batches/{batch_id}"))

    assert "Print intake sheet" in page
    assert f'action="/requests/batches/{batch_id}/intake-sheet.pdf"' in page
    assert 'name="rows"' in page
    assert 'name="language"' in page


def test_a_liaison_downloads_the_intake_sheet_of_their_batch_with_numbered_rows(app, client, liaison):
    batch_id = make_batch(app, liaison, rows=[{"service_code": "SR-ST01"}] * 2, title="Walnut Hill meeting")

    response = client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf?rows=6")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert f"batch-{batch_id}-intake-sheet.pdf" in response.headers["Content-Disposition"]
    content = pdf_text(response.data)
    assert "Walnut Hill meeting" in content
    assert f"http://localhost/requests/batches/{batch_id}" in re.sub(r"\s+", "", content)
    assert "SR-ST01 Street Defect" in content
    printed = " ".join(re.findall(r"OK to contact((?: \d+(?![\d.]))+)", content)).split()
    assert printed == ["3", "4", "5", "6", "7", "8"]


def test_the_intake_sheet_is_printed_in_the_language_asked_for(app, client, liaison):
    with app.app_context():
        code = factories.make_service_type().code  # named "Test service N" / "Servicio de prueba N"
    batch_id = make_batch(app, liaison)

    english = client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf?language=en")
    spanish = client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf?language=es")

    assert f"{code} Test service" in pdf_text(english.data)
    assert "Servicio de prueba" not in pdf_text(english.data)
    assert f"{code} Servicio de prueba" in pdf_text(spanish.data)
    assert str(pypdf.PdfReader(io.BytesIO(spanish.data)).trailer["/Root"]["/Lang"]).startswith("es")


def test_another_liaisons_batch_has_no_intake_sheet(app, client, liaison):
    with app.app_context():
        other = factories.make_certified_liaison()
        theirs = factories.make_batch(other).id

    assert client.get(f"/requests/batches/{theirs}/intake-sheet.pdf").status_code == 404
    assert client.get("/requests/batches/999999/intake-sheet.pdf").status_code == 404


def test_a_submitted_batch_has_nothing_left_to_write_down(app, client, liaison):
    batch_id = make_batch(app, liaison, status=BatchStatus.SUBMITTED)

    response = client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf")

    assert response.status_code == 409
    assert "nothing left to write down" in text(response)


@pytest.mark.parametrize("query", ["rows=4", "rows=41", "rows=many", "language=fr"])
def test_bad_intake_sheet_options_get_a_plain_message(app, client, liaison, query):
    batch_id = make_batch(app, liaison)

    response = client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf?{query}")

    assert response.status_code == 422
    assert "Choose between 5 and 40 rows." in text(response) or "Choose English or Spanish." in text(response)


def test_coordinators_do_not_print_intake_sheets(app, client, login_as):
    with app.app_context():
        batch_id = factories.make_batch(factories.make_certified_liaison()).id
    login_as("coordinator")

    assert client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf").status_code == 403


def test_the_intake_sheet_takes_a_fixed_number_of_queries(app, client, liaison, count_queries):
    small = make_batch(app, liaison, rows=[{"service_code": "SR-ST01"}])
    large = make_batch(app, liaison, rows=[{"service_code": "SR-ST01"}] * 200)

    counts = []
    for batch_id in (small, large):
        with count_queries() as queries:
            assert client.get(f"/requests/batches/{batch_id}/intake-sheet.pdf").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]


# Meeting packet ---------------------------------------------------------------------------------


def test_my_requests_links_to_the_meeting_packet(app, client, liaison):
    assert 'href="/requests/meeting-packet"' in text(client.get("/requests/"))


def test_the_packet_page_offers_the_liaisons_areas_periods_and_languages(app, client, liaison, service_type_id):
    file_request(app, liaison, service_type_id, neighborhood="Walnut Hill")
    file_request(app, None, service_type_id, neighborhood="Kingsessing")

    response = client.get("/requests/meeting-packet")

    page = text(response)
    assert response.status_code == 200
    assert 'action="/requests/meeting-packet.pdf"' in page
    assert '<option selected value="Cedar Park">' in page
    assert 'value="Walnut Hill"' in page
    assert "Kingsessing" not in page
    assert '<option selected value="90">' in page
    assert 'value="es"' in page


def test_a_liaison_downloads_the_packet_of_their_area_without_anyones_personal_data(
    app, client, liaison, service_type_id
):
    with app.app_context():
        other_id = factories.make_certified_liaison(full_name="Octavia Otherliaison").id
    now = utcnow()
    file_request(app, other_id, service_type_id, address="1234 Cedar Ave", **NEIGHBOR)
    file_request(app, liaison, service_type_id, state=RequestState.IN_PROGRESS, **NEIGHBOR)
    file_request(
        app,
        liaison,
        service_type_id,
        state=RequestState.CLOSED,
        requested_at=now - timedelta(days=10),
        closed_at=now - timedelta(days=4),
    )
    file_request(app, other_id, service_type_id, requested_at=now - timedelta(days=45))

    response = client.get("/requests/meeting-packet.pdf?neighborhood=Cedar+Park&period=90&language=en")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    content = pdf_text(response.data)
    assert "Meeting packet: Cedar Park" in content
    assert "Street Defect SR-ST01 4 3 1 0 6" in content  # filed, open, closed, rejected, median days
    assert "1200 block of Cedar Ave" in content
    for private in ("Rosalind", "Quintanilla", "215-555-0199", "rosalind.qb", "Octavia", "Lena Liaison", "1234"):
        assert private not in content


def test_the_packet_defaults_to_the_cohort_area_and_the_last_90_days(app, client, liaison, service_type_id):
    file_request(app, liaison, service_type_id)

    response = client.get("/requests/meeting-packet.pdf")

    assert response.status_code == 200
    assert "in the last 90 days" in pdf_text(response.data)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=60&neighborhood=Cedar+Park", "Choose the last 30 or the last 90 days."),
        ("period=30&neighborhood=Kingsessing", "Choose a neighborhood from the list."),
        ("period=30&neighborhood=Cedar+Park&language=fr", "Choose English or Spanish."),
    ],
)
def test_bad_packet_options_come_back_on_the_page_with_a_message_and_what_was_chosen(
    app, client, liaison, service_type_id, query, message
):
    file_request(app, liaison, service_type_id, neighborhood="Walnut Hill")

    response = client.get(f"/requests/meeting-packet.pdf?{query}")

    page = text(response)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert message in page
    assert 'aria-invalid="true"' in page
    assert "usa-error-message" in page
    if "period=30" in query and "language" in query:
        assert '<option selected value="30">' in page


def test_a_liaison_with_no_area_is_told_why_there_is_no_packet(app, client, login_as):
    login_as("liaison")

    page = client.get("/requests/meeting-packet")
    refused = client.get("/requests/meeting-packet.pdf")

    assert page.status_code == 200
    assert "no area to report on yet" in text(page)
    assert "Download the packet" not in text(page)
    assert refused.status_code == 422
    assert "no area to report on yet" in text(refused)


def test_coordinators_do_not_make_meeting_packets(client, login_as):
    login_as("coordinator")

    assert client.get("/requests/meeting-packet").status_code == 403
    assert client.get("/requests/meeting-packet.pdf").status_code == 403


def test_the_packet_takes_a_fixed_number_of_queries(app, client, liaison, service_type_id, count_queries):
    file_request(app, liaison, service_type_id)
    with count_queries() as few:
        assert client.get("/requests/meeting-packet.pdf").status_code == 200
    for days in range(40):
        file_request(
            app, None, service_type_id, requested_at=utcnow() - timedelta(days=days), address=f"{days}00 Pine St"
        )
    with count_queries() as many:
        assert client.get("/requests/meeting-packet.pdf").status_code == 200

    assert len(few) == len(many)
