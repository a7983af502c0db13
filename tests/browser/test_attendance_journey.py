"""A coordinator takes attendance on a phone; a liaison sees their next session and adds it to
their calendar. axe checks every page on the way."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from liaison.auth.models import Role
from liaison.auth.services import create_user, find_user_by_email
from liaison.db_types import utcnow
from liaison.demo import DEMO_PASSWORD
from liaison.enrollment import services as enrollment
from liaison.enrollment import sessions as training
from liaison.enrollment.models import SessionKind
from liaison.extensions import db

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PHONE_CONTEXT = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
COORDINATOR = "coordinator@example.org"
# A demo liaison still in training, whose next step is a session (liaison@example.org is certified).
LIAISON = "thuy.nguyen@example.org"
MEMBERS = ["Alma Torres", "Bruno Diaz", "Carmen Ruiz", "Darnell Hayes"]

AssertAccessible = Callable[[Page], None]


def log_in(page: Page, live_server: str, email: str, assert_accessible: AssertAccessible) -> None:
    page.goto(live_server + "/login")
    assert_accessible(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(coordinator|liaison)$"))
    assert_accessible(page)


def assert_no_horizontal_scrolling(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, viewport: window.innerWidth})")
    assert widths["scroll"] <= widths["viewport"], f"{page.url} scrolls sideways on a phone: {widths}"


def schedule_for(app: Flask, *, liaison_emails: list[str]) -> tuple[int, int, str]:
    """A cohort holding these liaisons (created when missing) and a session in two days:
    returns (cohort id, session id, title of the cohort's next session)."""
    with app.test_request_context():
        coordinator = find_user_by_email(COORDINATOR)
        cohort = enrollment.create_cohort(
            coordinator, enrollment.CohortInput(name="Kensington summer", neighborhood="Kensington", capacity=20)
        )
        for email in liaison_emails:
            user = find_user_by_email(email)
            if user is None:
                name = MEMBERS[liaison_emails.index(email)]
                user = create_user(email=email, full_name=name, role=Role.LIAISON, password=DEMO_PASSWORD)
            membership = enrollment.active_membership(user.id)
            if membership is not None:  # the demo program may already have placed them
                enrollment.move_member(coordinator, membership, cohort.id, "Browser journey")
                continue
            application = enrollment.submit_application(
                enrollment.ApplicationInput(full_name=user.full_name, email=email, consent=True), notify=False
            )
            enrollment.approve_application(coordinator, application, cohort.id)
        start = utcnow() + timedelta(days=2)
        session = training.schedule_session(
            coordinator,
            cohort,
            training.SessionInput(
                title="Reporting street defects",
                kind=SessionKind.IN_PERSON,
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                location="McPherson Square Library",
            ),
        )
        db.session.commit()
        return cohort.id, session.id, training.upcoming_sessions(cohort.id)[0].title


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_a_coordinator_takes_attendance_on_a_phone(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    emails = [f"{name.split()[0].lower()}@example.org" for name in MEMBERS]
    cohort_id, session_id, _next = schedule_for(app, liaison_emails=emails)
    log_in(page, live_server, COORDINATOR, assert_accessible)

    page.goto(f"{live_server}/coordinator/cohorts/{cohort_id}/sessions")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kensington summer")
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Take attendance")).click()
    page.wait_for_url(f"{live_server}/coordinator/cohorts/{cohort_id}/sessions/{session_id}/attendance")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reporting street defects")
    expect(page.locator("main")).to_contain_text("McPherson Square Library")
    count = page.locator("#attendance-count")
    expect(count).to_have_text("0 of 4 present")
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    page.evaluate("() => { window.__sameDocument = true; }")
    for name in MEMBERS[:3]:
        toggle = page.get_by_role("button", name=f"Present: {name}")
        box = toggle.bounding_box()
        assert box is not None
        assert box["height"] >= 44, f"the toggle for {name} is {box['height']}px tall, under a 44px touch target"
        expect(toggle).to_have_attribute("aria-pressed", "false")
        with page.expect_response(lambda response: response.request.method == "POST") as posted:
            toggle.tap()
        assert posted.value.status == 200
        assert posted.value.request.all_headers().get("hx-request") == "true", "the toggle did not go through htmx"
        expect(toggle).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_role("status").filter(has_text=f"{name} is marked present.")).to_be_attached()
    expect(count).to_have_text("3 of 4 present")
    expect(page.get_by_role("button", name=f"Present: {MEMBERS[3]}")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("() => window.__sameDocument === true"), "taking attendance reloaded the page"
    assert_accessible(page)

    # Saved, not just drawn.
    page.reload()
    expect(count).to_have_text("3 of 4 present")
    for name in MEMBERS[:3]:
        expect(page.get_by_role("button", name=f"Present: {name}")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name=f"Present: {MEMBERS[3]}")).to_have_attribute("aria-pressed", "false")


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_a_coordinator_schedules_an_online_session_on_a_phone(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    cohort_id, _session_id, _next = schedule_for(app, liaison_emails=[])
    log_in(page, live_server, COORDINATOR, assert_accessible)
    page.goto(f"{live_server}/coordinator/cohorts/{cohort_id}/sessions")
    page.get_by_role("link", name="Schedule a session").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Schedule a session")
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)

    page.get_by_label("Title").fill("Online: following up on requests")
    page.locator("label[for='kind-1']").click()
    # Without JavaScript both fields show; with CSS :has() only the one that fits.
    expect(page.get_by_label("Place", exact=True)).to_be_hidden()
    day = (utcnow() + timedelta(days=9)).date().isoformat()
    page.get_by_label("Date").fill(day)
    page.get_by_label("Start time").fill("18:30")
    page.get_by_label("End time").fill("19:30")
    page.get_by_label("Link to join").fill("http://meet.example.org/liaisons")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Schedule session").click()
    assert posted.value.status == 422
    expect(page.locator("#link-error")).to_have_text("The link must start with https://")
    expect(page.get_by_label("Title")).to_have_value("Online: following up on requests")
    expect(page.get_by_label("Start time")).to_have_value("18:30")
    assert_accessible(page)

    page.get_by_label("Link to join").fill("https://meet.example.org/liaisons")
    page.get_by_role("button", name="Schedule session").click()
    expect(page.get_by_role("status")).to_contain_text("Online: following up on requests is scheduled.")
    expect(page.locator("main table")).to_contain_text("6:30")
    assert_no_horizontal_scrolling(page)
    assert_accessible(page)


def test_a_liaison_sees_their_next_session_and_downloads_it_for_their_calendar(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, tmp_path: Path
) -> None:
    _cohort_id, session_id, next_title = schedule_for(app, liaison_emails=[LIAISON])
    log_in(page, live_server, LIAISON, assert_accessible)

    expect(page.get_by_role("heading", name="Your cohort")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Kensington summer")
    next_session = page.get_by_role("region", name=f"Next session: {next_title}")
    expect(next_session).to_be_visible()
    expect(page.get_by_role("region", name=re.compile(r"^Your next step: "))).to_contain_text(
        "Attend your next session on"
    )
    assert_accessible(page)

    link = next_session.get_by_role("link", name="Add to my calendar")
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == f"training-session-{session_id}.ics"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    body = saved.read_bytes()
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert f"UID:session-{session_id}@liaison".encode() in body
    assert b"SUMMARY:Reporting street defects\r\n" in body
