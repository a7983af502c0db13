"""The public status page: anyone with the link sees where a request stands, and nothing personal."""

from __future__ import annotations

import pytest

from liaison.auth.models import User
from liaison.extensions import db
from liaison.service_requests import tracking
from liaison.service_requests.models import ServiceRequest, ServiceType
from tests import factories

NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


@pytest.fixture
def filed(app):
    """A request with neighbor contact, moved once by a coordinator with a public note."""
    with app.test_request_context():
        liaison = factories.make_liaison(full_name="Lia Ison")
        service_type = factories.make_service_type("SR-ST01", name="Street Defect")
        request = factories.make_service_request(
            liaison,
            service_type,
            address="1234 Cedar Ave, Apt 2",
            description="Rosalind's driveway is cracked",
            lat=39.9512,
            long=-75.2011,
            external_id="311-77",
            **NEIGHBOR,
        )
        coordinator = factories.make_coordinator(full_name="Cora Ordinator")
        tracking.change_status(coordinator, [request.id], "forwarded", "Sent to the Streets department")
        db.session.commit()
        return {"id": request.id, "token": request.public_token}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_anyone_with_the_link_sees_the_status_without_logging_in(client, filed):
    response = client.get(f"/status/{filed['token']}")

    html = text(response)
    assert response.status_code == 200
    assert f"#{filed['id']}" in html
    assert "Street Defect" in html
    assert "Forwarded to 311" in html
    assert "Open" in html
    assert "Sent to the Streets department" in html
    assert "1200 block of Cedar Ave" in html
    assert "311-77" in html


def test_the_public_page_shows_no_personal_data(client, filed):
    html = text(client.get(f"/status/{filed['token']}"))

    for private in (
        "Rosalind",
        "Quintanilla",
        "215-555-0199",
        "rosalind.qb@example.org",
        "1234 Cedar",
        "Apt 2",
        "driveway",
        "39.9512",
        "Lia Ison",
        "Cora Ordinator",
    ):
        assert private not in html, private


def test_the_public_page_is_not_indexed(client, filed):
    response = client.get(f"/status/{filed['token']}")

    assert response.headers["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in text(response)


def test_an_unknown_link_is_not_found(client, filed):
    assert client.get("/status/not-a-real-token").status_code == 404
    assert client.get("/status/not-a-real-token.json").status_code == 404


def test_the_json_variant_has_the_same_public_facts_only(client, filed):
    response = client.get(f"/status/{filed['token']}.json")

    body = response.get_json()
    assert response.status_code == 200
    assert body["service_request_id"] == filed["id"]
    assert body["status"] == "open"
    assert body["state"] == "forwarded"
    assert body["location"] == "1200 block of Cedar Ave"
    assert body["status_notes"][0]["note"] == "Sent to the Streets department"
    for private in ("Rosalind", "555-0199", "rosalind.qb", "driveway", "Lia Ison", "39.95"):
        assert private not in response.get_data(as_text=True)


def test_the_liaison_sees_the_same_public_page_as_anyone(app, client, filed):
    with app.test_request_context():
        email = db.session.get(ServiceRequest, filed["id"]).liaison.email
    client.post("/login", data={"email": email, "password": factories.PASSWORD})

    html = text(client.get(f"/status/{filed['token']}"))

    assert "Rosalind" not in html
    assert "215-555-0199" not in html


def test_the_status_page_is_rate_limited(app, client, filed):
    app.config["RATELIMIT_STATUS"] = "3 per minute"

    statuses = [client.get(f"/status/{filed['token']}").status_code for _ in range(4)]
    json_after = client.get(f"/status/{filed['token']}.json").status_code

    assert statuses == [200, 200, 200, 429]
    assert json_after == 429


def test_a_request_whose_liaison_left_still_has_a_status_page(app, client):
    with app.test_request_context():
        service_type = factories.make_service_type("SR-ST02", name="Illegal Dumping")
        request = factories.make_service_request(None, service_type, address="Behind the church on Elm")
        token = request.public_token
        assert db.session.get(ServiceType, service_type.id) is not None
        assert db.session.scalar(db.select(User).limit(1)) is None

    html = text(client.get(f"/status/{token}"))

    assert "Illegal Dumping" in html
    assert "Behind the church" not in html  # not a street address: only the ZIP is shown
    assert "19143" in html
