"""Closure follow-up in a real browser: the liaison disputes a closed request (htmx, with a
refusal first), follows the link to the refile, and a coordinator reads the dispute rates.
axe checks every page on the way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from liaison.auth.services import find_user_by_email
from liaison.db_types import utcnow
from liaison.service_requests.models import RequestState
from tests import factories
from tests.browser.test_request_follow_journey import COORDINATOR, log_in

pytestmark = pytest.mark.browser

AssertAccessible = Callable[[Page], None]


def test_a_liaison_disputes_a_closed_request_and_a_coordinator_sees_the_rate(
    page: Page,
    browser: Browser,
    live_server: str,
    app: Flask,
    certified_demo_liaison: str,
    assert_accessible: AssertAccessible,
) -> None:
    with app.test_request_context():
        liaison = find_user_by_email(certified_demo_liaison)
        service_type = factories.make_service_type("SR-FUJ1", name="Street light out (journey)")
        request_id = factories.make_service_request(
            liaison, service_type, state=RequestState.CLOSED, closed_at=utcnow() - timedelta(days=2)
        ).id

    log_in(page, live_server, certified_demo_liaison)
    page.goto(f"{live_server}/requests/{request_id}")
    expect(page.locator("#follow-up-heading")).to_have_text("Was it fixed?")
    assert_accessible(page)

    # Sent without a reason: the box comes back with the message next to the field.
    page.get_by_role("button", name="Dispute and refile").click()
    expect(page.locator("#dispute-reason-error")).to_contain_text("Say what is still wrong")
    assert_accessible(page)

    page.get_by_label("What is still wrong?").fill("The light is dark again at night.")
    page.get_by_role("button", name="Dispute and refile").click()
    expect(page.locator("#refiled-as")).to_contain_text("Disputed — refiled as")
    assert_accessible(page)

    page.locator("#refiled-as a").click()
    expect(page.locator("#refiled-from")).to_contain_text(f"Refiled from #{request_id}")
    expect(page.locator("#request-facts")).to_contain_text("The light is dark again at night.")
    assert_accessible(page)

    context = browser.new_context()
    try:
        coordinator = context.new_page()
        coordinator.set_default_timeout(20_000)
        log_in(coordinator, live_server, COORDINATOR)
        coordinator.goto(f"{live_server}/coordinator/requests/")
        coordinator.get_by_role("link", name="Dispute rates after closure").click()
        coordinator.wait_for_url(re.compile(r"/requests/dispute-rates"))
        expect(coordinator.locator("#rates-table")).to_contain_text("Street light out (journey)")
        assert_accessible(coordinator)
        coordinator.get_by_label("Group by").select_option("neighborhood")
        expect(coordinator.locator("#rates-table caption")).to_contain_text("by neighborhood")
        assert_accessible(coordinator)
    finally:
        context.close()
