"""`flask liaison forward`: forwards submitted requests to the city's Open311 endpoint."""

from __future__ import annotations

import pytest

from liaison.extensions import db
from liaison.service_requests.models import RequestState, ServiceRequest
from tests import factories
from tests.support.fake_open311 import fake_city


@pytest.fixture
def city():
    with fake_city() as running:
        yield running


@pytest.fixture
def city_settings(app_config, city):
    """Forwarding turned on, pointing at the fake city (set before the app is created)."""
    app_config.update(OPEN311_ENDPOINT=city.url, OPEN311_API_KEY="city-key", OPEN311_TIMEOUT=2)
    return city


def _filed(app, count: int) -> list[int]:
    with app.app_context():
        liaison = factories.make_certified_liaison()
        pothole = factories.make_service_type("POTHOLE")
        return [factories.make_service_request(liaison, pothole).id for _ in range(count)]


def _states(app, ids: list[int]) -> list[tuple[RequestState, str]]:
    with app.app_context():
        return [(sr.state, sr.external_id) for sr in (db.session.get(ServiceRequest, request_id) for request_id in ids)]


def test_without_settings_the_command_says_forwarding_is_off_and_sends_nothing(app, runner):
    ids = _filed(app, 1)

    result = runner.invoke(args=["liaison", "forward"])

    assert result.exit_code == 0, result.output
    assert "Forwarding is off" in result.output
    assert _states(app, ids) == [(RequestState.SUBMITTED, "")]


def test_the_command_forwards_everything_due_and_prints_the_counts(city_settings, app, runner):
    ids = _filed(app, 3)

    result = runner.invoke(args=["liaison", "forward"])

    assert result.exit_code == 0, result.output
    assert "Forwarded 3 request(s); 0 will be retried later; 0 stopped and need a coordinator." in result.output
    assert sorted(_states(app, ids)) == [(RequestState.FORWARDED, f"C-{n}") for n in (1, 2, 3)]
    again = runner.invoke(args=["liaison", "forward"])
    assert "Forwarded 0 request(s)" in again.output
    assert len(city_settings.received) == 3


def test_limit_sends_only_that_many(city_settings, app, runner):
    _filed(app, 3)

    result = runner.invoke(args=["liaison", "forward", "--limit", "2"])

    assert result.exit_code == 0, result.output
    assert "Forwarded 2 request(s)" in result.output
    assert len(city_settings.received) == 2


def test_once_runs_a_single_round_of_the_batch_size(city_settings, app_config, app, runner):
    app.config["FORWARD_BATCH_SIZE"] = 2
    _filed(app, 3)

    result = runner.invoke(args=["liaison", "forward", "--once"])

    assert "Forwarded 2 request(s)" in result.output
    assert "Forwarded 1 request(s)" in runner.invoke(args=["liaison", "forward"]).output


def test_failures_are_counted_and_a_refused_key_stops_the_run_with_exit_code_0(city_settings, app, runner):
    city_settings.answer = lambda fields, number: (403, [{"code": 403, "description": "Invalid api_key"}])
    _filed(app, 2)

    result = runner.invoke(args=["liaison", "forward"])

    assert result.exit_code == 0, result.output
    assert "Forwarded 0 request(s); 1 will be retried later; 0 stopped" in result.output
    assert "1 claimed request(s) were left for the next run." in result.output
    assert "Check OPEN311_ENDPOINT and OPEN311_API_KEY" in result.output


def test_retry_sends_a_stopped_request_again(city_settings, app, runner):
    city_settings.answer = lambda fields, number: (400, [{"code": 400, "description": "Unknown address"}])
    [request_id] = _filed(app, 1)
    assert "1 stopped and need a coordinator" in runner.invoke(args=["liaison", "forward"]).output
    city_settings.answer = city_settings.created

    result = runner.invoke(args=["liaison", "forward", "--retry", str(request_id)])

    assert f"Request {request_id} will be forwarded again." in result.output
    assert "Forwarded 1 request(s)" in result.output
    assert _states(app, [request_id]) == [(RequestState.FORWARDED, "C-2")]


def test_an_endpoint_that_is_not_http_is_refused(app_config, app, runner):
    app.config.update(OPEN311_ENDPOINT="file:///etc/passwd", OPEN311_API_KEY="k")

    result = runner.invoke(args=["liaison", "forward"])

    assert result.exit_code == 1
    assert "OPEN311_ENDPOINT must be an http:// or https:// URL." in result.output


def test_deploy_check_refuses_an_endpoint_without_https(app, runner):
    app.config["OPEN311_ENDPOINT"] = "http://311.example.gov/open311/v2"

    assert "OPEN311_ENDPOINT is not an https:// URL" in runner.invoke(args=["liaison", "deploy-check"]).output

    app.config["OPEN311_ENDPOINT"] = "https://311.example.gov/open311/v2"
    assert "OPEN311_ENDPOINT" not in runner.invoke(args=["liaison", "deploy-check"]).output
