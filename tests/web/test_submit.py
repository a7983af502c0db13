"""A liaison reviews a batch's possible duplicates, keeps or drops them, and submits it once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.extensions import db
from liaison.service_requests.models import (
    BatchRow,
    BatchStatus,
    DuplicateDecision,
    RequestBatch,
    ServiceRequest,
)
from tests import factories
from tests.conftest import login

HTMX = {"HX-Request": "true"}


def row(address: str = "1200 Cedar Ave", **extra: str) -> dict[str, str]:
    values = {"service_code": "SR-PH", "address": address, "zipcode": "19143", "description": "Pothole by the school"}
    values.update(extra)
    return values


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def pothole_id(app):
    with app.test_request_context():
        return factories.make_service_type("SR-PH", name="Pothole").id


@pytest.fixture
def liaison_id(app, client, pothole_id):
    """A certified liaison, logged in."""
    with app.test_request_context():
        user = factories.make_certified_liaison()
        email, user_id = user.email, user.id
    assert login(client, email).status_code == 302
    return user_id


def make_batch(app, liaison_id: int, rows) -> int:
    with app.test_request_context():
        return factories.make_batch(db.session.get(User, liaison_id), rows=rows).id


def existing_request(app, liaison_id: int, pothole_id: int, **fields) -> int:
    from liaison.service_requests.models import ServiceType

    with app.test_request_context():
        return factories.make_service_request(
            db.session.get(User, liaison_id), db.session.get(ServiceType, pothole_id), **fields
        ).id


def review_form(html: str) -> dict[str, str]:
    return {
        "idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1),
        "revision": re.search(r'name="revision" type="hidden" value="([^"]+)"', html).group(1),
    }


def filed(app, batch_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(ServiceRequest.batch_id == batch_id))


def test_the_review_page_shows_each_duplicate_beside_what_it_repeats(app, client, liaison_id, pothole_id):
    existing = existing_request(app, liaison_id, pothole_id, normalized_address="9 elm st")
    batch_id = make_batch(app, liaison_id, [row(), row("1200 Cedar Avenue"), row("9 Elm Street"), row("70 Oak St")])
    response = client.get(f"/requests/batches/{batch_id}/review")
    html = text(response)
    assert response.status_code == 200
    assert "Possible duplicates" in html
    assert html.count('class="liaison-flag ') == 3
    assert f"Request #{existing}" in html
    assert "filed today" in html
    assert "Rows 2 of this batch" not in html
    assert "Row 2 of this batch" in html
    assert "4 requests to file" in html
    assert 'class="usa-step-indicator__segment usa-step-indicator__segment--current" aria-current="step"' in html
    assert "File 4 requests" in html


def test_a_batch_without_duplicates_goes_straight_to_the_submit_step(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("9 Elm St")])
    html = text(client.get(f"/requests/batches/{batch_id}/review"))
    assert "No row repeats another row" in html
    assert html.count("usa-step-indicator__segment--complete") == 2


def test_submitting_files_the_batch_and_says_how_many_were_filed(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("9 Elm St"), row("70 Oak St")])
    form = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    response = client.post(f"/requests/batches/{batch_id}/submit", data=form)
    assert response.status_code == 303
    assert response.location == f"/requests/batches/{batch_id}"
    assert filed(app, batch_id) == 3
    assert "3 requests filed." in text(client.get(response.location))


def test_a_double_click_or_a_retry_files_the_batch_once(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("9 Elm St")])
    form = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    first = client.post(f"/requests/batches/{batch_id}/submit", data=form)
    second = client.post(f"/requests/batches/{batch_id}/submit", data=form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.location == first.location
    assert filed(app, batch_id) == 2
    assert "Nothing was filed twice" in text(client.get(second.location))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "batch.submitted")) == 1


def test_a_second_tab_submitting_the_same_batch_files_nothing_more(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row()])
    tab_one = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    tab_two = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    assert tab_one["idempotency_key"] != tab_two["idempotency_key"]
    client.post(f"/requests/batches/{batch_id}/submit", data=tab_one)
    response = client.post(f"/requests/batches/{batch_id}/submit", data=tab_two)
    assert response.status_code == 303
    assert filed(app, batch_id) == 1
    assert "already submitted, from another tab" in text(client.get(response.location))


def test_invalid_rows_refuse_the_submit_with_how_many_need_fixing(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("9 Elm St", description=""), row("3 Elm St", zipcode="x")])
    html = text(client.get(f"/requests/batches/{batch_id}/review"))
    assert "2 rows need fixing" in html
    assert f'href="/requests/batches/{batch_id}?problems=1"' in html
    assert 'name="idempotency_key"' not in html
    response = client.post(
        f"/requests/batches/{batch_id}/submit", data={"idempotency_key": "a-key-made-elsewhere-0001", "revision": "0"}
    )
    assert response.status_code == 422
    assert "2 rows need fixing before the batch can be filed." in text(response)
    assert filed(app, batch_id) == 0


def test_a_batch_changed_since_the_review_comes_back_with_409(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row()])
    form = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    with app.app_context():
        db.session.get(RequestBatch, batch_id).revision += 1
        db.session.commit()
    response = client.post(f"/requests/batches/{batch_id}/submit", data=form)
    assert response.status_code == 409
    assert "changed since you reviewed it" in text(response)
    assert review_form(text(response))["revision"] == str(int(form["revision"]) + 1)
    assert filed(app, batch_id) == 0


def test_a_tampered_submit_form_is_refused_with_422(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row()])
    response = client.post(f"/requests/batches/{batch_id}/submit", data={"idempotency_key": "k", "revision": "x"})
    assert response.status_code == 422
    assert "out of date" in text(response)
    assert filed(app, batch_id) == 0


def test_an_uncertified_liaison_sees_why_and_is_refused_with_403(app, client, login_as, pothole_id):
    me = login_as("liaison")
    batch_id = make_batch(app, me.id, [row()])
    html = text(client.get(f"/requests/batches/{batch_id}/review"))
    assert "You cannot file requests right now:" in html
    assert "not in an active cohort" in html
    assert 'name="idempotency_key"' not in html
    response = client.post(
        f"/requests/batches/{batch_id}/submit", data={"idempotency_key": "a-key-made-elsewhere-0001", "revision": "0"}
    )
    assert response.status_code == 403
    assert "not in an active cohort" in text(response)
    assert filed(app, batch_id) == 0


def test_another_liaisons_batch_is_a_404_and_changes_nothing(app, client, liaison_id, pothole_id):
    with app.test_request_context():
        other = factories.make_certified_liaison()
        theirs = factories.make_batch(other, rows=[row(), row()])
        batch_id, row_id, revision = theirs.id, theirs.rows[0].id, theirs.revision
    mine = make_batch(app, liaison_id, [row(), row()])
    assert client.get(f"/requests/batches/{batch_id}/review").status_code == 404
    submit = {"idempotency_key": "a-key-made-elsewhere-0001", "revision": str(revision)}
    assert client.post(f"/requests/batches/{batch_id}/submit", data=submit).status_code == 404
    assert (
        client.post(f"/requests/batches/{batch_id}/rows/{row_id}/decision", data={"decision": "drop"}).status_code
        == 404
    )
    # Their row through my batch's URL is not found either.
    assert client.post(f"/requests/batches/{mine}/rows/{row_id}/decision", data={"decision": "drop"}).status_code == 404
    assert filed(app, batch_id) == 0
    with app.app_context():
        assert db.session.get(BatchRow, row_id).duplicate_decision is None


def test_a_submitted_batchs_review_page_leads_to_the_batch(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row()])
    client.post(
        f"/requests/batches/{batch_id}/submit",
        data=review_form(text(client.get(f"/requests/batches/{batch_id}/review"))),
    )
    response = client.get(f"/requests/batches/{batch_id}/review")
    assert response.status_code == 303
    assert response.location == f"/requests/batches/{batch_id}"


def test_dropping_a_row_with_htmx_swaps_the_row_and_updates_the_counts_and_revision(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("1200 Cedar Avenue"), row("9 Elm St")])
    with app.app_context():
        second = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 2)
        ).one()
    before = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    response = client.post(
        f"/requests/batches/{batch_id}/rows/{second}/decision", data={"decision": "drop"}, headers=HTMX
    )
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.startswith(
        f'<li class="liaison-flag border-1px border-base-lighter radius-md padding-2 margin-bottom-2" id="flag-{second}"'
    )
    assert f'id="decision-{second}-drop" name="decision" value="drop" checked' in html
    assert 'id="review-summary" aria-labelledby="review-summary-heading" hx-swap-oob="true"' in html
    assert "2 requests to file" in html
    assert "1 row dropped as a duplicate" in html
    assert review_form(html)["revision"] == str(int(before["revision"]) + 1)
    with app.app_context():
        assert db.session.get(BatchRow, second).duplicate_decision == DuplicateDecision.DROP
    client.post(f"/requests/batches/{batch_id}/submit", data=review_form(html))
    with app.app_context():
        positions = db.session.scalars(
            select(ServiceRequest.batch_position).where(ServiceRequest.batch_id == batch_id).order_by("batch_position")
        ).all()
    assert positions == [1, 3]


def test_without_javascript_a_decision_comes_back_to_the_review_page(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("1200 Cedar Avenue")])
    with app.app_context():
        first = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 1)
        ).one()
    response = client.post(f"/requests/batches/{batch_id}/rows/{first}/decision", data={"decision": "drop"})
    assert response.status_code == 303
    assert response.location == f"/requests/batches/{batch_id}/review#flag-{first}"
    assert "1 row dropped as a duplicate" in text(client.get(response.location))


def test_a_decision_without_a_choice_is_a_422_next_to_the_row(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("1200 Cedar Avenue")])
    with app.app_context():
        first = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 1)
        ).one()
    response = client.post(f"/requests/batches/{batch_id}/rows/{first}/decision", data={}, headers=HTMX)
    assert response.status_code == 422
    assert f'id="decision-{first}-error" role="alert">Choose keep or drop.' in text(response)
    full = client.post(f"/requests/batches/{batch_id}/rows/{first}/decision", data={"decision": "perhaps"})
    assert full.status_code == 422
    assert "<html" in text(full)


def test_a_row_that_is_no_longer_a_duplicate_says_so(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("9 Elm St")])
    with app.app_context():
        second = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 2)
        ).one()
    response = client.post(
        f"/requests/batches/{batch_id}/rows/{second}/decision", data={"decision": "drop"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "no longer a possible duplicate" in text(response)


def test_the_flagged_rows_are_listed_a_page_at_a_time(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row() for _ in range(30)])
    first = text(client.get(f"/requests/batches/{batch_id}/review"))
    second = text(client.get(f"/requests/batches/{batch_id}/review?page=2"))
    assert first.count('class="liaison-flag ') == 25
    assert second.count('class="liaison-flag ') == 5
    assert f'href="/requests/batches/{batch_id}/review?page=2"' in first
    assert "30 requests to file" in second


def test_the_review_page_runs_the_same_queries_for_10_or_300_rows(app, client, liaison_id, count_queries):
    small = make_batch(app, liaison_id, [row(f"{i % 5} Elm St") for i in range(10)])
    large = make_batch(app, liaison_id, [row(f"{i % 150} Elm St") for i in range(300)])
    client.get(f"/requests/batches/{small}/review")
    counts = []
    for batch_id in (small, large):
        with count_queries() as queries:
            assert client.get(f"/requests/batches/{batch_id}/review").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_submitting_without_the_csrf_token_is_refused_and_files_nothing(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row()])
    form = review_form(text(client.get(f"/requests/batches/{batch_id}/review")))
    with app.app_context():
        first = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 1)
        ).one()
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/requests/batches/{batch_id}/submit", data=form)
    assert response.status_code == 422
    assert "Your session expired, so the batch was not filed." in text(response)
    assert filed(app, batch_id) == 0
    refused = client.post(
        f"/requests/batches/{batch_id}/rows/{first}/decision", data={"decision": "drop"}, headers=HTMX
    )
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(BatchRow, first).duplicate_decision is None
        assert db.session.get(RequestBatch, batch_id).status == BatchStatus.DRAFT


def test_a_decision_after_the_batch_was_filed_in_another_tab_leads_to_the_filed_batch(app, client, liaison_id):
    batch_id = make_batch(app, liaison_id, [row(), row("1200 Cedar Avenue")])
    with app.app_context():
        first = db.session.scalars(
            select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 1)
        ).one()
    client.post(
        f"/requests/batches/{batch_id}/submit",
        data=review_form(text(client.get(f"/requests/batches/{batch_id}/review"))),
    )
    response = client.post(
        f"/requests/batches/{batch_id}/rows/{first}/decision", data={"decision": "drop"}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == f"/requests/batches/{batch_id}"
    assert "already submitted" in text(client.get(f"/requests/batches/{batch_id}"))
    with app.app_context():
        assert db.session.get(BatchRow, first).duplicate_decision is None
    assert filed(app, batch_id) == 2
