"""Following requests in a real browser: a coordinator ticks every request on the queue's page
("Select all on this page", JavaScript), moves them to "in progress" with a note (htmx Bulk
Update), the liaison finds one by Active Search and reads the note in its history, and a stranger
opens its public status page, which shows no neighbor data. axe checks every page on the way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from liaison.auth.services import find_user_by_email
from liaison.demo import DEMO_PASSWORD
from liaison.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
LIAISON = "liaison@example.org"

AssertAccessible = Callable[[Page], None]


def file_requests(app: Flask) -> tuple[int, list[tuple[int, str]]]:
    """Three requests of the demo liaison, one with a neighbor's contact: the service type's id
    and each request's (id, public token)."""
    with app.test_request_context():
        liaison = find_user_by_email(LIAISON)
        service_type = factories.make_service_type("SR-BRW1", name="Street Defect (journey)")
        made = [
            factories.make_service_request(
                liaison,
                service_type,
                address="4512 Larchwood Ave",
                neighbor_first_name="Rosalind",
                neighbor_phone="215-555-0199",
                neighbor_email="rosalind.qb@example.org",
                contact_consent=True,
            ),
            factories.make_service_request(liaison, service_type, address="18 S 52nd St"),
            factories.make_service_request(liaison, service_type, address="900 Cedar Ave"),
        ]
        db.session.commit()
        return service_type.id, [(request.id, request.public_token) for request in made]


def log_in(page: Page, live_server: str, email: str) -> None:
    page.goto(live_server + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(coordinator|liaison)$"))


def test_a_coordinator_moves_requests_in_bulk_and_the_liaison_and_a_stranger_see_it(
    page: Page, browser: Browser, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    service_type_id, filed = file_requests(app)
    first_id, first_token = filed[0]

    # The coordinator filters the queue to the journey's service and ticks the whole page.
    context = browser.new_context()
    try:
        coordinator = context.new_page()
        coordinator.set_default_timeout(20_000)
        log_in(coordinator, live_server, COORDINATOR)
        coordinator.get_by_role("link", name="Requests", exact=True).click()
        coordinator.wait_for_url(re.compile(r"/coordinator/requests/"))
        coordinator.get_by_label("Search").fill("larchwood")
        # Wait for the search's own URL (htmx pushes it after the swap): a click while the swap is
        # on its way is undone by that push. "1 request" alone would also match "21 requests".
        coordinator.wait_for_url(re.compile(r"[?&]q=larchwood"))
        expect(coordinator.locator("#request-results")).to_contain_text(re.compile(r"(?<!\d)1 request\b"))
        coordinator.get_by_label("Search").fill("")
        coordinator.get_by_label("Service").select_option(str(service_type_id))
        expect(coordinator.locator("#request-results")).to_contain_text("3 requests")
        assert_accessible(coordinator)
        coordinator.get_by_role("link", name="Select all on this page").click()
        for request_id, _token in filed:
            expect(coordinator.locator(f"#select-{request_id}")).to_be_checked()
        coordinator.get_by_label("New status").select_option("in_progress")
        coordinator.locator("#bulk-note").fill("Crew scheduled for Tuesday")
        coordinator.get_by_role("button", name="Change the status of the selected requests").click()
        expect(coordinator.locator("#request-results")).to_contain_text("3 requests moved to “In progress”.")
        expect(coordinator.locator(f"#request-{first_id}")).to_contain_text("In progress")
        assert_accessible(coordinator)
        # The coordinator closes the first one from its own page, where the neighbor contact shows.
        coordinator.get_by_role("link", name=f"#{first_id}", exact=True).click()
        coordinator.get_by_label("New status").select_option("closed")
        coordinator.get_by_role("button", name="Change the status").click()
        expect(coordinator.get_by_role("status").first).to_contain_text("is now “Closed”")
        expect(coordinator.locator("#neighbor-contact")).to_contain_text("Rosalind")
        assert_accessible(coordinator)
    finally:
        context.close()

    # The liaison finds the request by Active Search and reads the coordinator's note.
    log_in(page, live_server, LIAISON)
    page.get_by_role("link", name="My requests").click()
    page.wait_for_url(re.compile(r"/requests/$"))
    assert_accessible(page)
    page.get_by_label("Search").fill("larchwood")
    # Wait for the search's own URL (htmx pushes it after the swap): a click while the swap is
    # on its way is undone by that push. "1 request" alone would also match "21 requests".
    page.wait_for_url(re.compile(r"[?&]q=larchwood"))
    expect(page.locator("#request-results")).to_contain_text(re.compile(r"(?<!\d)1 request\b"))
    page.get_by_role("link", name=f"#{first_id}", exact=True).click()
    expect(page.locator("#request-history")).to_contain_text("Crew scheduled for Tuesday")
    expect(page.locator("#request-history")).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Email the receipt to the neighbor")).to_be_visible()
    assert_accessible(page)

    # A stranger opens the public page from the receipt's link: the status, and nothing personal.
    stranger_context = browser.new_context()
    try:
        stranger = stranger_context.new_page()
        stranger.set_default_timeout(20_000)
        stranger.goto(f"{live_server}/status/{first_token}")
        expect(stranger.locator("#request-state")).to_contain_text("Closed")
        expect(stranger.locator("#request-facts")).to_contain_text("4500 block of Larchwood Ave")
        html = stranger.content()
        for private in ("Rosalind", "215-555-0199", "rosalind.qb@example.org", "4512"):
            assert private not in html
        assert_accessible(stranger)
    finally:
        stranger_context.close()
