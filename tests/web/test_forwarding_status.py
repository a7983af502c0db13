"""Request pages say where forwarding to 311 stands: coordinators see the city's error, liaisons a plain sentence."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from liaison.db_types import utcnow
from liaison.service_requests.models import RequestState
from tests import factories


@pytest.fixture
def forwarding_on(app_config):
    app_config.update(OPEN311_ENDPOINT="https://311.example.gov/open311/v2", OPEN311_API_KEY="k")


def _file(app, liaison_id: int | None = None, **fields) -> tuple[int, int]:
    with app.test_request_context():
        from liaison.auth.models import User
        from liaison.extensions import db

        liaison = db.session.get(User, liaison_id) if liaison_id else factories.make_liaison()
        service_type = factories.make_service_type()
        return liaison.id, factories.make_service_request(liaison, service_type, **fields).id


def _status(html: str) -> str:
    match = re.search(r'id="forwarding-status">.*?<p class="usa-alert__text">(.*?)</p>', html, re.S)
    return " ".join(match.group(1).split()) if match else ""


def test_the_coordinator_sees_the_attempt_the_next_try_and_the_city_error(forwarding_on, app, client, login_as):
    _, request_id = _file(
        app, forward_attempts=2, forward_next_at=utcnow() + timedelta(minutes=3), forward_error="HTTP 503: <down>"
    )
    login_as("coordinator")

    page = client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)

    status = _status(page)
    assert "Waiting to be forwarded: attempt 2 failed, next try at" in status
    assert "Last error: HTTP 503: &lt;down&gt;" in status


def test_the_liaison_sees_a_plain_sentence_without_the_error(forwarding_on, app, client, login_as):
    user = login_as("liaison")
    _, request_id = _file(
        app, user.id, forward_attempts=2, forward_next_at=utcnow() + timedelta(minutes=3), forward_error="HTTP 503"
    )

    page = client.get(f"/requests/{request_id}").get_data(as_text=True)

    assert _status(page) == "Waiting to be sent to the city's 311 service; this happens automatically."
    assert "HTTP 503" not in page


def test_a_stopped_request_tells_the_coordinator_what_to_do(forwarding_on, app, client, login_as):
    _, request_id = _file(app, forward_attempts=1, forward_error="The city refused this request (HTTP 400).")
    login_as("coordinator")

    status = _status(client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True))

    assert "Forwarding to 311 stopped after 1 attempt. The last answer: The city refused this request" in status
    assert "Fix the cause, then try again" in status


def test_the_coordinator_sends_a_stopped_request_again_with_one_button(forwarding_on, app, client, login_as):
    _, request_id = _file(app, forward_attempts=1, forward_error="The city refused this request (HTTP 400).")
    login_as("coordinator")
    page = client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)
    assert f'action="/coordinator/requests/{request_id}/forwarding/retry"' in page

    response = client.post(f"/coordinator/requests/{request_id}/forwarding/retry")

    assert response.status_code == 303
    page = client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)
    assert "goes to 311 with the next run of the forwarding worker" in page
    assert _status(page) == "Waiting to be forwarded to 311: it goes with the next run of the forwarding worker."
    with app.test_request_context():
        from sqlalchemy import select

        from liaison.audit import AuditEvent
        from liaison.extensions import db

        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(request_id)))
        assert "request.forwarding_retried" in list(actions)


def test_retrying_a_request_that_has_not_stopped_is_refused(forwarding_on, app, client, login_as):
    _, request_id = _file(app)
    login_as("coordinator")

    response = client.post(f"/coordinator/requests/{request_id}/forwarding/retry")

    assert response.status_code == 409
    assert "is not waiting for a retry" in response.get_data(as_text=True)


def test_liaisons_cannot_retry_forwarding(forwarding_on, app, client, login_as):
    user = login_as("liaison")
    _, request_id = _file(app, user.id, forward_attempts=1, forward_error="refused")

    assert client.post(f"/coordinator/requests/{request_id}/forwarding/retry").status_code == 403


def test_a_stopped_request_tells_the_liaison_a_coordinator_will_follow_up(forwarding_on, app, client, login_as):
    user = login_as("liaison")
    _, request_id = _file(app, user.id, forward_attempts=1, forward_error="refused")

    status = _status(client.get(f"/requests/{request_id}").get_data(as_text=True))

    assert status == "This request could not be sent to 311 automatically. A coordinator will follow up."


def test_both_see_when_and_as_what_it_was_forwarded(app, client, login_as):
    user = login_as("liaison")
    _, request_id = _file(
        app, user.id, state=RequestState.FORWARDED, external_id="C-4411", forwarded_at=utcnow() - timedelta(hours=1)
    )

    status = _status(client.get(f"/requests/{request_id}").get_data(as_text=True))

    assert status.startswith("Forwarded to 311 on ")
    assert status.endswith(" as C-4411.")


def test_nothing_is_said_about_forwarding_when_it_is_off(app, client, login_as):
    user = login_as("liaison")
    _, request_id = _file(app, user.id)

    assert _status(client.get(f"/requests/{request_id}").get_data(as_text=True)) == ""
