"""Checking one request row: required fields, formats, consent and attribute datatypes."""

from __future__ import annotations

from typing import Any

import pytest

from liaison.service_requests.validation import Catalog, load_catalog, normalize_address, validate_row
from tests import factories

pytestmark = pytest.mark.usefixtures("app_ctx")

COLOR_VALUES = [
    {"key": "blue", "name": {"en": "Blue", "es": "Azul"}},
    {"key": "green", "name": {"en": "Green", "es": "Verde"}},
    {"key": "black", "name": {"en": "Black", "es": "Negro"}},
]


@pytest.fixture
def catalog() -> Catalog:
    factories.make_service_type("POTHOLE", name="Pothole")
    factories.make_service_type(
        "BULKY",
        name="Bulky item pickup",
        attributes=[
            {"code": "item_count", "datatype": "number", "required": True},
            {"code": "pickup_after", "datatype": "datetime"},
            {"code": "bin_color", "datatype": "singlevaluelist", "values": COLOR_VALUES},
            {"code": "items", "datatype": "multivaluelist", "values": COLOR_VALUES},
            {"code": "note", "datatype": "string"},
            {"code": "details", "datatype": "text"},
            {"code": "notice", "datatype": "string", "variable": False, "required": True},
        ],
    )
    factories.make_service_type("OLD", name="Retired service", active=False)
    return load_catalog()


def row(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "service_code": "POTHOLE",
        "address": "1200 Cedar Ave",
        "zipcode": "19143",
        "lat": "",
        "long": "",
        "description": "Deep pothole in front of the school",
        "neighbor_first_name": "",
        "neighbor_last_name": "",
        "neighbor_phone": "",
        "neighbor_email": "",
        "contact_consent": "",
        "attributes": {},
    }
    values.update(overrides)
    return values


def bulky(**answers: Any) -> dict[str, Any]:
    return row(service_code="BULKY", attributes={"item_count": "2", **answers})


def test_a_complete_row_is_valid_and_typed(catalog):
    check = validate_row(
        row(
            lat=" 39.95 ",
            long="-75.16",
            neighbor_first_name="Ana",
            neighbor_phone="(215) 555-0123",
            neighbor_email="ana@example.org",
            contact_consent="Yes",
        ),
        catalog,
    )
    assert check.errors == {}
    assert check.cleaned["service_type_id"] == catalog.by_code("POTHOLE").id
    assert check.cleaned["lat"] == 39.95
    assert check.cleaned["long"] == -75.16
    assert check.cleaned["normalized_address"] == "1200 cedar ave"
    assert check.cleaned["contact_consent"] is True
    assert check.cleaned["neighbor_first_name"] == "Ana"


def test_load_catalog_uses_two_queries_however_many_services(app, catalog, count_queries):
    for number in range(5):
        factories.make_service_type(attributes=[{"code": f"a{number}", "datatype": "string"}])
    with count_queries() as queries:
        loaded = load_catalog()
        assert all(service.attributes is not None for service in loaded.types)
    assert len(queries) == 2
    assert len(loaded.types) == 7


def test_inactive_services_are_not_in_the_catalog(catalog):
    assert catalog.by_code("OLD") is None
    assert "service_code" in validate_row(row(service_code="OLD"), catalog).errors


@pytest.mark.parametrize("given", ["pothole", " POTHOLE ", "Pothole", "POTHOLE"])
def test_service_is_found_by_code_in_any_case_or_by_its_name(catalog, given):
    check = validate_row(row(service_code=given), catalog)
    assert check.errors == {}
    assert check.cleaned["service_type_id"] == catalog.by_code("POTHOLE").id


def test_service_is_found_by_its_spanish_name(catalog):
    service = factories.make_service_type("LIGHT", name=None)
    fresh = load_catalog()
    assert fresh.by_name(service.name["es"].upper()).id == service.id


def test_a_missing_or_unknown_service_is_reported(catalog):
    assert validate_row(row(service_code=""), catalog).errors["service_code"] == "Enter a service code or service name."
    unknown = validate_row(row(service_code="NOPE"), catalog).errors["service_code"]
    assert "no active service" in unknown


def test_address_is_required_unless_both_coordinates_are_given(catalog):
    assert "address" in validate_row(row(address=""), catalog).errors
    check = validate_row(row(address="", lat="39.95", long="-75.16"), catalog)
    assert check.errors == {}
    assert check.cleaned["normalized_address"] == ""


def test_latitude_without_longitude_is_flagged_on_the_missing_one(catalog):
    assert set(validate_row(row(lat="39.9"), catalog).errors) == {"long"}
    assert set(validate_row(row(long="-75.1"), catalog).errors) == {"lat"}


@pytest.mark.parametrize(
    ("lat", "long", "field"),
    [("91", "0", "lat"), ("-90.5", "0", "lat"), ("0", "180.1", "long"), ("abc", "1", "lat"), ("1", "1,5", "long")],
)
def test_coordinates_out_of_range_or_not_numbers_are_refused(catalog, lat, long, field):
    assert field in validate_row(row(lat=lat, long=long), catalog).errors


@pytest.mark.parametrize(
    ("zipcode", "ok"), [("19143", True), ("19143-1234", True), ("1914", False), ("19143 1", False)]
)
def test_zipcode_is_five_digits_or_zip_plus_four(catalog, zipcode, ok):
    errors = validate_row(row(zipcode=zipcode), catalog).errors
    assert ("zipcode" not in errors) is ok
    if not ok:
        assert errors["zipcode"].startswith("Enter a 5-digit ZIP code")


def test_description_is_required_and_at_most_4000_characters(catalog):
    assert "description" in validate_row(row(description="   "), catalog).errors
    assert validate_row(row(description="x" * 4000), catalog).errors == {}
    message = validate_row(row(description="x" * 4001), catalog).errors["description"]
    assert message == "Description can be at most 4000 characters."


def test_neighbor_names_are_at_most_100_characters(catalog):
    errors = validate_row(row(neighbor_last_name="x" * 101, contact_consent="yes"), catalog).errors
    assert set(errors) == {"neighbor_last_name"}


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("215-555-0123", True), ("+1 (215) 555.0123", True), ("555012", False), ("215 555 0123 ext 4", False)],
)
def test_phone_numbers_have_7_to_15_digits_and_only_phone_characters(catalog, phone, ok):
    errors = validate_row(row(neighbor_phone=phone, contact_consent="yes"), catalog).errors
    assert ("neighbor_phone" not in errors) is ok


@pytest.mark.parametrize(("email", "ok"), [("ana@example.org", True), ("ana@", False), ("ana example.org", False)])
def test_neighbor_email_must_be_an_address(catalog, email, ok):
    errors = validate_row(row(neighbor_email=email, contact_consent="sí"), catalog).errors
    assert ("neighbor_email" not in errors) is ok


@pytest.mark.parametrize(
    ("given", "consent"),
    [("yes", True), ("Y", True), ("TRUE", True), ("1", True), ("Sí", True), ("si", True), ("no", False), ("N", False)]
    + [("false", False), ("0", False), ("", False)],
)
def test_consent_accepts_yes_and_no_words_in_english_and_spanish(catalog, given, consent):
    check = validate_row(row(contact_consent=given), catalog)
    assert check.errors == {}
    assert check.cleaned["contact_consent"] is consent


def test_consent_that_is_not_yes_or_no_is_refused(catalog):
    assert validate_row(row(contact_consent="maybe"), catalog).errors == {
        "contact_consent": "Write yes or no for contact consent."
    }


@pytest.mark.parametrize("field", ["neighbor_first_name", "neighbor_last_name", "neighbor_phone", "neighbor_email"])
def test_contact_details_without_consent_are_refused(catalog, field):
    value = {"neighbor_phone": "215-555-0123", "neighbor_email": "ana@example.org"}.get(field, "Ana")
    errors = validate_row(row(**{field: value, "contact_consent": "no"}), catalog).errors
    assert errors == {"contact_consent": "Tick consent or leave the neighbor's contact details empty."}


def test_messages_never_repeat_what_was_typed(catalog):
    errors = validate_row(
        row(neighbor_email="secret-person@", neighbor_phone="12", neighbor_first_name="Zebulon", zipcode="abc"),
        catalog,
    ).errors
    assert errors
    assert not any(secret in message for message in errors.values() for secret in ("secret-person", "Zebulon"))


def test_nul_bytes_are_refused_in_any_field(catalog):
    errors = validate_row(row(address="12\x00 Oak St", description="bad\x00"), catalog).errors
    assert set(errors) == {"address", "description"}
    assert "NUL" in errors["address"]


def test_surrounding_whitespace_is_stripped(catalog):
    check = validate_row(row(address="  1200 Cedar Ave  ", description="\tHole\n"), catalog)
    assert check.cleaned["address"] == "1200 Cedar Ave"
    assert check.cleaned["description"] == "Hole"


def test_values_that_are_not_strings_are_read_as_text(catalog):
    check = validate_row(row(zipcode=19143, lat=None, long=None), catalog)
    assert check.errors == {}
    assert check.cleaned["zipcode"] == "19143"


# Attributes -------------------------------------------------------------------------------------


def test_required_attribute_must_be_answered(catalog):
    errors = validate_row(row(service_code="BULKY"), catalog).errors
    assert set(errors) == {"attribute:item_count"}
    assert "required" in errors["attribute:item_count"]
    assert "Item Count" in errors["attribute:item_count"]


def test_informational_attributes_are_never_required(catalog):
    assert "attribute:notice" not in validate_row(bulky(), catalog).errors


@pytest.mark.parametrize(("given", "cleaned"), [("2", 2), ("2.5", 2.5), ("-1", -1), (".5", 0.5)])
def test_number_attributes_take_plain_decimals(catalog, given, cleaned):
    check = validate_row(bulky(item_count=given), catalog)
    assert check.errors == {}
    assert check.cleaned["attributes"]["item_count"] == cleaned


@pytest.mark.parametrize("given", ["2,5", "two", "1e3", "1.2.3"])
def test_number_attributes_refuse_anything_else(catalog, given):
    assert "attribute:item_count" in validate_row(bulky(item_count=given), catalog).errors


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("2025-03-14 18:30", "2025-03-14T18:30"),
        ("2025-03-14T18:30:05", "2025-03-14T18:30:05"),
        ("2025-03-14T18:30:00Z", "2025-03-14T18:30:00+00:00"),
        ("2025-03-14", "2025-03-14T00:00"),
    ],
)
def test_datetime_attributes_take_iso_dates_and_are_stored_as_iso(catalog, given, cleaned):
    check = validate_row(bulky(pickup_after=given), catalog)
    assert check.errors == {}
    assert check.cleaned["attributes"]["pickup_after"] == cleaned


@pytest.mark.parametrize("given", ["14/03/2025", "tomorrow", "2025-13-01 10:00"])
def test_datetime_attributes_refuse_other_formats(catalog, given):
    assert "attribute:pickup_after" in validate_row(bulky(pickup_after=given), catalog).errors


@pytest.mark.parametrize("given", ["blue", "BLUE", "Blue", "azul", " Azul "])
def test_single_choice_accepts_the_key_or_a_localized_name(catalog, given):
    check = validate_row(bulky(bin_color=given), catalog)
    assert check.errors == {}
    assert check.cleaned["attributes"]["bin_color"] == "blue"


def test_single_choice_outside_the_list_names_the_choices(catalog):
    message = validate_row(bulky(bin_color="purple"), catalog).errors["attribute:bin_color"]
    assert "blue, green, black" in message


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [("blue;Verde", ["blue", "green"]), ("blue | black", ["blue", "black"]), (["green", "Azul"], ["green", "blue"])]
    + [("blue;blue", ["blue"])],
)
def test_multiple_choice_takes_a_list_or_text_separated_by_semicolons_or_bars(catalog, given, cleaned):
    check = validate_row(bulky(items=given), catalog)
    assert check.errors == {}
    assert check.cleaned["attributes"]["items"] == cleaned


def test_multiple_choice_with_one_unknown_item_is_refused(catalog):
    assert "attribute:items" in validate_row(bulky(items="blue;purple"), catalog).errors


def test_string_and_text_attributes_have_length_caps(catalog):
    assert validate_row(bulky(note="x" * 255, details="y" * 4000), catalog).errors == {}
    errors = validate_row(bulky(note="x" * 256, details="y" * 4001), catalog).errors
    assert set(errors) == {"attribute:note", "attribute:details"}


def test_attribute_of_another_service_is_flagged_in_uploads_and_dropped_in_the_grid(catalog):
    values = row(attributes={"item_count": "3"})
    upload = validate_row(values, catalog, upload=True)
    assert upload.errors == {"attribute:item_count": "This service has no field item_count."}
    grid = validate_row(values, catalog)
    assert grid.errors == {}
    assert grid.cleaned["attributes"] == {}


def test_empty_answers_for_another_services_attribute_are_not_flagged(catalog):
    assert validate_row(row(attributes={"item_count": ""}), catalog, upload=True).errors == {}


# Addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("1200 Cedar Avenue", "1200 cedar ave"),
        ("1200  cedar ave.", "1200 cedar ave"),
        ("52 North 5th Street", "52 n 5th st"),
        ("52 N. 5th St", "52 n 5th st"),
        ("9 Elm Road, Apt #2", "9 elm rd apt 2"),
        ("700 West Boulevard", "700 w blvd"),
        ("4 Oak Lane", "4 oak ln"),
        ("3 Pine Drive", "3 pine dr"),
        ("12 Rose Place", "12 rose pl"),
        ("100 South East Street", "100 s e st"),
        ("5 Calle Peña", "5 calle pena"),
    ],
)
def test_normalize_address_makes_the_same_place_read_the_same(address, normalized):
    assert normalize_address(address) == normalized


@pytest.mark.parametrize(
    "email",
    ["ana@example.org", "a.b+c@mail.example.co", "a..b@example.org", "ana@host.test", "ana@-bad.org", "ana@x.y"]
    + ["ñandú@example.org", "ana@例え.jp", ".ana@example.org", "ana.@example.org", "a" * 65 + "@example.org"],
)
def test_email_check_agrees_with_email_validator(catalog, email):
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
        expected = True
    except EmailNotValidError:
        expected = False
    errors = validate_row(row(neighbor_email=email, contact_consent="yes"), catalog).errors
    assert ("neighbor_email" not in errors) is expected
