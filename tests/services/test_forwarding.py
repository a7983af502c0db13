"""Forwarding filed requests to the city's Open311 endpoint (against a local fake endpoint)."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests import forwarding
from liaison.service_requests.forwarding import ForwardSettings, forward_all, forward_due, forwarding_stopped
from liaison.service_requests.models import RequestEvent, RequestState, ServiceRequest
from tests import factories
from tests.support.fake_open311 import fake_city

# A fixed "now" a little after the requests are filed (history is ordered by time).
# The worker's clock: ahead of every real timestamp the tests make (a request's "filed" event is
# stamped with the real time when the test runs, which in a slow full suite can be many minutes
# after this module was imported), so history lines order as they would in real life.
NOW = utcnow().replace(microsecond=0) + timedelta(hours=6)


@pytest.fixture
def city():
    with fake_city() as running:
        yield running


@pytest.fixture
def settings(city):
    return ForwardSettings(endpoint=city.url, api_key="city-key-123", timeout=2)


@pytest.fixture
def liaison(app_ctx):
    return factories.make_certified_liaison()


@pytest.fixture
def pothole(app_ctx):
    return factories.make_service_type("POTHOLE")


def _request(liaison, service_type, **fields) -> int:
    return factories.make_service_request(liaison, service_type, **fields).id


def _load(request_id: int) -> ServiceRequest:
    db.session.expire_all()
    return db.session.get(ServiceRequest, request_id)


def _no_jitter() -> float:
    return 0.0


def test_a_forwarded_request_gets_the_city_id_the_forwarded_state_and_a_history_line(settings, city, liaison, pothole):
    request_id = _request(liaison, pothole)

    run = forward_due(settings, now=NOW)

    assert (run.claimed, run.forwarded) == (1, 1)
    sr = _load(request_id)
    assert sr.state is RequestState.FORWARDED
    assert sr.external_id == "C-1"
    assert sr.forwarded_at == NOW
    assert sr.forward_attempts == 1
    assert sr.forward_claimed_at is None
    assert sr.forward_error == ""
    event = sr.events[-1]
    assert (event.kind, event.actor_id, event.from_state, event.to_state, event.note) == (
        "forwarded",
        None,
        "submitted",
        "forwarded",
        "C-1",
    )
    assert city.paths == ["POST /open311/v2/requests.json"]
    assert city.field(0, "api_key") == ["city-key-123"]
    assert city.field(0, "service_code") == ["POTHOLE"]
    assert city.field(0, "address_string") == ["1200 Cedar Ave, 19143"]
    assert city.field(0, "description") == ["Pothole in front of the school"]
    assert city.field(0, "jurisdiction_id") == []


def test_a_forwarded_request_is_never_sent_again(settings, city, liaison, pothole):
    _request(liaison, pothole)
    forward_due(settings, now=NOW)

    again = forward_all(settings, now=NOW + timedelta(days=1))

    assert again.claimed == 0
    assert len(city.received) == 1


def test_the_jurisdiction_and_coordinates_are_sent_when_known(city, liaison, pothole):
    settings = ForwardSettings(endpoint=city.url + "/", api_key="k", jurisdiction_id="phila.gov", timeout=2)
    _request(liaison, pothole, lat=39.95, long=-75.21, address="")

    forward_due(settings, now=NOW)

    assert city.field(0, "jurisdiction_id") == ["phila.gov"]
    assert (city.field(0, "lat"), city.field(0, "long")) == (["39.95"], ["-75.21"])
    assert city.field(0, "address_string") == []


def test_contact_details_are_sent_only_when_the_neighbor_agreed(settings, city, liaison, pothole):
    contact = {
        "neighbor_first_name": "Ana",
        "neighbor_last_name": "Ruiz",
        "neighbor_phone": "215-555-0100",
        "neighbor_email": "ana@example.net",
    }
    _request(liaison, pothole, contact_consent=False, description="without consent", **contact)
    _request(liaison, pothole, contact_consent=True, description="with consent", **contact)

    forward_due(settings, now=NOW)

    sent = {dict(fields)["description"]: dict(fields) for fields in city.received}
    for name in ("first_name", "last_name", "phone", "email"):
        assert name not in sent["without consent"]
    assert sent["with consent"]["first_name"] == "Ana"
    assert sent["with consent"]["last_name"] == "Ruiz"
    assert sent["with consent"]["phone"] == "215-555-0100"
    assert sent["with consent"]["email"] == "ana@example.net"


def test_attributes_are_encoded_as_open311_expects(settings, city, liaison, pothole):
    _request(liaison, pothole, attributes={"pole_number": "PL-2231", "depth": 4, "colors": ["blue", "white"]})

    forward_due(settings, now=NOW)

    assert city.field(0, "attribute[pole_number]") == ["PL-2231"]
    assert city.field(0, "attribute[depth]") == ["4"]
    assert city.field(0, "attribute[colors][]") == ["blue", "white"]


def test_a_token_answer_is_kept_so_the_city_id_can_be_looked_up_later(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (200, [{"token": "12345-abcde"}])
    request_id = _request(liaison, pothole)

    forward_due(settings, now=NOW)

    sr = _load(request_id)
    assert (sr.state, sr.external_id) == (RequestState.FORWARDED, "token:12345-abcde")


def test_a_server_error_is_retried_later_with_growing_waits(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (503, [{"code": 503, "description": "Down for maintenance"}])
    request_id = _request(liaison, pothole)

    first = forward_due(settings, now=NOW, jitter=_no_jitter)

    assert (first.retrying, first.forwarded) == (1, 0)
    sr = _load(request_id)
    assert sr.state is RequestState.SUBMITTED
    assert sr.forward_attempts == 1
    assert sr.forward_next_at == NOW + timedelta(minutes=1)
    assert sr.forward_claimed_at is None
    assert "Down for maintenance" in sr.forward_error
    assert "503" in sr.forward_error
    assert not forwarding_stopped(sr)

    assert forward_due(settings, now=NOW + timedelta(seconds=59)).claimed == 0
    forward_due(settings, now=NOW + timedelta(minutes=1), jitter=_no_jitter)
    assert _load(request_id).forward_next_at == NOW + timedelta(minutes=3)

    city.answer = city.created
    forward_due(settings, now=NOW + timedelta(minutes=3))
    sr = _load(request_id)
    assert (sr.state, sr.external_id, sr.forward_attempts, sr.forward_error) == (
        RequestState.FORWARDED,
        "C-3",
        3,
        "",
    )


def test_the_wait_doubles_up_to_six_hours_and_jitter_only_shortens_it():
    assert [forwarding.backoff(n, jitter=0) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert forwarding.backoff(20, jitter=0) == timedelta(hours=6)
    assert timedelta(hours=6) * 0.8 <= forwarding.backoff(20, jitter=0.999) < timedelta(hours=6)


def test_a_refused_request_stops_with_the_city_reason_for_coordinators(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (
        400,
        [{"code": 400, "description": "service_code POTHOLE is\nnot valid here"}],
    )
    request_id = _request(liaison, pothole)

    run = forward_due(settings, now=NOW)

    assert run.stopped == 1
    sr = _load(request_id)
    assert sr.state is RequestState.SUBMITTED
    assert (
        sr.forward_error
        == "The city's 311 service refused this request (HTTP 400: service_code POTHOLE is not valid here)."
    )
    assert sr.forward_next_at is None
    assert forwarding_stopped(sr)
    assert forward_all(settings, now=NOW + timedelta(days=30)).claimed == 0
    assert len(city.received) == 1


def test_a_stopped_request_can_be_made_due_again(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (422, [{"code": 422, "description": "bad"}])
    request_id = _request(liaison, pothole)
    forward_due(settings, now=NOW)

    assert forwarding.retry_forwarding(request_id) is True
    db.session.commit()
    city.answer = city.created
    forward_due(settings, now=NOW)

    assert _load(request_id).external_id == "C-2"
    assert forwarding.retry_forwarding(request_id) is False


def test_forwarding_stops_after_the_last_allowed_attempt(city, liaison, pothole):
    settings = ForwardSettings(endpoint=city.url, api_key="k", timeout=2, max_attempts=2)
    city.answer = lambda fields, number: (500, "oops")
    request_id = _request(liaison, pothole)

    forward_due(settings, now=NOW)
    last = forward_due(settings, now=NOW + timedelta(hours=1))

    assert last.stopped == 1
    sr = _load(request_id)
    assert sr.forward_attempts == 2
    assert forwarding_stopped(sr)
    assert sr.forward_error == "The city's 311 service is not available (HTTP 500)."
    assert forward_due(settings, now=NOW + timedelta(days=1)).claimed == 0


def test_a_slow_city_counts_as_a_failed_attempt(city, liaison, pothole):
    settings = ForwardSettings(endpoint=city.url, api_key="k", timeout=0.2)
    city.delay = 1.0
    request_id = _request(liaison, pothole)

    run = forward_due(settings, now=NOW)

    assert run.retrying == 1
    sr = _load(request_id)
    assert sr.forward_error == "No answer from the city's 311 service within 0.2 seconds."
    assert sr.forward_next_at is not None
    assert sr.forward_claimed_at is None


def test_an_unreachable_city_is_retried(liaison, pothole):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ForwardSettings(endpoint=f"http://127.0.0.1:{port}", api_key="k", timeout=1)
    request_id = _request(liaison, pothole)

    assert forward_due(settings, now=NOW).retrying == 1
    assert _load(request_id).forward_error.startswith("Could not reach the city's 311 service")


def test_a_refused_api_key_stops_the_run_and_leaves_the_other_requests_untouched(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (403, [{"code": 403, "description": "Invalid api_key"}])
    first = _request(liaison, pothole)
    second = _request(liaison, pothole)

    run = forward_all(settings, now=NOW)

    assert (run.claimed, run.retrying, run.released) == (2, 1, 1)
    assert "OPEN311_API_KEY" in run.halted
    assert len(city.received) == 1
    assert _load(first).forward_attempts == 1
    untouched = _load(second)
    assert (untouched.forward_attempts, untouched.forward_claimed_at, untouched.forward_error) == (0, None, "")


def test_an_answer_without_an_id_is_not_sent_again(settings, city, liaison, pothole):
    city.answer = lambda fields, number: (200, [{"service_notice": "thanks"}])
    request_id = _request(liaison, pothole)

    forward_due(settings, now=NOW)

    sr = _load(request_id)
    assert forwarding_stopped(sr)
    assert "check with 311" in sr.forward_error
    assert forward_all(settings, now=NOW + timedelta(days=1)).claimed == 0


def test_requests_held_for_review_closed_or_claimed_by_a_live_worker_are_not_sent(settings, city, liaison, pothole):
    _request(liaison, pothole, needs_review=True, description="held for review")
    _request(liaison, pothole, state=RequestState.CLOSED, description="closed")
    _request(liaison, pothole, forward_claimed_at=NOW - timedelta(minutes=2), description="claimed")
    _request(liaison, pothole, forward_claimed_at=NOW - timedelta(minutes=11), description="claim ran out")

    run = forward_all(settings, now=NOW)

    assert run.forwarded == 1
    assert [dict(fields)["description"] for fields in city.received] == ["claim ran out"]


def test_a_status_change_during_the_send_is_kept_and_the_city_id_recorded(settings, liaison, pothole):
    request_id = _request(liaison, pothole)

    def coordinator_closes_it_meanwhile(settings, fields):
        db.session.execute(update(ServiceRequest).where(ServiceRequest.id == request_id).values(state="closed"))
        db.session.commit()
        return forwarding.Answer("forwarded", external_id="C-77", status=201)

    forward_due(settings, now=NOW, sender=coordinator_closes_it_meanwhile)

    sr = _load(request_id)
    assert (sr.state, sr.external_id) == (RequestState.CLOSED, "C-77")
    assert sr.events[-1].kind == "forwarded"


def test_a_run_that_takes_too_long_gives_back_the_claims_it_cannot_use(settings, city, liaison, pothole):
    ids = [_request(liaison, pothole) for _ in range(3)]
    ticks = iter([0.0, 10_000.0, 10_001.0])

    run = forward_due(settings, now=NOW, clock=lambda: next(ticks))

    assert (run.forwarded, run.released) == (1, 2)
    assert [_load(i).forward_claimed_at for i in ids[1:]] == [None, None]
    assert len(city.received) == 1


def test_the_claim_costs_the_same_queries_for_3_or_60_requests(settings, liaison, pothole, count_queries):
    counts = []
    for size in (3, 60):
        for _ in range(size):
            _request(liaison, pothole)
        with count_queries() as queries:
            claimed = forwarding.claim_due(settings, now=NOW, limit=100)
        assert len(claimed) == size
        forwarding.release_claims(claimed)
        db.session.execute(update(ServiceRequest).values(state="closed"))
        db.session.commit()
        counts.append(len(queries))
    assert counts[0] == counts[1] == 3


def test_two_workers_at_once_send_each_request_exactly_once(app, city, liaison, pothole):
    ids = [_request(liaison, pothole, description=f"request {n}") for n in range(40)]
    settings = ForwardSettings(endpoint=city.url, api_key="k", timeout=5, batch_size=4)
    city.delay = 0.005
    runs, errors = [], []
    start = threading.Barrier(2)
    db.session.commit()  # this thread holds no transaction (on SQLite: no write lock) meanwhile

    def worker():
        try:
            with app.app_context():
                start.wait()
                runs.append(forward_all(settings))
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    sent = [dict(fields)["description"] for fields in city.received]
    assert sorted(sent) == sorted(f"request {n}" for n in range(40))
    assert sum(run.forwarded for run in runs) == 40
    assert all(run.forwarded for run in runs), "both workers took part"
    db.session.expire_all()
    rows = db.session.execute(
        select(ServiceRequest.state, ServiceRequest.external_id).where(ServiceRequest.id.in_(ids))
    ).all()
    assert {state for state, _ in rows} == {RequestState.FORWARDED}
    assert len({external_id for _, external_id in rows}) == 40
    events = db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "forwarded")).all()
    assert len(events) == 40


def test_forwarding_is_off_without_an_endpoint_or_key():
    assert forwarding.forwarding_settings({"OPEN311_ENDPOINT": "https://311.example.gov"}) is None
    assert forwarding.forwarding_settings({"OPEN311_API_KEY": "k"}) is None
    settings = forwarding.forwarding_settings(
        {"OPEN311_ENDPOINT": "https://311.example.gov/v2/", "OPEN311_API_KEY": "k", "OPEN311_TIMEOUT": "3"}
    )
    assert settings.requests_url == "https://311.example.gov/v2/requests.json"
    assert settings.timeout == 3.0
    assert settings.lease == timedelta(minutes=10)
    slow = forwarding.forwarding_settings(
        {"OPEN311_ENDPOINT": "https://x", "OPEN311_API_KEY": "k", "OPEN311_TIMEOUT": 600}
    )
    assert slow.lease > timedelta(seconds=2 * 600), "a claim outlives a send that waits the whole timeout"
    with pytest.raises(ValueError, match="http"):
        forwarding.forwarding_settings({"OPEN311_ENDPOINT": "file:///etc/passwd", "OPEN311_API_KEY": "k"})
