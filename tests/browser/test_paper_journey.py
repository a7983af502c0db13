"""Paper in a real browser: a liaison opens the intake sheet options on a batch and downloads the
sheet, then picks the meeting packet's options (a bad period first) and downloads it. axe checks
every page on the way.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from liaison.auth.services import find_user_by_email
from tests import factories
from tests.browser.test_request_follow_journey import log_in

pytestmark = pytest.mark.browser

AssertAccessible = Callable[[Page], None]


def test_a_liaison_prints_an_intake_sheet_and_a_meeting_packet(
    page: Page, live_server: str, app: Flask, certified_demo_liaison: str, assert_accessible: AssertAccessible
) -> None:
    with app.test_request_context():
        liaison = find_user_by_email(certified_demo_liaison)
        batch_id = factories.make_batch(liaison, title="Paper journey meeting").id

    log_in(page, live_server, certified_demo_liaison)
    page.goto(f"{live_server}/requests/batches/{batch_id}")
    page.get_by_text("Print intake sheet").click()
    page.get_by_label("Number of rows").fill("8")
    assert_accessible(page)
    with page.expect_response(lambda response: "intake-sheet.pdf" in response.url) as sheet:
        page.get_by_role("button", name="Download the intake sheet (PDF)").click()
    assert sheet.value.status == 200
    assert sheet.value.headers["content-type"] == "application/pdf"

    page.goto(f"{live_server}/requests/")
    page.get_by_role("link", name="Meeting packet (PDF)").click()
    expect(page.locator("h1")).to_have_text("Meeting packet")
    assert_accessible(page)

    page.goto(f"{live_server}/requests/meeting-packet.pdf?period=60")
    expect(page.locator("#period-error")).to_contain_text("Choose the last 30 or the last 90 days.")
    assert_accessible(page)

    page.get_by_label("Period").select_option("30")
    with page.expect_response(lambda response: "meeting-packet.pdf" in response.url) as packet:
        page.get_by_role("button", name="Download the packet (PDF)").click()
    assert packet.value.status == 200
    assert packet.value.headers["content-type"] == "application/pdf"
