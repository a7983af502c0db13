"""A liaison follows their requests: the list with search and filters, one request, the receipt."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
from sqlalchemy import select

from liaison.audit import AuditEvent
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests import tracking
from liaison.service_requests.models import RequestState, ServiceRequest
from tests import factories

HTMX = {"HX-Request": "true"}
NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


@pytest.fixture
def service_type_id(app):
    with app.test_request_context():
        return factories.make_service_type("SR-ST01", name="Street Defect").id


def file_request(app, liaison_id: int, service_type_id: int, **fields) -> int:
    from liaison.auth.models import User
    from liaison.service_requests.models import ServiceType

    with app.test_request_context():
        liaison = db.session.get(User, liaison_id)
        service_type = db.session.get(ServiceType, service_type_id)
        return factories.make_service_request(liaison, service_type, **fields).id


def text(response) -> str:
    return response.get_data(as_text=True)


def listed(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'<a href="/requests/(\d+)">#', html)]


def test_a_liaison_sees_their_own_requests_newest_first_and_not_others(app, client, login_as, service_type_id):
    me = login_as("liaison")
    other = factories_user(app)
    old = file_request(app, me.id, service_type_id, requested_at=utcnow() - timedelta(days=2))
    new = file_request(app, me.id, service_type_id, address="77 Walnut St")
    theirs = file_request(app, other, service_type_id)

    response = client.get("/requests/")

    assert response.status_code == 200
    assert listed(text(response)) == [new, old]
    assert theirs not in listed(text(response))
    assert "77 Walnut St" in text(response)
    assert response.headers["Cache-Control"] == "no-store"


def factories_user(app) -> int:
    with app.test_request_context():
        return factories.make_liaison().id


def test_search_is_active_and_answers_htmx_with_the_results_only(app, client, login_as, service_type_id):
    me = login_as("liaison")
    cedar = file_request(app, me.id, service_type_id, address="1200 Cedar Ave")
    file_request(app, me.id, service_type_id, address="5 Oak St")

    full = client.get("/requests/?q=cedar")
    fragment = client.get("/requests/?q=cedar", headers=HTMX)

    assert listed(text(full)) == [cedar]
    assert "<html" in text(full)
    assert 'hx-get="/requests/"' in text(full)
    assert listed(text(fragment)) == [cedar]
    assert "<html" not in text(fragment)
    assert text(fragment).lstrip().startswith('<div id="request-results"')
    assert "HX-Request" in fragment.headers["Vary"]


def test_search_by_request_number_and_filters_by_state(app, client, login_as, service_type_id):
    me = login_as("liaison")
    first = file_request(app, me.id, service_type_id)
    closed = file_request(app, me.id, service_type_id, state=RequestState.CLOSED)

    assert listed(text(client.get(f"/requests/?q=%23{first}"))) == [first]
    assert listed(text(client.get("/requests/?state=closed"))) == [closed]
    assert listed(text(client.get("/requests/?state=open"))) == [first]


def test_a_too_long_search_is_refused_with_a_message(app, client, login_as):
    login_as("liaison")

    response = client.get("/requests/?q=" + "x" * 200, headers=HTMX)

    assert response.status_code == 422
    assert 'role="alert"' in text(response)


def test_the_list_takes_the_same_number_of_queries_for_5_or_60_requests(
    app, client, login_as, service_type_id, count_queries
):
    me = login_as("liaison")
    counts = []
    made = 0
    for total in (5, 60):
        with app.test_request_context():
            now = utcnow()
            db.session.add_all(
                ServiceRequest(
                    public_token=f"token-{n}",
                    liaison_id=me.id,
                    service_type_id=service_type_id,
                    address=f"{n} Cedar Ave",
                    requested_at=now - timedelta(minutes=n),
                    updated_at=now,
                )
                for n in range(made, total)
            )
            db.session.commit()
        made = total
        client.get("/requests/")  # the session's first touch is a write of its own
        with count_queries() as queries:
            response = client.get("/requests/")
        assert response.status_code == 200
        counts.append(len(queries))
    # Session, user, page, total, batches, batch counts, service types.
    assert counts[0] == counts[1] <= 7, counts


def test_a_coordinator_uses_the_queue_not_my_requests(client, login_as):
    login_as("coordinator")

    assert client.get("/requests/").status_code == 403


def test_the_request_page_shows_everything_with_the_history(app, client, login_as, service_type_id):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id, needs_review=True, external_id="311-4455", **NEIGHBOR)
    with app.test_request_context():
        coordinator = factories.make_coordinator(full_name="Cora Ordinator")
        tracking.change_status(coordinator, [request_id], "forwarded", "Sent to Streets department")
        db.session.commit()

    response = client.get(f"/requests/{request_id}")

    html = text(response)
    assert response.status_code == 200
    for shown in ("Street Defect", "1200 Cedar Ave", "19143", "Pothole in front of the school", "311-4455"):
        assert shown in html
    for contact in ("Rosalind", "Quintanilla-Brooks", "215-555-0199", "rosalind.qb@example.org"):
        assert contact in html
    assert "Flagged for review" in html
    assert "Sent to Streets department" in html
    assert "Cora Ordinator" in html
    assert "Forwarded to 311" in html
    assert f"/requests/{request_id}/receipt.pdf" in html
    assert "Email the receipt to the neighbor" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_a_liaison_gets_404_for_another_liaisons_request_receipt_and_email(app, client, login_as, service_type_id):
    login_as("liaison")
    theirs = file_request(app, factories_user(app), service_type_id, **NEIGHBOR)

    assert client.get(f"/requests/{theirs}").status_code == 404
    assert client.get(f"/requests/{theirs}/receipt.pdf").status_code == 404
    assert client.post(f"/requests/{theirs}/receipt/email").status_code == 404


def test_the_receipt_pdf_has_the_number_and_the_status_link(app, client, login_as, service_type_id):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id, **NEIGHBOR)

    response = client.get(f"/requests/{request_id}/receipt.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    pdf_text = re.sub(r"\s+", "", " ".join(page.extract_text() for page in reader.pages))
    with app.test_request_context():
        token = db.session.get(ServiceRequest, request_id).public_token
    assert f"#{request_id}" in pdf_text
    assert f"http://localhost/status/{token}" in pdf_text
    assert "215-555-0199" not in pdf_text


def test_a_coordinator_can_print_any_receipt(app, client, login_as, service_type_id):
    login_as("coordinator")
    request_id = file_request(app, factories_user(app), service_type_id)

    assert client.get(f"/requests/{request_id}/receipt.pdf").status_code == 200


def test_emailing_the_receipt_sends_it_and_records_it_without_the_address(
    app, client, login_as, service_type_id, outbox
):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id, **NEIGHBOR)

    response = client.post(f"/requests/{request_id}/receipt/email")

    assert response.status_code == 303
    [message] = outbox()
    assert message["To"] == "rosalind.qb@example.org"
    assert f"#{request_id}" in message["Subject"]
    with app.test_request_context():
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.receipt_emailed"))
        assert "rosalind" not in str(audit.details).lower()
    page = text(client.get(f"/requests/{request_id}"))
    assert "Receipt emailed to the neighbor" in page


def test_emailing_without_consent_is_refused_and_sends_nothing(app, client, login_as, service_type_id, outbox):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id, **{**NEIGHBOR, "contact_consent": False})

    page = client.get(f"/requests/{request_id}")
    response = client.post(f"/requests/{request_id}/receipt/email")

    assert "Email the receipt to the neighbor" not in text(page)
    assert response.status_code == 422
    assert "did not agree to be contacted" in text(response)
    assert outbox() == []


def test_emailing_the_receipt_needs_the_csrf_token(app, client, login_as, service_type_id, outbox):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id, **NEIGHBOR)
    app.config["WTF_CSRF_ENABLED"] = True

    response = client.post(f"/requests/{request_id}/receipt/email", data={"csrf_token": "stale"})

    assert response.status_code == 422
    assert "Your session expired" in text(response)
    assert outbox() == []


def test_my_requests_is_in_the_liaisons_navigation(client, login_as):
    login_as("liaison")

    html = text(client.get("/requests/"))

    assert re.search(
        r'<a href="/requests/" class="liaison-nav__link is-current" aria-current="page">My requests</a>', html
    )


def test_the_batches_box_lists_drafts_and_submitted_batches_with_links(app, client, login_as):
    from liaison.auth.models import User
    from liaison.service_requests.models import BatchStatus

    me = login_as("liaison")
    with app.test_request_context():
        liaison = db.session.get(User, me.id)
        draft = factories.make_batch(liaison, title="Cedar Park civic meeting, March", rows=[{"address": "1 Main St"}])
        sent = factories.make_batch(liaison, title="Block club, February", status=BatchStatus.SUBMITTED)
        draft_id, sent_id = draft.id, sent.id

    html = text(client.get("/requests/"))

    assert "1 draft" in html
    assert "1 submitted" in html
    assert f'<a href="/requests/batches/{draft_id}">Cedar Park civic meeting, March</a>' in html
    assert f'<a href="/requests/batches/{sent_id}">Block club, February</a>' in html
    assert 'href="/requests/batches/"' in html
    assert f'<option value="{draft_id}">#{draft_id} Cedar Park civic meeting, March</option>' in html
