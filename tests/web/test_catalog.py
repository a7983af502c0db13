"""The catalog pages: coordinators read the services and neighborhoods, admins change them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from liaison.auth.models import Role
from liaison.extensions import db
from liaison.service_requests.models import Neighborhood, ServiceAttribute, ServiceType
from tests import factories

HTMX = {"HX-Request": "true"}
BASE = "/coordinator/catalog"


def make_type(app, code="SR-ST04", attributes=(), requests=0, **fields) -> int:
    with app.test_request_context():
        service = factories.make_service_type(code, attributes=attributes, **fields)
        if requests:
            liaison = factories.make_user(Role.LIAISON)
            for _ in range(requests):
                factories.make_service_request(liaison, service)
        return service.id


def service_form(**overrides) -> dict[str, str]:
    data = {
        "code": "SR-PD01",
        "name_en": "Abandoned Vehicle",
        "name_es": "Vehículo abandonado",
        "group_en": "Police",
        "group_es": "Policía",
        "description_en": "A car that has not moved for days.",
        "description_es": "",
        "keywords": "car, vehicle",
        "kind": "realtime",
        "active": "y",
    }
    data.update(overrides)
    return data


def attribute_form(**overrides) -> dict[str, str]:
    data = {
        "code": "color",
        "datatype": "singlevaluelist",
        "description_en": "Color",
        "description_es": "Color",
        "datatype_description_en": "",
        "datatype_description_es": "",
        "values": "black | Black | Negro\nwhite | White | Blanco",
        "required": "y",
        "variable": "y",
    }
    data.update(overrides)
    return data


def attribute_codes(app, service_type_id: int) -> list[str]:
    with app.test_request_context():
        return list(
            db.session.scalars(
                select(ServiceAttribute.code)
                .where(ServiceAttribute.service_type_id == service_type_id)
                .order_by(ServiceAttribute.position)
            )
        )


# Reading ---------------------------------------------------------------------------------------


def test_a_coordinator_sees_the_catalog_by_group_with_request_counts_but_no_edit_buttons(app, client, login_as):
    make_type(
        app,
        "SR-ST04",
        name="Street Light Outage",
        attributes=[{"code": "pole_number", "datatype": "string"}],
        requests=2,
    )
    login_as("coordinator")
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Street Light Outage" in html
    assert "SR-ST04" in html
    assert '<h2 class="margin-0">Streets</h2>' in html
    assert "2 requests" in html
    assert "Add a service" not in html
    assert 'href="/coordinator/catalog/"' in html
    assert "Service catalog" in html


def test_a_coordinator_reads_a_service_and_its_questions_without_forms(app, client, login_as):
    service_id = make_type(app, attributes=[{"code": "pole_number", "datatype": "string"}])
    login_as("coordinator")
    html = client.get(f"{BASE}/types/{service_id}").get_data(as_text=True)
    assert "pole_number" in html
    assert "Add a question" not in html
    assert "Move down" not in html
    assert client.post(f"{BASE}/types/{service_id}/attributes", data=attribute_form()).status_code == 403


def test_an_unknown_service_is_a_404(client, login_as):
    login_as("coordinator")
    assert client.get(f"{BASE}/types/999").status_code == 404


def test_the_catalog_page_runs_the_same_queries_for_3_or_30_services(app, client, login_as, count_queries):
    login_as("coordinator")

    def add(count: int, start: int) -> None:
        with app.test_request_context():
            liaison = factories.make_user(Role.LIAISON)
            for number in range(start, start + count):
                service = factories.make_service_type(
                    f"SR-Q{number:03d}", attributes=[{"code": "a", "datatype": "string"}]
                )
                factories.make_service_request(liaison, service)

    add(3, 0)
    client.get(f"{BASE}/")  # the first page after logging in also refreshes the session
    with count_queries() as few:
        assert client.get(f"{BASE}/").status_code == 200
    add(27, 3)
    with count_queries() as many:
        response = client.get(f"{BASE}/")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("1 request<") == 30
    assert len(many) == len(few)


# Service types ---------------------------------------------------------------------------------


def test_an_admin_adds_a_service_and_lands_on_its_page(app, client, login_as):
    login_as("admin")
    assert client.get(f"{BASE}/types/new").status_code == 200
    response = client.post(f"{BASE}/types/new", data=service_form(code="sr-pd01"))
    assert response.status_code == 302
    with app.test_request_context():
        service = db.session.scalar(select(ServiceType).where(ServiceType.code == "SR-PD01"))
        assert service.name == {"en": "Abandoned Vehicle", "es": "Vehículo abandonado"}
    assert response.location == f"{BASE}/types/{service.id}"
    assert "Abandoned Vehicle added to the catalog" in client.get(response.location).get_data(as_text=True)


def test_a_bad_service_code_comes_back_422_with_the_message_next_to_it_and_everything_kept(client, login_as):
    login_as("admin")
    response = client.post(f"{BASE}/types/new", data=service_form(code="SR PD01", keywords="car, junk"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="code-error"' in html
    assert re.search(r'aria-describedby="code-hint code-error"[^>]*id="code"', html) or 'aria-invalid="true"' in html
    assert 'value="SR PD01"' in html
    assert 'value="Vehículo abandonado"' in html
    assert 'value="car, junk"' in html


def test_a_taken_code_is_refused_next_to_the_code(app, client, login_as):
    make_type(app, "SR-PD01")
    login_as("admin")
    response = client.post(f"{BASE}/types/new", data=service_form())
    assert response.status_code == 422
    assert "Another service already uses the code SR-PD01." in response.get_data(as_text=True)


def test_the_service_form_puts_english_and_spanish_side_by_side(client, login_as):
    login_as("admin")
    html = client.get(f"{BASE}/types/new").get_data(as_text=True)
    assert ">English</legend>" in html
    assert ">Spanish</legend>" in html
    assert re.search(r'id="name_es"[^>]*lang="es"|lang="es"[^>]*id="name_es"', html)


def test_an_admin_deactivates_a_service_and_its_requests_stay(app, client, login_as):
    service_id = make_type(app, requests=1)
    login_as("admin")
    form = client.get(f"{BASE}/types/{service_id}/edit").get_data(as_text=True)
    assert 'value="SR-ST04"' in form
    data = service_form(code="SR-ST04", name_en="Street light", group_en="Streets")
    del data["active"]
    assert client.post(f"{BASE}/types/{service_id}/edit", data=data).status_code == 302
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Not in use" in html
    assert "1 request" in html


def test_deleting_a_service_with_requests_is_refused_with_the_way_out(app, client, login_as):
    service_id = make_type(app, requests=1)
    login_as("admin")
    page = client.get(f"{BASE}/types/{service_id}/delete").get_data(as_text=True)
    assert "Deactivate it instead" in page
    response = client.post(f"{BASE}/types/{service_id}/delete", data={"confirm": "yes"})
    assert response.status_code == 409
    assert "cannot be deleted" in response.get_data(as_text=True)
    with app.test_request_context():
        assert db.session.get(ServiceType, service_id) is not None


def test_an_admin_deletes_an_unused_service(app, client, login_as):
    service_id = make_type(app)
    login_as("admin")
    response = client.post(f"{BASE}/types/{service_id}/delete", data={"confirm": "yes"})
    assert response.status_code == 302
    assert response.location == f"{BASE}/"
    with app.test_request_context():
        assert db.session.get(ServiceType, service_id) is None


# Attributes ------------------------------------------------------------------------------------


def test_an_admin_adds_a_list_question_and_sees_its_choices(app, client, login_as):
    service_id = make_type(app)
    login_as("admin")
    response = client.post(f"{BASE}/types/{service_id}/attributes", data=attribute_form())
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "The question color was added." in html
    assert "Black" in html
    assert "<code>white</code>" in html
    with app.test_request_context():
        attribute = db.session.scalar(select(ServiceAttribute).where(ServiceAttribute.code == "color"))
        assert attribute.values[0] == {"key": "black", "name": {"en": "Black", "es": "Negro"}}


def test_a_bad_choice_line_comes_back_422_on_the_service_page_with_the_text_kept(app, client, login_as):
    service_id = make_type(app)
    login_as("admin")
    values = "black | Black\nwhite"
    response = client.post(f"{BASE}/types/{service_id}/attributes", data=attribute_form(values=values))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" in html
    assert 'id="values-error"' in html
    assert "Line 2" in html
    assert "black | Black\nwhite</textarea>" in html
    assert attribute_codes(app, service_id) == []


def test_htmx_adds_a_question_and_gets_the_list_back_with_an_empty_form(app, client, login_as):
    service_id = make_type(app)
    login_as("admin")
    response = client.post(f"{BASE}/types/{service_id}/attributes", data=attribute_form(), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="attributes"' in html
    assert "The question color was added." in html
    assert re.search(r'id="code"[^>]*value=""', html)


def test_htmx_gets_the_fragment_with_messages_and_422_for_a_bad_question(app, client, login_as):
    service_id = make_type(app)
    login_as("admin")
    response = client.post(
        f"{BASE}/types/{service_id}/attributes", data=attribute_form(datatype="number"), headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in html
    assert "Only list answers have choices" in html
    assert 'value="color"' in html


def test_an_admin_edits_a_question_and_a_bad_edit_keeps_what_was_typed(app, client, login_as):
    service_id = make_type(app, attributes=[{"code": "pole_number", "datatype": "string"}])
    attribute_id = _first_attribute_id(app, service_id)
    login_as("admin")
    url = f"{BASE}/types/{service_id}/attributes/{attribute_id}/edit"
    assert 'value="pole_number"' in client.get(url).get_data(as_text=True)
    refused = client.post(
        url, data=attribute_form(code="pole_number", datatype="string", values="", variable="", description_en="Pole")
    )
    assert refused.status_code == 422
    assert "cannot be required" in refused.get_data(as_text=True)
    assert 'value="Pole"' in refused.get_data(as_text=True)
    saved = client.post(
        url, data=attribute_form(code="pole_number", datatype="string", values="", description_en="Pole")
    )
    assert saved.status_code == 302


def _first_attribute_id(app, service_id: int) -> int:
    with app.test_request_context():
        return db.session.scalar(
            select(ServiceAttribute.id)
            .where(ServiceAttribute.service_type_id == service_id)
            .order_by(ServiceAttribute.position)
        )


def test_questions_move_with_plain_forms_and_with_htmx(app, client, login_as):
    service_id = make_type(
        app, attributes=[{"code": code, "datatype": "string"} for code in ("make", "color", "plate")]
    )
    with app.test_request_context():
        plate = db.session.scalar(select(ServiceAttribute.id).where(ServiceAttribute.code == "plate"))
    login_as("admin")
    url = f"{BASE}/types/{service_id}/attributes/{plate}/move"
    response = client.post(url, data={"direction": "up"})
    assert response.status_code == 302
    assert attribute_codes(app, service_id) == ["make", "plate", "color"]
    fragment = client.post(url, data={"direction": "up"}, headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "<html" not in html
    assert "plate moved up." in html
    assert re.search(r'value="down" autofocus>Move down<span class="usa-sr-only"> plate', html)
    assert attribute_codes(app, service_id) == ["plate", "make", "color"]
    assert client.post(url, data={"direction": "sideways"}, headers=HTMX).status_code == 422


def test_an_admin_removes_a_question_after_confirming(app, client, login_as):
    service_id = make_type(app, attributes=[{"code": "pole_number", "datatype": "string"}])
    attribute_id = _first_attribute_id(app, service_id)
    login_as("admin")
    url = f"{BASE}/types/{service_id}/attributes/{attribute_id}/delete"
    assert "Answers already filed stay" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={}).status_code == 422
    assert attribute_codes(app, service_id) == ["pole_number"]
    assert client.post(url, data={"confirm": "yes"}).status_code == 302
    assert attribute_codes(app, service_id) == []


def test_a_question_of_another_service_is_a_404(app, client, login_as):
    lights = make_type(app, "SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    alleys = make_type(app, "SR-ST06")
    login_as("admin")
    attribute_id = _first_attribute_id(app, lights)
    assert client.get(f"{BASE}/types/{alleys}/attributes/{attribute_id}/edit").status_code == 404


# Neighborhoods ---------------------------------------------------------------------------------


def test_an_admin_adds_edits_and_deletes_a_neighborhood(app, client, login_as):
    login_as("admin")
    response = client.post(f"{BASE}/neighborhoods/new", data={"name": "Kensington", "zipcodes": "19134 19125,19134"})
    assert response.status_code == 302
    html = client.get(f"{BASE}/neighborhoods").get_data(as_text=True)
    assert "Kensington" in html
    assert "19134, 19125" in html
    with app.test_request_context():
        neighborhood_id = db.session.scalar(select(Neighborhood.id))
    edit = f"{BASE}/neighborhoods/{neighborhood_id}/edit"
    assert 'value="19134, 19125"' in client.get(edit).get_data(as_text=True)
    assert client.post(edit, data={"name": "Kensington", "zipcodes": "19134, 19125, 19122"}).status_code == 302
    delete = f"{BASE}/neighborhoods/{neighborhood_id}/delete"
    assert client.post(delete, data={"confirm": "yes"}).status_code == 302
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(Neighborhood)) == 0


def test_a_bad_zip_code_comes_back_422_next_to_the_field_with_what_was_typed(client, login_as):
    login_as("admin")
    response = client.post(f"{BASE}/neighborhoods/new", data={"name": "Fairhill", "zipcodes": "19133, 1913"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="zipcodes-error"' in html
    assert "1913 is not a 5-digit ZIP code." in html
    assert 'value="Fairhill"' in html
    assert 'value="19133, 1913"' in html


def test_a_coordinator_sees_neighborhoods_without_the_add_form(app, client, login_as):
    with app.test_request_context():
        db.session.add(Neighborhood(name="Cedar Park", zipcodes=["19143"]))
        db.session.commit()
    login_as("coordinator")
    html = client.get(f"{BASE}/neighborhoods").get_data(as_text=True)
    assert "Cedar Park" in html
    assert "19143" in html
    assert "Add a neighborhood" not in html


# CSRF ------------------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    admin = make_user(Role.COORDINATOR, is_admin=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": admin.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_catalog_changes_without_the_csrf_token_are_refused_and_keep_what_was_typed(app, csrf_client):
    response = csrf_client.post(f"{BASE}/types/new", data=service_form())
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your session expired" in html
    assert 'value="Abandoned Vehicle"' in html
    service_id = make_type(app, attributes=[{"code": "a", "datatype": "string"}, {"code": "b", "datatype": "string"}])
    attribute_id = _first_attribute_id(app, service_id)
    moved = csrf_client.post(f"{BASE}/types/{service_id}/attributes/{attribute_id}/move", data={"direction": "down"})
    assert moved.status_code == 422
    assert attribute_codes(app, service_id) == ["a", "b"]
    with app.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceType)) == 1
