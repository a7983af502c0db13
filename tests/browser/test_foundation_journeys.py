"""What coordinators, liaisons and visitors see in a real browser, checked with axe on every page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from babel.support import Translations
from playwright.sync_api import Page, expect

from liaison.config import PROJECT_ROOT
from liaison.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
LIAISON = "liaison@example.org"
LIAISON_NAME = "Marisol Ortega"
PHONE = {"width": 390, "height": 844}

AssertAccessible = Callable[[Page], None]


SPANISH_CATALOG = PROJECT_ROOT / "liaison" / "translations" / "es" / "LC_MESSAGES" / "messages.mo"


def spanish(message: str) -> str:
    """`message` as the app's compiled Spanish catalog has it; fails when it is not translated."""
    if not SPANISH_CATALOG.exists():
        pytest.fail(f"{SPANISH_CATALOG} is missing: run `make translations` (pybabel compile) first")
    with SPANISH_CATALOG.open("rb") as file:
        translated = Translations(file).gettext(message)
    assert translated != message, f"{message!r} has no Spanish translation"
    return translated


def log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Fill and send the login form (by field ids, so it works in any language)."""
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("main form.usa-form button[type=submit]").click()


def nav_labels(page: Page) -> list[str]:
    return [label.strip() for label in page.locator("nav.liaison-nav a").all_inner_texts()]


def html_lang(page: Page) -> str | None:
    return page.locator("html").get_attribute("lang")


def test_coordinator_logs_in_deactivates_a_liaison_in_place_and_logs_out(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neighborhood Liaison Program")
    assert_accessible(page)

    page.get_by_role("main").get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert_accessible(page)

    page.get_by_label("Email address").fill(COORDINATOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Coordinator dashboard")
    assert nav_labels(page) == [
        "Dashboard",
        "Applications",
        "Cohorts",
        "Training",
        "Certificates",
        "Requests",
        "Service catalog",
        "Accounts",
        "My account",
    ]
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard")).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts")).to_have_attribute(
        "aria-current", "page"
    )
    row = page.locator("tr", has_text=LIAISON)
    status = row.locator('td[data-label="Status"]')
    expect(status).to_have_text("Active")
    assert_accessible(page)

    # A marker on window survives an htmx swap but not a full page load.
    page.evaluate("() => { window.__sameDocument = true; }")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        row.get_by_role("button", name=f"Deactivate {LIAISON_NAME}").click()
    assert posted.value.status == 200
    sent = posted.value.request.all_headers()
    assert sent.get("hx-request") == "true", "the row button did not go through htmx"
    assert sent.get("x-csrftoken"), "htmx did not send the CSRF header from <body hx-headers>"
    expect(status).to_have_text("Deactivated")
    expect(row.get_by_role("button", name=f"Reactivate {LIAISON_NAME}")).to_be_visible()
    assert page.evaluate("() => window.__sameDocument === true"), "deactivating reloaded the whole page"
    assert_accessible(page)

    # The change was saved, not just drawn.
    page.reload()
    expect(status).to_have_text("Deactivated")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")
    expect(page.locator("nav.liaison-nav")).to_have_count(0)
    assert_accessible(page)


def test_liaison_sees_their_next_step_and_no_coordinator_pages(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/login")
    log_in(page, LIAISON)

    expect(page).to_have_title(re.compile(r"^My dashboard"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")
    next_step = page.get_by_role("region", name=re.compile(r"^Your next step: "))
    expect(next_step).to_be_visible()
    assert nav_labels(page) == ["My dashboard", "Training", "My requests", "My account"]
    assert "Accounts" not in nav_labels(page)
    assert_accessible(page)

    response = page.goto(live_server + "/coordinator")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    expect(page.get_by_role("link", name="Go to the home page")).to_be_visible()
    assert_accessible(page)


def test_visitor_switches_to_spanish_and_it_is_remembered_across_pages(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/")
    assert html_lang(page) == "en"
    page.get_by_role("banner").get_by_role("button", name="Español").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".liaison-language__current")).to_have_text("Español")
    expect(page.locator("#how-heading")).to_have_text(spanish("How the program works"))
    assert page.url == live_server + "/", "the language switch should come back to the same page"
    assert_accessible(page)

    page.goto(live_server + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(spanish("Log in"))
    assert_accessible(page)

    page.get_by_role("banner").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")


def test_spanish_chosen_before_logging_in_stays_after_logging_in(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/login")
    page.get_by_role("banner").get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")

    log_in(page, LIAISON)
    page.wait_for_url(live_server + "/liaison")
    # The page has loaded: no need to wait the default 10 s for a text that is not coming.
    expect(page.locator("html")).to_have_attribute("lang", "es", timeout=500)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        spanish("Hello, %(name)s") % {"name": LIAISON_NAME}, timeout=500
    )
    assert_accessible(page)

    page.get_by_role("banner").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")


def test_liaison_switches_to_spanish_and_back_to_english(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/login")
    log_in(page, LIAISON)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")

    page.get_by_role("banner").get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(spanish("Hello, %(name)s") % {"name": LIAISON_NAME})
    assert nav_labels(page) == [
        spanish("My dashboard"),
        spanish("Training"),
        spanish("My requests"),
        spanish("My account"),
    ]
    assert_accessible(page)

    # Remembered on the next page, and the nav still leads there.
    page.get_by_role("navigation").get_by_role("link", name=spanish("My account")).click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert_accessible(page)

    page.get_by_role("banner").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert nav_labels(page) == ["My dashboard", "Training", "My requests", "My account"]
    page.get_by_role("navigation").get_by_role("link", name="My dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3)
def test_phone_login_and_dashboard_fit_the_screen(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    def assert_no_horizontal_scrolling() -> None:
        widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, viewport: window.innerWidth})")
        assert widths["scroll"] <= widths["viewport"], f"{page.url} scrolls sideways on a phone: {widths}"

    page.goto(live_server + "/login")
    assert page.viewport_size == PHONE
    assert_no_horizontal_scrolling()
    button = page.get_by_role("button", name="Log in")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44, f"the log-in button is {box['height']}px tall, less than a 44px touch target"
    assert_accessible(page)

    log_in(page, LIAISON)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")
    assert_no_horizontal_scrolling()
    assert_accessible(page)


def test_wrong_password_shows_the_error_beside_the_form_and_keeps_the_email(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(LIAISON)
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Log in").click()
    assert posted.value.status == 422

    form = page.locator("main form.usa-form")
    expect(form.get_by_role("alert")).to_have_text("That email and password do not match an active account.")
    expect(page.get_by_label("Email address")).to_have_value(LIAISON)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert_accessible(page)


def test_forgotten_password_is_reset_from_the_emailed_link(
    page: Page, live_server: str, assert_accessible: AssertAccessible, outbox: Callable[[], list]
) -> None:
    new_password = "four unrelated words here"
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    assert_accessible(page)

    page.get_by_label("Email address").fill(LIAISON)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert_accessible(page)

    messages = outbox()
    assert messages, "no email was written to the outbox"
    message = messages[-1]
    assert message["To"] == LIAISON
    match = re.search(r"https?://\S+/password/reset/\S+", message.get_content())
    assert match, message.get_content()
    link = match.group(0)
    assert link.startswith(live_server + "/"), f"the emailed link points elsewhere: {link}"

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Type the new password again").fill(new_password)
    page.get_by_role("button", name="Save new password").click()

    expect(page.get_by_role("status")).to_contain_text("Your password is set. Welcome!")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")
    assert nav_labels(page) == ["My dashboard", "Training", "My requests", "My account"]
    assert_accessible(page)

    # The new password is the one that works now.
    page.get_by_role("button", name="Log out").click()
    page.goto(live_server + "/login")
    log_in(page, LIAISON, new_password)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {LIAISON_NAME}")
