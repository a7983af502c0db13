"""Flow 1 in a real browser: a neighbor applies from a phone, in English or Spanish; a coordinator
approves them into a cohort; the new liaison sets a password from the emailed link and lands on
their dashboard. axe checks every page on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from liaison.auth.models import User
from liaison.demo import DEMO_PASSWORD
from liaison.enrollment import services
from liaison.enrollment.models import Application, GroupType
from liaison.extensions import db

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PHONE_CONTEXT = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
COORDINATOR = "coordinator@example.org"

AssertAccessible = Callable[[Page], None]


def assert_no_horizontal_scrolling(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, viewport: window.innerWidth})")
    assert widths["scroll"] <= widths["viewport"], f"{page.url} scrolls sideways on a phone: {widths}"


def choose(page: Page, name: str, value: str) -> None:
    """Tick a radio or checkbox by its value (works in any language); its label is what a finger taps."""
    control = page.locator(f"input[name='{name}'][value='{value}']")
    page.locator(f"label[for='{control.get_attribute('id')}']").click()
    expect(control).to_be_checked()


def fill_application(page: Page, *, full_name: str, email: str) -> None:
    """Answer every question, by field ids and values so it works in English and Spanish."""
    page.locator("#full_name").fill(full_name)
    page.locator("#email").fill(email)
    page.locator("#phone").fill("215-555-0188")
    page.locator("#address").fill("3100 N 5th St")
    page.locator("#zip_code").fill("19140")
    page.locator("#neighborhood").fill("Fairhill")
    choose(page, "group_type", "block_club")
    page.locator("#group_name").fill("3100 North 5th Street Block Club")
    choose(page, "languages", "en")
    choose(page, "languages", "es")
    choose(page, "availability", "weekday_evenings")
    page.locator("#motivation").fill("I already help my neighbors call 311; I want to do it properly.")
    page.locator("label[for='consent']").click()
    expect(page.locator("#consent")).to_be_checked()


def stored_application(app: Flask, email: str) -> Application:
    with app.app_context():
        application = db.session.scalars(select(Application).where(Application.email == email)).one()
        db.session.expunge(application)
        return application


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_a_neighbor_applies_in_english_on_a_phone(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, outbox: Callable[[], list]
) -> None:
    page.goto(live_server + "/")
    page.get_by_role("link", name="Apply to become a liaison").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply to become a neighborhood liaison")
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    # Sent with a mistake first: the error is beside the question and nothing typed is lost.
    fill_application(page, full_name="Dolores Rivera", email="Dolores.Rivera@Example.org")
    page.get_by_label("ZIP code").fill("1914")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Send my application").click()
    assert posted.value.status == 422
    expect(page.locator("#zip_code-error")).to_have_text(
        "Enter a 5-digit ZIP code, like 19121, or ZIP+4, like 19121-3401."
    )
    expect(page.get_by_label("Full name")).to_have_value("Dolores Rivera")
    expect(page.get_by_label("Block club")).to_be_checked()
    expect(page.locator("#consent")).to_be_checked()
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    page.get_by_role("link", name=re.compile("Enter a 5-digit ZIP code")).click()
    page.get_by_label("ZIP code").fill("19140-1234")
    page.get_by_role("button", name="Send my application").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for applying")
    expect(page.get_by_role("region", name="What happens next")).to_contain_text(
        "A program coordinator reviews every application"
    )
    assert page.url == live_server + "/apply/thanks"
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    application = stored_application(app, "dolores.rivera@example.org")
    assert application.preferred_language == "en"
    assert application.zip_code == "19140-1234"
    [message] = [m for m in outbox() if m["To"] == "dolores.rivera@example.org"]
    assert "Hello Dolores Rivera," in message.get_content()


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_a_neighbor_applies_in_spanish_on_a_phone(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, outbox: Callable[[], list]
) -> None:
    page.goto(live_server + "/")
    page.get_by_role("banner").get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.locator("main a[href='/apply']").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#full_name")).to_be_visible()
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    fill_application(page, full_name="Héctor Nuñez", email="hector.nunez@example.org")
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(live_server + "/apply/thanks")
    expect(page.locator("html")).to_have_attribute("lang", "es", timeout=500)
    expect(page.locator(".usa-summary-box")).to_be_visible(timeout=500)
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    application = stored_application(app, "hector.nunez@example.org")
    assert application.preferred_language == "es"
    assert application.full_name == "Héctor Nuñez"
    assert len([m for m in outbox() if m["To"] == "hector.nunez@example.org"]) == 1


def test_coordinator_approves_and_the_new_liaison_sets_a_password(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, outbox: Callable[[], list]
) -> None:
    applicant = "Wanda Pérez"
    applicant_email = "wanda.perez@example.org"
    new_password = "porch light block party"
    with app.test_request_context():
        coordinator = db.session.scalars(select(User).where(User.email == COORDINATOR)).one()
        cohort = services.create_cohort(coordinator, services.CohortInput(name="Fairhill spring cohort", capacity=20))
        # Sending the form is what the two journeys above check; here the application just arrives.
        services.submit_application(
            services.ApplicationInput(
                full_name=applicant,
                email=applicant_email,
                neighborhood="Fairhill",
                group_type=GroupType.BLOCK_CLUB,
                languages=["en", "es"],
                consent=True,
            )
        )
        db.session.commit()
        cohort_id, cohort_name = cohort.id, cohort.name

    # Searching by email finds the row whatever else the demo queue holds.
    queue = "/coordinator/applications/?" + urlencode({"q": applicant_email})
    page.goto(live_server + "/login?" + urlencode({"next": queue}))
    page.get_by_label("Email address").fill(COORDINATOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + queue)

    row = page.get_by_role("row").filter(has_text=applicant)
    expect(row).to_have_count(1)
    row.get_by_text("Decide").click()
    cohort_menu = row.get_by_label("Cohort")
    cohort_menu.select_option(value=str(cohort_id))
    expect(cohort_menu.locator("option:checked")).to_contain_text(cohort_name)
    assert_accessible(page)  # the queue, with this row's decision form open
    # A marker on window survives an htmx swap but not a full page load.
    page.evaluate("() => { window.__sameDocument = true; }")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        row.get_by_role("button", name=f"Approve {applicant}").click()
    assert posted.value.status == 200
    assert posted.value.request.all_headers().get("hx-request") == "true", "approving did not go through htmx"
    expect(row.get_by_role("status")).to_contain_text(f"{applicant} is approved into {cohort_name}.")
    expect(row.locator("td[data-label='Status']")).to_contain_text(re.compile("approved", re.IGNORECASE))
    assert page.evaluate("() => window.__sameDocument === true"), "approving reloaded the whole page"
    assert_accessible(page)

    [invitation] = [m for m in outbox() if m["To"] == applicant_email and "/invitation/" in m.get_content()]
    link = re.search(r"https?://\S+/invitation/\S+", invitation.get_content()).group(0)
    assert link.startswith(live_server + "/")

    page.get_by_role("button", name="Log out").click()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {applicant}")
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Type the new password again").fill(new_password)
    page.get_by_role("button", name="Set password and continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {applicant}")
    expect(page.get_by_role("main")).to_contain_text(cohort_name)
    assert_accessible(page)
