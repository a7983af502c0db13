"""A resident applies to become a liaison from the public form, in English or Spanish."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from liaison.auth.models import Role, User
from liaison.enrollment import services
from liaison.enrollment.models import Application, ApplicationStatus, GroupType
from liaison.extensions import db
from tests import factories

VALID = {
    "full_name": "Ana López",
    "email": "  Ana.Lopez@Example.ORG ",
    "phone": "(215) 555-0134",
    "address": "2213 N Howard St, Apt 2",
    "zip_code": "19133",
    "neighborhood": "Fairhill",
    "group_type": "civic_association",
    "group_name": "Fairhill Civic Association",
    "languages": ["en", "es"],
    "languages_other": "Tagalog",
    "availability": ["weekday_evenings", "weekends"],
    "motivation": "Our block has had broken street lights for months and I want to help neighbors report them.",
    "consent": "y",
}


def form(**changes):
    """The valid answers with some changed; a value of None leaves that answer out."""
    data = {**VALID, **changes}
    return {name: value for name, value in data.items() if value is not None}


def applications(app):
    with app.app_context():
        return db.session.scalars(select(Application).order_by(Application.id)).all()


def error_next_to(html: str, field_id: str) -> str:
    """The error message shown for a field (its element is referenced by the control)."""
    match = re.search(rf'id="{field_id}-error"[^>]*>\s*([^<]+?)\s*<', html)
    assert match, f"no error message next to {field_id}"
    return html_lib.unescape(match.group(1))


def is_checked(html: str, input_id: str) -> bool:
    match = re.search(rf'<input[^>]*\bid="{input_id}"[^>]*>', html)
    assert match, f"no input {input_id}"
    return re.search(r"\schecked[\s>]", match.group(0)) is not None


# The form ------------------------------------------------------------------------------------


def test_the_form_asks_every_question_with_a_label(client):
    response = client.get("/apply")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for label in (
        "Full name",
        "Email address",
        "Phone number",
        "Home address",
        "ZIP code",
        "Neighborhood",
        "What kind of group do you represent?",
        "Name of your group",
        "Languages you speak",
        "Other languages",
        "When can you attend training sessions?",
        "Why do you want to be a neighborhood liaison?",
        "I have read the program terms above and I agree to them.",
    ):
        assert label in html, label
    for field_id in ("full_name", "email", "phone", "address", "zip_code", "neighborhood", "group_name", "motivation"):
        assert f'<label class="usa-label" for="{field_id}">' in html, field_id
    for choice in ("Block club", "Civic association", "Faith group", "Haitian Creole", "Portuguese", "Weekends"):
        assert choice in html
    assert html.count('<fieldset class="usa-fieldset') >= 6
    assert html.count("<legend") >= 6
    assert "usa-step-indicator" in html
    assert "As a liaison you agree to:" in html


def test_the_neighborhood_box_suggests_cohort_neighborhoods_but_never_what_visitors_typed(app, client):
    with app.test_request_context():
        coordinator = factories.make_coordinator()
        services.create_cohort(coordinator, services.CohortInput(name="Spring", neighborhood="Kensington", capacity=5))
        services.submit_application(
            services.ApplicationInput(
                full_name="Earlier", email="earlier@example.org", neighborhood="Planted Text", consent=True
            )
        )
        db.session.commit()
    html = client.get("/apply").get_data(as_text=True)
    assert 'list="neighborhood-options"' in html
    assert re.search(r'<datalist id="neighborhood-options">\s*<option value="Kensington">', html)
    assert "Planted Text" not in html


def test_the_form_is_in_spanish_for_a_spanish_browser(client):
    response = client.get("/apply", headers={"Accept-Language": "es-US,es;q=0.9"})
    assert response.status_code == 200
    assert '<html lang="es"' in response.get_data(as_text=True)


def test_the_home_page_invites_visitors_to_apply_and_still_offers_log_in(client):
    html = client.get("/").get_data(as_text=True)
    apply_link = re.search(r'<a class="usa-button usa-button--big" href="/apply">Apply to become a liaison</a>', html)
    log_in_link = re.search(r'<a class="usa-button usa-button--big usa-button--outline" href="/login">Log in</a>', html)
    assert apply_link
    assert log_in_link
    assert apply_link.start() < log_in_link.start(), "the primary action comes first"


# Sending it ----------------------------------------------------------------------------------


def test_a_valid_application_is_saved_once_and_confirmed_by_email(app, client, outbox):
    response = client.post("/apply", data=form())
    assert response.status_code == 302
    assert response.location == "/apply/thanks"

    [application] = applications(app)
    assert application.email == "ana.lopez@example.org"
    assert application.full_name == "Ana López"
    assert application.preferred_language == "en"
    assert application.group_type == GroupType.CIVIC_ASSOCIATION
    assert application.languages == ["en", "es", "Tagalog"]
    assert application.availability == ["weekday_evenings", "weekends"]
    assert application.zip_code == "19133"
    assert application.consent is True
    assert application.status == ApplicationStatus.SUBMITTED

    [message] = outbox()
    assert message["To"] == "ana.lopez@example.org"
    assert message["Subject"] == "We received your application to Neighborhood Liaison Program"
    body = message.get_content()
    assert "Hello Ana López," in body
    assert "What happens next:" in body
    assert "{{" not in body


def test_an_application_sent_from_the_spanish_form_is_kept_in_spanish(app, client, outbox):
    response = client.post("/apply", data=form(), headers={"Accept-Language": "es"})
    assert response.status_code == 302
    [application] = applications(app)
    assert application.preferred_language == "es"
    assert len(outbox()) == 1


def test_the_language_chosen_on_the_site_is_the_applicants_language(app, client):
    client.post("/language", data={"language": "es", "next": "/apply"})
    client.post("/apply", data=form(), headers={"Accept-Language": "en"})
    [application] = applications(app)
    assert application.preferred_language == "es"


def test_the_thanks_page_says_what_happens_next(client):
    response = client.post("/apply", data=form(), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Thank you for applying</h1>" in html
    assert "usa-summary-box" in html
    assert "What happens next" in html
    assert "A program coordinator reviews every application" in html
    assert "link works for 7 days" in html
    assert 'aria-current="step"' in html


# Errors --------------------------------------------------------------------------------------

REQUIRED = {
    "full_name": ("full_name", "Enter your full name."),
    "email": ("email", "Enter your email address."),
    "phone": ("phone", "Enter a phone number where we can reach you."),
    "address": ("address", "Enter your home address."),
    "zip_code": ("zip_code", "Enter your ZIP code."),
    "neighborhood": ("neighborhood", "Enter the neighborhood you live in."),
    "group_type": ("group_type", "Choose the kind of group you represent."),
    "group_name": ("group_name", "Enter the name of the group you represent."),
    "availability": ("availability", "Choose at least one time when you could attend."),
    "motivation": ("motivation", "Tell us in a few sentences why you want to serve."),
    "consent": ("consent", "Please agree to the program terms to apply."),
}


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_each_missing_answer_is_named_next_to_its_question_and_nothing_typed_is_lost(app, client, outbox, missing):
    field_id, message = REQUIRED[missing]
    response = client.post("/apply", data=form(**{missing: None}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(html, field_id) == message
    assert f'href="#{field_id}' in html  # the summary at the top links to the question
    kept = {
        "full_name": 'value="Ana López"',
        "phone": 'value="(215) 555-0134"',
        "zip_code": 'value="19133"',
        "neighborhood": 'value="Fairhill"',
        "group_name": 'value="Fairhill Civic Association"',
        "languages_other": 'value="Tagalog"',
    }
    for name, value in kept.items():
        if name != missing:
            assert value in html, f"{name} was lost"
    if missing != "motivation":
        assert VALID["motivation"] in html
    if missing != "group_type":
        assert is_checked(html, "group_type-1")
        assert not is_checked(html, "group_type-0")
    assert is_checked(html, "languages-1")
    assert not is_checked(html, "languages-2")
    if missing != "availability":
        assert is_checked(html, "availability-2")
    if missing != "consent":
        assert is_checked(html, "consent")
    assert applications(app) == []
    assert outbox() == []


def test_a_language_is_needed_but_one_typed_under_other_is_enough(app, client):
    refused = client.post("/apply", data=form(languages=None, languages_other=""))
    assert refused.status_code == 422
    assert (
        error_next_to(refused.get_data(as_text=True), "languages")
        == "Choose at least one language, or write it under Other languages."
    )
    accepted = client.post("/apply", data=form(languages=None, languages_other="Khmer, Lao"))
    assert accepted.status_code == 302
    [application] = applications(app)
    assert application.languages == ["Khmer", "Lao"]


@pytest.mark.parametrize("zip_code", ["1913", "191333", "19133-12", "19133 1234", "ABCDE", "19133-ABCD"])
def test_a_zip_code_must_be_five_digits_or_zip_plus_four(app, client, zip_code):
    response = client.post("/apply", data=form(zip_code=zip_code))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(html, "zip_code") == "Enter a 5-digit ZIP code, like 19121, or ZIP+4, like 19121-3401."
    assert f'value="{zip_code}"' in html
    assert applications(app) == []


@pytest.mark.parametrize("zip_code", ["19133", "19133-2101", " 19133 "])
def test_five_digit_and_zip_plus_four_codes_are_accepted(app, client, zip_code):
    assert client.post("/apply", data=form(zip_code=zip_code)).status_code == 302
    [application] = applications(app)
    assert application.zip_code == zip_code.strip()


@pytest.mark.parametrize("phone", ["555-0134", "215 555 01345 6", "call me"])
def test_a_phone_number_needs_ten_digits(app, client, phone):
    response = client.post("/apply", data=form(phone=phone))
    assert response.status_code == 422
    assert (
        error_next_to(response.get_data(as_text=True), "phone")
        == "Enter a 10-digit phone number with the area code, like 215-555-0123."
    )


def test_a_bad_email_address_is_explained(client):
    response = client.post("/apply", data=form(email="ana at example"))
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "email") == "Enter an email address like name@example.org."


def test_why_you_want_to_serve_is_limited_to_2000_characters_and_kept_when_too_long(app, client):
    too_long = "I care about my block. " * 100
    response = client.post("/apply", data=form(motivation=too_long))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(html, "motivation") == "Use at most 2000 characters; you wrote more. Shorten it a little."
    assert too_long.strip() in html
    assert 'maxlength="2000"' in html
    assert client.post("/apply", data=form(motivation="x" * 2000)).status_code == 302


def test_consent_is_required_even_if_the_rest_is_right(app, client, outbox):
    response = client.post("/apply", data=form(consent=None))
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "consent") == "Please agree to the program terms to apply."
    assert applications(app) == []
    assert outbox() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"group_type": "secret_society"},
        {"languages": ["en", "klingon"]},
        {"availability": ["midnight"]},
    ],
)
def test_made_up_choices_are_refused_without_an_error_page(app, client, changes):
    response = client.post("/apply", data=form(**changes))
    assert response.status_code == 422
    assert applications(app) == []


# One pending application per email -------------------------------------------------------------


def test_a_second_application_while_one_is_pending_is_refused_next_to_the_email(app, client, outbox):
    assert client.post("/apply", data=form()).status_code == 302
    again = client.post("/apply", data=form(email="ANA.LOPEZ@example.org", full_name="Ana L."))
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    assert error_next_to(html, "email").startswith(
        "An application with this email address is already waiting for review."
    )
    assert 'value="Ana L."' in html
    assert len(applications(app)) == 1
    assert len(outbox()) == 1


def test_a_waitlisted_application_also_counts_as_pending(app, client, make_user):
    coordinator = make_user(Role.COORDINATOR)
    client.post("/apply", data=form())
    with app.test_request_context():
        [application] = db.session.scalars(select(Application)).all()
        services.waitlist_application(db.session.get(User, coordinator.id), application)
        db.session.commit()
    assert client.post("/apply", data=form()).status_code == 422
    assert len(applications(app)) == 1


def test_someone_whose_earlier_application_was_declined_can_apply_again(app, client, make_user, outbox):
    coordinator = make_user(Role.COORDINATOR)
    client.post("/apply", data=form())
    with app.test_request_context():
        [application] = db.session.scalars(select(Application)).all()
        services.decline_application(db.session.get(User, coordinator.id), application, "Lives outside the city.")
        db.session.commit()
    response = client.post("/apply", data=form(address="1 New Home St"))
    assert response.status_code == 302
    stored = applications(app)
    assert [a.status for a in stored] == [ApplicationStatus.DECLINED, ApplicationStatus.SUBMITTED]
    assert stored[1].address == "1 New Home St"


# Abuse ---------------------------------------------------------------------------------------


def test_sending_the_form_is_rate_limited_per_address(app, client):
    app.config["RATELIMIT_APPLY"] = "3 per hour"
    for number in range(3):
        assert client.post("/apply", data=form(email=f"bot{number}@example.org")).status_code == 302
    blocked = client.post("/apply", data=form(email="bot-more@example.org"))
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert client.get("/apply").status_code == 200  # reading the form is not limited
    other_address = client.post(
        "/apply", data=form(email="neighbor@example.org"), environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert other_address.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 4


def test_a_form_sent_with_an_expired_token_comes_back_with_what_was_typed(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/apply", data=form(csrf_token="stale"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your session expired. Check the form and send it again." in html
    assert 'value="Ana López"' in html
    assert VALID["motivation"] in html
    assert applications(app) == []


def test_when_the_database_drops_out_while_saving_the_form_comes_back_with_what_was_typed(
    app, client, outbox, monkeypatch
):
    def down(*args, **kwargs):
        raise OperationalError("COMMIT", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "commit", down)
    response = client.post("/apply", data=form())
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "We could not save your application because our database did not answer." in html
    assert 'value="Ana López"' in html
    assert VALID["motivation"] in html
    assert is_checked(html, "consent")
    assert outbox() == []
    monkeypatch.undo()
    assert client.post("/apply", data=form()).status_code == 302
    assert len(applications(app)) == 1
