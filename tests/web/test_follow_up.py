"""A liaison answers "Was it fixed?" on a closed request; coordinators read the dispute rates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import FollowUp, RequestState, ServiceRequest, ServiceType
from tests import factories
from tests.conftest import login

HTMX = {"HX-Request": "true"}
REASON = "The light on pole PL-4471 is dark again."


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def service_type_id(app):
    with app.test_request_context():
        return factories.make_service_type("SR-SL01", name="Street light out").id


@pytest.fixture
def liaison_id(app, client):
    """A certified liaison, logged in."""
    with app.test_request_context():
        user = factories.make_certified_liaison()
        user_id, email = user.id, user.email
    assert login(client, email).status_code == 302
    return user_id


def file_request(app, liaison_id: int, service_type_id: int, **fields) -> int:
    values = {"state": RequestState.CLOSED, "closed_at": utcnow() - timedelta(days=1), **fields}
    with app.test_request_context():
        liaison = db.session.get(User, liaison_id)
        service_type = db.session.get(ServiceType, service_type_id)
        return factories.make_service_request(liaison, service_type, **values).id


def stored(app, request_id: int) -> ServiceRequest:
    with app.test_request_context():
        service_request = db.session.get(ServiceRequest, request_id)
        db.session.expunge(service_request)
        return service_request


def refiles_of(app, request_id: int) -> list[int]:
    with app.test_request_context():
        return list(db.session.scalars(select(ServiceRequest.id).where(ServiceRequest.refiled_from_id == request_id)))


def test_a_closed_request_asks_whether_it_was_fixed_and_an_open_one_does_not(app, client, liaison_id, service_type_id):
    closed = file_request(app, liaison_id, service_type_id)
    still_open = file_request(app, liaison_id, service_type_id, state=RequestState.IN_PROGRESS, closed_at=None)

    closed_page = text(client.get(f"/requests/{closed}"))
    open_page = text(client.get(f"/requests/{still_open}"))

    assert "Was it fixed?" in closed_page
    assert f'action="/requests/{closed}/confirm"' in closed_page
    assert f'action="/requests/{closed}/dispute"' in closed_page
    assert 'aria-describedby="dispute-reason-hint"' in closed_page
    assert "Was it fixed?" not in open_page
    assert "/confirm" not in open_page


def test_a_rejected_request_asks_whether_the_neighbor_accepts_the_decision(app, client, liaison_id, service_type_id):
    rejected = file_request(app, liaison_id, service_type_id, state=RequestState.REJECTED)

    page = text(client.get(f"/requests/{rejected}"))

    assert "Does the neighbor accept this decision?" in page
    assert "Yes, the neighbor accepts it" in page


def test_confirming_without_javascript_returns_to_the_request_showing_the_answer(
    app, client, liaison_id, service_type_id
):
    request_id = file_request(app, liaison_id, service_type_id)

    response = client.post(f"/requests/{request_id}/confirm")

    assert response.status_code == 303
    assert response.location.endswith(f"/requests/{request_id}")
    page = text(client.get(response.location))
    assert "Thank you: your answer is recorded." in page
    assert "Confirmed fixed" in page
    assert "Outcome confirmed by the liaison" in page
    assert f'action="/requests/{request_id}/confirm"' not in page
    assert stored(app, request_id).follow_up is FollowUp.CONFIRMED


def test_confirming_with_htmx_answers_with_the_box_only(app, client, liaison_id, service_type_id):
    request_id = file_request(app, liaison_id, service_type_id)

    response = client.post(f"/requests/{request_id}/confirm", headers=HTMX)

    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="follow-up"')
    assert "<html" not in html
    assert "Confirmed fixed" in html
    assert "HX-Request" in response.headers["Vary"]


def test_disputing_without_javascript_opens_the_refiled_request_linked_both_ways(
    app, client, liaison_id, service_type_id
):
    original = file_request(app, liaison_id, service_type_id)

    response = client.post(f"/requests/{original}/dispute", data={"dispute-reason": REASON})

    [refiled] = refiles_of(app, original)
    assert response.status_code == 303
    assert response.location.endswith(f"/requests/{refiled}")
    new_page = text(client.get(response.location))
    assert f"Request #{original} is disputed and refiled as request #{refiled}." in new_page
    assert re.search(rf'Refiled from <a href="/requests/{original}">#{original}</a>', new_page)
    assert REASON in new_page
    original_page = text(client.get(f"/requests/{original}"))
    assert re.search(rf'Disputed — refiled as <a href="/requests/{refiled}">#{refiled}</a>', original_page)
    assert "Disputed by the liaison and refiled" in original_page


def test_disputing_with_htmx_swaps_the_box_with_the_link_to_the_refile(app, client, liaison_id, service_type_id):
    original = file_request(app, liaison_id, service_type_id)

    response = client.post(f"/requests/{original}/dispute", data={"dispute-reason": REASON}, headers=HTMX)

    [refiled] = refiles_of(app, original)
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="follow-up"')
    assert f'<a href="/requests/{refiled}">#{refiled}</a>' in html


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_a_dispute_without_a_reason_is_refused_next_to_the_field(app, client, liaison_id, service_type_id, headers):
    request_id = file_request(app, liaison_id, service_type_id)

    response = client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": "   "}, headers=headers)

    html = text(response)
    assert response.status_code == 422
    assert "Say what is still wrong" in html
    assert 'aria-invalid="true"' in html
    assert ("<html" in html) is not bool(headers)
    assert refiles_of(app, request_id) == []


def test_a_too_long_reason_is_refused_and_kept_as_typed(app, client, liaison_id, service_type_id):
    request_id = file_request(app, liaison_id, service_type_id)
    typed = "Still dark at night. " * 60

    response = client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": typed})

    html = text(response)
    assert response.status_code == 422
    assert "Use at most 1000 characters." in html
    assert typed.strip() in html
    assert refiles_of(app, request_id) == []


def test_a_second_answer_from_a_stale_page_is_refused_with_a_message(app, client, liaison_id, service_type_id):
    request_id = file_request(app, liaison_id, service_type_id, follow_up=FollowUp.CONFIRMED, follow_up_at=utcnow())

    response = client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": REASON}, headers=HTMX)

    assert response.status_code == 409
    assert "already followed up" in text(response)
    assert refiles_of(app, request_id) == []


def test_a_liaison_without_a_valid_certificate_can_confirm_but_not_dispute(app, client, login_as, service_type_id):
    me = login_as("liaison")
    request_id = file_request(app, me.id, service_type_id)

    page = text(client.get(f"/requests/{request_id}"))
    refused = client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": REASON})
    confirmed = client.post(f"/requests/{request_id}/confirm")

    assert "You cannot refile requests right now: You are not in an active cohort" in page
    assert f'action="/requests/{request_id}/dispute"' not in page
    assert refused.status_code == 403
    assert "You are not in an active cohort" in text(refused)
    assert REASON in text(refused)
    assert refiles_of(app, request_id) == []
    assert confirmed.status_code == 303


def test_another_liaisons_request_cannot_be_answered(app, client, liaison_id, service_type_id):
    with app.test_request_context():
        other = factories.make_certified_liaison().id
    theirs = file_request(app, other, service_type_id)

    assert client.post(f"/requests/{theirs}/confirm").status_code == 404
    assert client.post(f"/requests/{theirs}/dispute", data={"dispute-reason": REASON}).status_code == 404
    assert stored(app, theirs).follow_up is None


def test_coordinators_do_not_answer_for_liaisons(app, client, login_as, service_type_id):
    with app.test_request_context():
        liaison = factories.make_certified_liaison().id
    request_id = file_request(app, liaison, service_type_id)
    login_as("coordinator")

    assert client.post(f"/requests/{request_id}/confirm").status_code == 403
    assert client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": REASON}).status_code == 403


def test_a_dispute_without_the_csrf_token_is_refused_and_keeps_the_reason(app, client, liaison_id, service_type_id):
    request_id = file_request(app, liaison_id, service_type_id)
    app.config["WTF_CSRF_ENABLED"] = True

    response = client.post(f"/requests/{request_id}/dispute", data={"dispute-reason": REASON})

    assert response.status_code == 422
    assert "Your session expired" in text(response)
    assert REASON in text(response)
    assert refiles_of(app, request_id) == []
    assert stored(app, request_id).follow_up is None


# Dispute rates ------------------------------------------------------------------------------------


@pytest.fixture
def rated(app):
    """Street lights: 3 closed recently (1 confirmed, 2 disputed); potholes: 1 confirmed, 1 disputed long ago."""
    with app.test_request_context():
        liaison = factories.make_certified_liaison()
        lights = factories.make_service_type("SR-SL09", name="Street light out")
        potholes = factories.make_service_type("SR-PH09", name="Pothole")
        recent, old = utcnow() - timedelta(days=5), utcnow() - timedelta(days=200)
        for service_type, answer, closed_at, area in (
            (lights, FollowUp.CONFIRMED, recent, "Cedar Park"),
            (lights, FollowUp.DISPUTED, recent, "Cedar Park"),
            (lights, FollowUp.DISPUTED, recent, "Kingsessing"),
            (potholes, FollowUp.CONFIRMED, recent, "Kingsessing"),
            (potholes, FollowUp.DISPUTED, old, "Kingsessing"),
        ):
            factories.make_service_request(
                liaison,
                service_type,
                state=RequestState.CLOSED,
                closed_at=closed_at,
                follow_up=answer,
                neighborhood=area,
                neighbor_first_name="Rosalind",
            )


def table_rows(html: str) -> list[list[str]]:
    body = html.split('id="rates-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return rows


def test_coordinators_see_dispute_rates_by_service_for_the_last_90_days(app, client, login_as, rated):
    login_as("coordinator")

    response = client.get("/requests/dispute-rates")

    html = text(response)
    assert response.status_code == 200
    assert table_rows(html) == [
        ["Street light out SR-SL09", "3", "1", "2", "0", "67%"],
        ["Pothole SR-PH09", "1", "1", "0", "0", "0%"],
    ]
    assert '<svg id="rates-chart"' in html
    assert 'role="img" aria-labelledby="rates-chart-title rates-chart-desc"' in html
    assert "Rosalind" not in html


def test_the_period_and_grouping_change_the_numbers(app, client, login_as, rated):
    login_as("coordinator")

    html = text(client.get("/requests/dispute-rates?period=all&by=neighborhood"))

    assert table_rows(html) == [
        ["Kingsessing", "3", "1", "2", "0", "67%"],
        ["Cedar Park", "2", "1", "1", "0", "50%"],
    ]


def test_the_rates_answer_htmx_with_the_results_only_and_refuse_an_unknown_period(app, client, login_as, rated):
    login_as("coordinator")

    fragment = client.get("/requests/dispute-rates?period=all", headers=HTMX)
    odd = client.get("/requests/dispute-rates?period=7", headers=HTMX)

    assert text(fragment).lstrip().startswith('<div id="rates-results"')
    assert "<html" not in text(fragment)
    assert odd.status_code == 422
    assert 'role="alert"' in text(odd)
    assert "Street light out" in text(odd)  # the default period is shown meanwhile


def test_the_queue_links_to_the_dispute_rates(client, login_as):
    login_as("coordinator")

    assert 'href="/requests/dispute-rates"' in text(client.get("/coordinator/requests/"))


def test_the_rates_page_takes_the_same_number_of_queries_for_3_or_40_services(app, client, login_as, count_queries):
    login_as("coordinator")
    counts = []
    made = 0
    for total in (3, 40):
        with app.test_request_context():
            liaison = factories.make_certified_liaison()
            for number in range(made, total):
                service_type = factories.make_service_type(f"SR-Q{number:03d}")
                factories.make_service_request(
                    liaison, service_type, state=RequestState.CLOSED, closed_at=utcnow(), follow_up=FollowUp.DISPUTED
                )
        made = total
        client.get("/requests/dispute-rates")
        with count_queries() as queries:
            response = client.get("/requests/dispute-rates")
        assert response.status_code == 200
        counts.append(len(queries))
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 40
    # Session, user, totals, the page of groups, their count.
    assert counts[0] == counts[1] <= 5, counts


def test_the_coordinator_sees_that_a_request_was_refiled_after_a_dispute(app, client, login_as):
    with app.test_request_context():
        liaison = factories.make_certified_liaison()
        service_type = factories.make_service_type()
        original = factories.make_service_request(
            liaison, service_type, state=RequestState.CLOSED, follow_up=FollowUp.DISPUTED
        )
        refiled = factories.make_service_request(liaison, service_type, refiled_from_id=original.id)
        db.session.commit()
        original_id, refiled_id = original.id, refiled.id
    login_as("coordinator")

    refiled_page = client.get(f"/coordinator/requests/{refiled_id}").get_data(as_text=True)
    original_page = client.get(f"/coordinator/requests/{original_id}").get_data(as_text=True)

    assert f'href="/coordinator/requests/{original_id}">#{original_id}</a>' in refiled_page
    assert "The liaison disputed the outcome; the request was refiled." in original_page
