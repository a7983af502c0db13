"""The service catalog's rules: codes, names, attributes and their choices, neighborhoods, the demo seed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests import catalog
from liaison.service_requests.models import (
    AttributeDatatype,
    Neighborhood,
    ServiceAttribute,
    ServiceRequest,
    ServiceType,
)
from tests import factories


@pytest.fixture
def admin(app_ctx):
    return factories.make_user(Role.COORDINATOR, is_admin=True)


def service_input(**overrides) -> catalog.ServiceTypeInput:
    fields = {
        "code": "SR-ST04",
        "name": {"en": "Street Light Outage", "es": "Farola apagada"},
        "group": {"en": "Streets", "es": "Calles"},
        "description": {"en": "A light that is out."},
        "keywords": "light, lamp",
    }
    fields.update(overrides)
    return catalog.ServiceTypeInput(**fields)


def attribute_input(**overrides) -> catalog.AttributeInput:
    fields = {"code": "pole_number", "datatype": "string", "description": {"en": "Pole number"}}
    fields.update(overrides)
    return catalog.AttributeInput(**fields)


def actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("catalog.%")).order_by(AuditEvent.id))
    )


# Service types -------------------------------------------------------------------------------


def test_a_new_service_is_stored_with_its_texts_and_audited(admin):
    service = catalog.create_service_type(admin, service_input(code=" sr-st04 ", keywords="light,  lamp , Light,"))
    db.session.commit()
    stored = db.session.get(ServiceType, service.id)
    assert stored.code == "SR-ST04"
    assert stored.name == {"en": "Street Light Outage", "es": "Farola apagada"}
    assert stored.keywords == "light, lamp"
    assert stored.active is True
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.service_type_created"))
    assert event.actor_id == admin.id
    assert event.subject_id == str(service.id)
    assert event.details == {"code": "SR-ST04"}


@pytest.mark.parametrize("code", ["SR ST04", "SR_ST04", "-SR", "SRÉ01", "S" * 33, ""])
def test_a_service_code_other_than_capitals_digits_and_dashes_is_refused(admin, code):
    with pytest.raises(ValidationFailed) as error:
        catalog.create_service_type(admin, service_input(code=code))
    assert error.value.field == "code"


def test_two_services_cannot_share_a_code(admin):
    catalog.create_service_type(admin, service_input())
    with pytest.raises(ValidationFailed, match="already uses the code SR-ST04") as error:
        catalog.create_service_type(admin, service_input(code="sr-st04", name={"en": "Other"}))
    assert error.value.field == "code"


def test_a_service_needs_an_english_name_and_a_group(admin):
    with pytest.raises(ValidationFailed) as error:
        catalog.create_service_type(admin, service_input(name={"en": " ", "es": "Farola"}))
    assert error.value.field == "name_en"
    with pytest.raises(ValidationFailed) as error:
        catalog.create_service_type(admin, service_input(group={"en": ""}))
    assert error.value.field == "group_en"


def test_an_unknown_kind_is_refused(admin):
    with pytest.raises(ValidationFailed) as error:
        catalog.create_service_type(admin, service_input(kind="instant"))
    assert error.value.field == "kind"


def test_a_group_left_without_spanish_takes_the_spanish_name_other_services_use(admin):
    factories.make_service_type("SR-ST01")  # group Streets / Calles
    service = catalog.create_service_type(admin, service_input(group={"en": "streets", "es": ""}))
    assert service.group == {"en": "streets", "es": "Calles"}


def test_deactivating_a_service_keeps_its_requests_and_is_audited(admin):
    service = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    liaison = factories.make_user(Role.LIAISON)
    factories.make_service_request(liaison, service)
    changed = catalog.update_service_type(
        admin,
        service,
        service_input(name=service.name, group=service.group, description=service.description, active=False),
    )
    db.session.commit()
    assert "active" in changed
    assert db.session.get(ServiceType, service.id).active is False
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
    assert actions()[-2:] == ["catalog.service_type_updated", "catalog.service_type_deactivated"]


def test_the_code_of_a_service_with_requests_cannot_change(admin):
    service = factories.make_service_type("SR-ST04")
    factories.make_service_request(factories.make_user(Role.LIAISON), service)
    with pytest.raises(Conflict, match="cannot change") as error:
        catalog.update_service_type(admin, service, service_input(code="SR-ST99"))
    assert error.value.field == "code"


def test_saving_a_service_unchanged_records_nothing(admin):
    service = catalog.create_service_type(admin, service_input())
    db.session.commit()
    before = actions()
    assert catalog.update_service_type(admin, service, service_input()) == []
    assert actions() == before


def test_a_service_with_requests_cannot_be_deleted(admin):
    service = factories.make_service_type("SR-ST04", name="Street Light Outage")
    factories.make_service_request(factories.make_user(Role.LIAISON), service)
    with pytest.raises(Conflict, match="Deactivate it instead"):
        catalog.delete_service_type(admin, service)
    db.session.rollback()
    assert db.session.get(ServiceType, service.id) is not None


def test_an_unused_service_is_deleted_with_its_attributes(admin):
    service = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    catalog.delete_service_type(admin, service)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ServiceType)) == 0
    assert db.session.scalar(select(func.count()).select_from(ServiceAttribute)) == 0
    assert actions() == ["catalog.service_type_deleted"]


def test_the_catalog_lists_services_by_group_with_their_counts(admin):
    lights = factories.make_service_type(
        "SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}, {"code": "light", "datatype": "text"}]
    )
    graffiti = factories.make_service_type("SR-CL01")
    graffiti.group = {"en": "Clean & Green"}
    factories.make_service_type("SR-ST01")
    factories.make_service_request(factories.make_user(Role.LIAISON), lights)
    service_types = list(db.session.scalars(catalog.catalog_query()))
    groups = catalog.catalog_groups(service_types)
    assert [group.name["en"] for group in groups] == ["Clean & Green", "Streets"]
    streets = {entry.service_type.code: entry for entry in groups[1].entries}
    assert (streets["SR-ST04"].attribute_count, streets["SR-ST04"].request_count) == (2, 1)
    assert (streets["SR-ST01"].attribute_count, streets["SR-ST01"].request_count) == (0, 0)


def test_an_unknown_service_is_not_found(app_ctx):
    with pytest.raises(NotFound):
        catalog.get_service_type(12345)


# Attributes ----------------------------------------------------------------------------------


def test_choices_are_read_from_lines_of_key_english_and_spanish():
    values = catalog.parse_values("blue | Blue | Azul\n\n Red|Red\n")
    assert [(value["key"], value["name"]) for value in values] == [
        ("blue", {"en": "Blue", "es": "Azul"}),
        ("red", {"en": "Red"}),
    ]
    assert catalog.format_values(values) == "blue | Blue | Azul\nred | Red"


@pytest.mark.parametrize("text", ["blue", "blue |", "| Blue", "a | b | c | d"])
def test_a_choice_line_without_key_and_english_name_names_its_line(text):
    with pytest.raises(ValidationFailed, match="Line 2") as error:
        catalog.parse_values(f"red | Red\n{text}")
    assert error.value.field == "values"


def test_an_attribute_is_added_last_and_audited(admin):
    service = factories.make_service_type("SR-ST04", attributes=[{"code": "light_type", "datatype": "string"}])
    attribute = catalog.add_attribute(
        admin, service, attribute_input(code="Pole_Number", datatype_description={"en": "On the tag", "es": ""})
    )
    db.session.commit()
    assert attribute.code == "pole_number"
    assert attribute.position == 2
    assert attribute.datatype_description == {"en": "On the tag"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.attribute_added"))
    assert event.details == {"code": "SR-ST04", "attribute": "pole_number"}


@pytest.mark.parametrize("code", ["pole number", "pole-number", "", "é"])
def test_an_attribute_code_other_than_small_letters_digits_and_underscores_is_refused(admin, code):
    service = factories.make_service_type("SR-ST04")
    with pytest.raises(ValidationFailed) as error:
        catalog.add_attribute(admin, service, attribute_input(code=code))
    assert error.value.field == "code"


def test_an_attribute_code_is_unique_within_its_service_only(admin):
    lights = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    alleys = factories.make_service_type("SR-ST06")
    with pytest.raises(ValidationFailed, match="already has an attribute"):
        catalog.add_attribute(admin, lights, attribute_input())
    assert catalog.add_attribute(admin, alleys, attribute_input()).code == "pole_number"


def test_a_list_attribute_needs_choices_with_unique_keys(admin):
    service = factories.make_service_type("SR-PD01")
    with pytest.raises(ValidationFailed, match="at least one choice"):
        catalog.add_attribute(admin, service, attribute_input(code="color", datatype="singlevaluelist"))
    duplicated = catalog.parse_values("blue | Blue\nBLUE | Navy")
    with pytest.raises(ValidationFailed, match="Line 2: The key blue is used twice"):
        catalog.add_attribute(
            admin, service, attribute_input(code="color", datatype="singlevaluelist", values=duplicated)
        )
    bad_key = catalog.parse_values("dark blue | Dark blue")
    with pytest.raises(ValidationFailed, match="Line 1: A key uses only"):
        catalog.add_attribute(admin, service, attribute_input(code="color", datatype="singlevaluelist", values=bad_key))
    values = catalog.parse_values("blue | Blue | Azul\nred | Red | Rojo")
    attribute = catalog.add_attribute(
        admin, service, attribute_input(code="color", datatype="multivaluelist", values=values)
    )
    assert attribute.values == [
        {"key": "blue", "name": {"en": "Blue", "es": "Azul"}},
        {"key": "red", "name": {"en": "Red", "es": "Rojo"}},
    ]


def test_only_list_attributes_have_choices(admin):
    service = factories.make_service_type("SR-PD01")
    with pytest.raises(ValidationFailed, match="Only list answers have choices") as error:
        catalog.add_attribute(
            admin, service, attribute_input(code="days", datatype="number", values=catalog.parse_values("a | A"))
        )
    assert error.value.field == "values"


def test_an_information_only_attribute_cannot_be_required(admin):
    service = factories.make_service_type("SR-PD01")
    with pytest.raises(ValidationFailed) as error:
        catalog.add_attribute(admin, service, attribute_input(required=True, variable=False))
    assert error.value.field == "required"


def test_an_attribute_needs_its_question_in_english(admin):
    service = factories.make_service_type("SR-PD01")
    with pytest.raises(ValidationFailed) as error:
        catalog.add_attribute(admin, service, attribute_input(description={"en": "", "es": "Número"}))
    assert error.value.field == "description_en"


def test_editing_an_attribute_changes_it_and_records_which_fields(admin):
    service = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    attribute = service.attributes[0]
    changed = catalog.update_attribute(
        admin, attribute, attribute_input(required=True, description={"en": "Pole number", "es": "Número del poste"})
    )
    db.session.commit()
    assert sorted(changed) == ["description", "required"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "catalog.attribute_updated"))
    assert sorted(event.details["fields"]) == ["description", "required"]


def test_the_attribute_code_of_a_service_with_requests_cannot_change(admin):
    service = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    factories.make_service_request(factories.make_user(Role.LIAISON), service)
    with pytest.raises(Conflict) as error:
        catalog.update_attribute(admin, service.attributes[0], attribute_input(code="pole"))
    assert error.value.field == "code"


def test_attributes_move_up_and_down_and_stop_at_the_ends(admin):
    service = factories.make_service_type(
        "SR-PD01",
        attributes=[{"code": code, "datatype": "string"} for code in ("make", "color", "plate")],
    )
    by_code = {attribute.code: attribute for attribute in service.attributes}
    assert catalog.move_attribute(admin, by_code["plate"], -1) is True
    assert catalog.move_attribute(admin, by_code["make"], -1) is False
    db.session.commit()
    db.session.expire_all()
    assert [attribute.code for attribute in db.session.get(ServiceType, service.id).attributes] == [
        "make",
        "plate",
        "color",
    ]
    assert actions() == ["catalog.attribute_moved"]


def test_removing_an_attribute_closes_the_gap_in_the_order(admin):
    service = factories.make_service_type(
        "SR-PD01",
        attributes=[{"code": code, "datatype": "string"} for code in ("make", "color", "plate")],
    )
    catalog.remove_attribute(admin, service.attributes[1])
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(ServiceType, service.id)
    assert [(attribute.code, attribute.position) for attribute in stored.attributes] == [("make", 1), ("plate", 2)]
    assert actions() == ["catalog.attribute_removed"]


def test_an_attribute_of_another_service_is_not_found(app_ctx):
    lights = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    alleys = factories.make_service_type("SR-ST06")
    with pytest.raises(NotFound):
        catalog.get_attribute(alleys.id, lights.attributes[0].id)


# Neighborhoods -------------------------------------------------------------------------------


def test_zip_codes_are_read_from_commas_or_spaces_without_repeats():
    assert catalog.parse_zipcodes("19134, 19125 19134\n19122;") == ["19134", "19125", "19122"]


@pytest.mark.parametrize("text", ["1913", "191340", "19134-1234", "ABCDE"])
def test_a_zip_code_that_is_not_five_digits_is_refused(text):
    with pytest.raises(ValidationFailed, match="5-digit") as error:
        catalog.parse_zipcodes(f"19143, {text}")
    assert error.value.field == "zipcodes"


def test_neighborhood_names_are_unique_whatever_their_case(admin):
    catalog.create_neighborhood(admin, catalog.NeighborhoodInput("Cedar Park", ["19143"]))
    with pytest.raises(ValidationFailed, match="already a neighborhood") as error:
        catalog.create_neighborhood(admin, catalog.NeighborhoodInput("  cedar   park ", ["19143"]))
    assert error.value.field == "name"


def test_a_neighborhood_needs_a_zip_code(admin):
    with pytest.raises(ValidationFailed) as error:
        catalog.create_neighborhood(admin, catalog.NeighborhoodInput("Cedar Park", []))
    assert error.value.field == "zipcodes"


def test_neighborhoods_are_created_renamed_and_deleted_with_audit_events(admin):
    neighborhood = catalog.create_neighborhood(admin, catalog.NeighborhoodInput("Kensington", ["19134"]))
    assert catalog.update_neighborhood(
        admin, neighborhood, catalog.NeighborhoodInput("Kensington", ["19134", "19125"])
    ) == ["zipcodes"]
    catalog.delete_neighborhood(admin, neighborhood)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Neighborhood)) == 0
    assert actions() == [
        "catalog.neighborhood_created",
        "catalog.neighborhood_updated",
        "catalog.neighborhood_deleted",
    ]


# The demo catalog ----------------------------------------------------------------------------

DESIGN_CODES = {
    "SR-ST01",
    "SR-ST02",
    "SR-ST03",
    "SR-ST04",
    "SR-ST06",
    "SR-CL01",
    "SR-CL02",
    "SR-PD01",
    "SR-PR08",
    "SR-LI27",
    "SR-IR01",
}


def counts() -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (ServiceType, ServiceAttribute, Neighborhood)
    )


def test_the_demo_catalog_ships_the_design_codes_in_both_languages(admin):
    catalog.seed_catalog(admin)
    db.session.commit()
    service_types = {service.code: service for service in db.session.scalars(select(ServiceType))}
    assert set(service_types) == DESIGN_CODES
    assert all(service.name.get("es") and service.group.get("es") for service in service_types.values())
    vehicle = {attribute.code: attribute for attribute in service_types["SR-PD01"].attributes}
    assert {"make", "color", "license_plate", "days_parked"} <= set(vehicle)
    assert vehicle["days_parked"].datatype is AttributeDatatype.NUMBER
    assert vehicle["color"].datatype is AttributeDatatype.SINGLEVALUELIST
    assert "pole_number" in {attribute.code for attribute in service_types["SR-ST04"].attributes}
    dumping = {attribute.code: attribute for attribute in service_types["SR-ST02"].attributes}
    assert dumping["material_types"].datatype is AttributeDatatype.MULTIVALUELIST
    rubbish = {attribute.code: attribute for attribute in service_types["SR-ST03"].attributes}
    assert rubbish["missed_collection_date"].datatype is AttributeDatatype.DATETIME


def test_the_demo_neighborhoods_cover_those_the_demo_program_uses(admin):
    from liaison.demo import COHORT_MEMBERS, PENDING, WAITLISTED

    catalog.seed_catalog(admin)
    names = set(db.session.scalars(select(Neighborhood.name)))
    used = {person[2] for people in COHORT_MEMBERS.values() for person in people}
    used |= {person[2] for person in PENDING + WAITLISTED}
    assert used <= names
    kensington = db.session.scalar(select(Neighborhood).where(Neighborhood.name == "Kensington"))
    assert {"19134", "19125"} <= set(kensington.zipcodes)


def test_seeding_twice_adds_nothing_the_second_time(admin):
    first = catalog.seed_catalog(admin)
    db.session.commit()
    after_first = counts()
    second = catalog.seed_catalog(admin)
    db.session.commit()
    assert first.service_types == 11
    assert after_first == (11, first.attributes, first.neighborhoods)
    assert not second.anything
    assert counts() == after_first
    assert actions().count("catalog.seeded") == 1


def test_seeding_keeps_an_admins_edits_and_adds_only_what_is_missing(admin):
    catalog.seed_catalog(admin)
    db.session.commit()
    lights = db.session.scalar(select(ServiceType).where(ServiceType.code == "SR-ST04"))
    lights.name = {"en": "Lights out"}
    removed = lights.attributes[0]
    catalog.remove_attribute(admin, removed)
    db.session.commit()
    result = catalog.seed_catalog(admin)
    db.session.commit()
    assert (result.service_types, result.attributes, result.neighborhoods) == (0, 1, 0)
    db.session.expire_all()
    lights = db.session.scalar(select(ServiceType).where(ServiceType.code == "SR-ST04"))
    assert lights.name == {"en": "Lights out"}
    assert removed.code in {attribute.code for attribute in lights.attributes}
