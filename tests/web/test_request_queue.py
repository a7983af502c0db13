"""Coordinators triage requests: filters, bulk status changes, one request, review flag, exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import RequestEvent, RequestState, ServiceRequest, ServiceType
from tests import factories

QUEUE = "/coordinator/requests/"
HTMX = {"HX-Request": "true"}
NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


@pytest.fixture
def setup(app):
    with app.test_request_context():
        liaison = factories.make_liaison(full_name="Lia Ison")
        other = factories.make_liaison(full_name="Otto Ther")
        pothole = factories.make_service_type("SR-ST01", name="Street Defect")
        light = factories.make_service_type("SR-ST04", name="Street Light Outage")
        return {"liaison": liaison.id, "other": other.id, "pothole": pothole.id, "light": light.id}


def file_request(app, liaison_id: int, service_type_id: int, **fields) -> int:
    with app.test_request_context():
        liaison = db.session.get(User, liaison_id)
        service_type = db.session.get(ServiceType, service_type_id)
        return factories.make_service_request(liaison, service_type, **fields).id


def text(response) -> str:
    return response.get_data(as_text=True)


def listed(html: str) -> list[int]:
    return [
        int(number) for number in re.findall(r'<a href="/coordinator/requests/(\d+)">#\d+</a>\s*(?:<span|</th>)', html)
    ]


def state_of(app, request_id: int) -> RequestState:
    with app.test_request_context():
        return db.session.get(ServiceRequest, request_id).state


def test_the_queue_lists_every_request_newest_first(app, client, login_as, setup):
    login_as("coordinator")
    old = file_request(app, setup["liaison"], setup["pothole"], requested_at=utcnow() - timedelta(days=1))
    new = file_request(app, setup["other"], setup["light"])

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert listed(text(response)) == [new, old]
    assert "Lia Ison" in text(response)
    assert "Otto Ther" in text(response)


def test_filters_narrow_the_queue(app, client, login_as, setup):
    login_as("coordinator")
    light = file_request(app, setup["liaison"], setup["light"], neighborhood="Mill Creek")
    flagged = file_request(app, setup["other"], setup["pothole"], needs_review=True)
    closed = file_request(app, setup["other"], setup["pothole"], state=RequestState.CLOSED)

    assert listed(text(client.get(QUEUE + f"?service_type={setup['light']}"))) == [light]
    assert listed(text(client.get(QUEUE + "?neighborhood=Mill+Creek"))) == [light]
    assert listed(text(client.get(QUEUE + f"?liaison={setup['other']}"))) == [closed, flagged]
    assert listed(text(client.get(QUEUE + "?liaison=otto"))) == [closed, flagged]
    assert listed(text(client.get(QUEUE + "?liaison=100%25"))) == []  # LIKE wildcards are taken literally
    assert listed(text(client.get(QUEUE + "?review=yes"))) == [flagged]
    assert listed(text(client.get(QUEUE + "?state=closed"))) == [closed]
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    assert listed(text(client.get(QUEUE + f"?requested_from={tomorrow}"))) == []


def test_a_search_with_a_percent_sign_is_taken_literally(app, client, login_as, setup):
    login_as("coordinator")
    percent = file_request(app, setup["liaison"], setup["pothole"], description="Sidewalk 50% broken")
    file_request(app, setup["liaison"], setup["pothole"], description="Sidewalk 50 broken")

    assert listed(text(client.get(QUEUE + "?q=50%25"))) == [percent]


def test_the_search_answers_htmx_with_the_results_fragment(app, client, login_as, setup):
    login_as("coordinator")
    cedar = file_request(app, setup["liaison"], setup["pothole"], address="1200 Cedar Ave")
    file_request(app, setup["liaison"], setup["pothole"], address="9 Oak St")

    response = client.get(QUEUE + "?q=cedar", headers=HTMX)

    assert response.status_code == 200
    assert "<html" not in text(response)
    assert text(response).lstrip().startswith('<div id="request-results"')
    assert listed(text(response)) == [cedar]


def test_a_bad_date_range_is_a_422_with_the_message(app, client, login_as):
    login_as("coordinator")

    response = client.get(QUEUE + "?requested_from=2025-05-10&requested_to=2025-05-01")

    assert response.status_code == 422
    assert "Choose a date on or after the first date." in text(response)


def test_the_queue_takes_the_same_number_of_queries_for_5_or_60_requests(app, client, login_as, setup, count_queries):
    login_as("coordinator")
    counts = []
    made = 0
    for total in (5, 60):
        with app.test_request_context():
            now = utcnow()
            db.session.add_all(
                ServiceRequest(
                    public_token=f"token-{n}",
                    liaison_id=setup["liaison"] if n % 2 else setup["other"],
                    service_type_id=setup["pothole"] if n % 3 else setup["light"],
                    address=f"{n} Cedar Ave",
                    requested_at=now - timedelta(minutes=n),
                    updated_at=now,
                )
                for n in range(made, total)
            )
            db.session.commit()
        made = total
        client.get(QUEUE)  # the session's first touch is a write of its own
        with count_queries() as queries:
            response = client.get(QUEUE)
        assert response.status_code == 200
        counts.append(len(queries))
    # Session, user, page (with services and liaisons joined), total, service, neighborhood and liaison menus.
    assert counts[0] == counts[1] <= 7, counts


def test_select_all_on_this_page_works_without_javascript(app, client, login_as, setup):
    login_as("coordinator")
    first = file_request(app, setup["liaison"], setup["pothole"])
    second = file_request(app, setup["liaison"], setup["pothole"])

    plain = text(client.get(QUEUE))
    selected = text(client.get(QUEUE + "?select=page"))

    assert 'data-select-all="bulk-form"' in plain
    assert " checked" not in re.sub(r'type="checkbox" name="include_contact"[^>]*>', "", plain)
    for request_id in (first, second):
        assert re.search(rf'value="{request_id}" form="bulk-form" checked', selected)


def test_a_bulk_change_moves_the_requests_and_the_liaison_sees_it(app, client, login_as, setup):
    login_as("coordinator")
    first = file_request(app, setup["liaison"], setup["pothole"])
    second = file_request(app, setup["other"], setup["pothole"])

    response = client.post(
        QUEUE + "bulk?state=open",
        data={"request_ids": [first, second], "to_state": "in_progress", "note": "Crew on the way", "action": "status"},
    )

    assert response.status_code == 303
    assert response.location == QUEUE + "?state=open"
    assert state_of(app, first) is RequestState.IN_PROGRESS
    assert state_of(app, second) is RequestState.IN_PROGRESS
    assert "2 requests moved to “In progress”." in text(client.get(response.location))
    with app.test_request_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "requests.status_changed")
            )
            == 1
        )
    # The filing liaison sees the change and the note in the request's history.
    client.post("/logout")
    with app.test_request_context():
        email = db.session.get(User, setup["liaison"]).email
    client.post("/login", data={"email": email, "password": factories.PASSWORD})
    page = text(client.get(f"/requests/{first}"))
    assert "Crew on the way" in page
    assert "In progress" in page


def test_a_bulk_change_with_htmx_is_followed_to_the_fresh_results(app, client, login_as, setup):
    login_as("coordinator")
    first = file_request(app, setup["liaison"], setup["pothole"])

    response = client.post(
        QUEUE + "bulk",
        data={"request_ids": [first], "to_state": "forwarded", "action": "status"},
        headers=HTMX,
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert text(response).lstrip().startswith('<div id="request-results"')
    assert "1 request moved to “Forwarded to 311”." in text(response)
    assert state_of(app, first) is RequestState.FORWARDED


def test_an_invalid_transition_is_a_422_naming_the_rows_and_changes_nothing(app, client, login_as, setup):
    login_as("coordinator")
    fine = file_request(app, setup["liaison"], setup["pothole"])
    closed = file_request(app, setup["liaison"], setup["pothole"], state=RequestState.CLOSED)

    full = client.post(
        QUEUE + "bulk", data={"request_ids": [fine, closed], "to_state": "in_progress", "note": "Typed note"}
    )
    fragment = client.post(
        QUEUE + "bulk", data={"request_ids": [fine, closed], "to_state": "in_progress"}, headers=HTMX
    )

    assert full.status_code == 422
    assert f"#{closed}: Closed" in text(full)
    assert "Typed note" in text(full)  # what was typed comes back
    assert re.search(rf'value="{fine}" form="bulk-form" checked', text(full))
    assert fragment.status_code == 422
    assert fragment.headers["HX-Retarget"] == "#bulk-form"
    assert text(fragment).lstrip().startswith('<form id="bulk-form"')
    assert f"#{closed}" in text(fragment)
    assert state_of(app, fine) is RequestState.SUBMITTED


def test_a_bulk_change_without_a_selection_or_a_status_is_a_422(app, client, login_as, setup):
    login_as("coordinator")
    file_request(app, setup["liaison"], setup["pothole"])

    nothing = client.post(QUEUE + "bulk", data={"to_state": "closed"})
    no_state = client.post(QUEUE + "bulk", data={"request_ids": ["1"]})

    assert nothing.status_code == 422
    assert "Select at least one request first." in text(nothing)
    assert no_state.status_code == 422
    assert "Choose the new status." in text(no_state)


def test_clearing_the_review_flag_in_bulk(app, client, login_as, setup):
    login_as("coordinator")
    flagged = file_request(app, setup["liaison"], setup["pothole"], needs_review=True)

    response = client.post(QUEUE + "bulk", data={"request_ids": [flagged], "action": "clear_review"})

    assert response.status_code == 303
    with app.test_request_context():
        assert db.session.get(ServiceRequest, flagged).needs_review is False
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "requests.review_cleared"))


def test_the_bulk_form_needs_the_csrf_token_and_keeps_what_was_typed(app, client, login_as, setup):
    login_as("coordinator")
    first = file_request(app, setup["liaison"], setup["pothole"])
    app.config["WTF_CSRF_ENABLED"] = True

    response = client.post(
        QUEUE + "bulk", data={"request_ids": [first], "to_state": "closed", "note": "Kept note", "csrf_token": "stale"}
    )

    assert response.status_code == 422
    assert "Your session expired" in text(response)
    assert "Kept note" in text(response)
    assert state_of(app, first) is RequestState.SUBMITTED


def test_the_request_page_shows_contact_history_and_a_status_form(app, client, login_as, setup):
    login_as("coordinator")
    request_id = file_request(app, setup["liaison"], setup["pothole"], needs_review=True, **NEIGHBOR)

    response = client.get(QUEUE + str(request_id))

    html = text(response)
    assert response.status_code == 200
    for shown in ("Rosalind", "215-555-0199", "rosalind.qb@example.org", "Lia Ison", "Filed", "Mark as reviewed"):
        assert shown in html
    assert '<option value="forwarded">' in html
    assert '<option value="submitted">' not in html
    assert response.headers["Cache-Control"] == "no-store"


def test_one_status_change_from_the_request_page(app, client, login_as, setup):
    login_as("coordinator")
    request_id = file_request(app, setup["liaison"], setup["pothole"])

    response = client.post(QUEUE + f"{request_id}/status", data={"to_state": "rejected", "note": "Private property"})

    assert response.status_code == 303
    page = text(client.get(response.location))
    assert "is now “Rejected”" in page
    assert "Private property" in page
    with app.test_request_context():
        stored = db.session.get(ServiceRequest, request_id)
        assert stored.closed_at is not None
        assert (
            db.session.scalar(
                select(func.count()).select_from(RequestEvent).where(RequestEvent.request_id == request_id)
            )
            == 2
        )


def test_a_closed_request_cannot_change_and_says_so(app, client, login_as, setup):
    login_as("coordinator")
    request_id = file_request(app, setup["liaison"], setup["pothole"], state=RequestState.CLOSED)

    page = client.get(QUEUE + str(request_id))
    response = client.post(QUEUE + f"{request_id}/status", data={"to_state": "in_progress", "note": "Try"})

    assert "its status no longer changes" in text(page)
    assert response.status_code == 422
    assert "cannot move to “In progress”" in text(response)


def test_clearing_the_review_flag_from_the_request_page(app, client, login_as, setup):
    login_as("coordinator")
    request_id = file_request(app, setup["liaison"], setup["pothole"], needs_review=True)

    response = client.post(QUEUE + f"{request_id}/review")
    again = client.post(QUEUE + f"{request_id}/review")

    assert response.status_code == 303
    assert again.status_code == 422


def _export(client, data, query=""):
    return client.post(QUEUE + "export" + query, data=data)


def test_the_csv_export_has_the_filtered_rows_and_no_contact_unless_asked(app, client, login_as, setup):
    login_as("coordinator")
    file_request(app, setup["liaison"], setup["pothole"], description="=cmd|' /C calc'!A0", **NEIGHBOR)
    file_request(app, setup["liaison"], setup["light"], **NEIGHBOR)

    response = _export(client, {"format": "csv"}, f"?service_type={setup['pothole']}")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert "Rosalind" not in response.data.decode()
    assert "555-0199" not in response.data.decode()
    assert "'=cmd|' /C calc'!A0" in rows[1]
    with app.test_request_context():
        assert not db.session.scalar(select(AuditEvent).where(AuditEvent.action == "requests.exported_personal_data"))


def test_an_xlsx_export_with_contact_details_is_audited(app, client, login_as, setup):
    login_as("coordinator")
    file_request(app, setup["liaison"], setup["pothole"], **NEIGHBOR)

    response = _export(client, {"format": "xlsx", "include_contact": "y"}, "?state=open")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "Rosalind" in values
    assert "rosalind.qb@example.org" in values
    with app.test_request_context():
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "requests.exported_personal_data"))
        assert audit.details == {"filters": {"state": "open"}, "count": 1}


def test_an_export_without_a_format_is_a_422_on_the_queue(app, client, login_as, setup):
    login_as("coordinator")

    response = _export(client, {})

    assert response.status_code == 422
    assert "Choose CSV or Excel." in text(response)


def test_liaisons_cannot_open_the_queue_or_change_statuses(app, client, login_as, setup):
    login_as("liaison")
    request_id = file_request(app, setup["liaison"], setup["pothole"])

    assert client.get(QUEUE).status_code == 403
    assert client.post(QUEUE + "bulk", data={"request_ids": [request_id], "to_state": "closed"}).status_code == 403
    assert client.get(QUEUE + str(request_id)).status_code == 403
    assert state_of(app, request_id) is RequestState.SUBMITTED


def test_the_liaison_filter_is_a_text_box_so_thousands_of_liaisons_do_not_bloat_the_page(app, client, login_as, setup):
    login_as("coordinator")

    page = text(client.get(QUEUE))

    assert 'name="liaison"' in page
    assert "Otto Ther</option>" not in page
    assert "Part of a name or email, or a liaison's number." in page
