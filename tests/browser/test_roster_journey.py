"""The cohort roster in a real browser: a coordinator moves a liaison to another cohort from the
roster row, without leaving the page (htmx swaps that row only). axe checks the page on the way."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from liaison.auth.models import User
from liaison.demo import DEMO_PASSWORD
from liaison.enrollment import services
from liaison.enrollment.models import Membership, MembershipStatus
from liaison.extensions import db

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
AssertAccessible = Callable[[Page], None]


def test_a_coordinator_moves_a_liaison_from_the_roster_row(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    with app.test_request_context():
        coordinator = db.session.scalars(select(User).where(User.email == COORDINATOR)).one()
        source = services.create_cohort(coordinator, services.CohortInput(name="Roster source cohort", capacity=5))
        target = services.create_cohort(coordinator, services.CohortInput(name="Roster target cohort", capacity=5))
        for name in ("Ines Roster", "Omar Roster"):
            application = services.submit_application(
                services.ApplicationInput(full_name=name, email=f"{name.split()[0].lower()}@example.org", consent=True)
            )
            db.session.flush()
            services.approve_application(coordinator, application, source.id)
        db.session.commit()
        source_id, target_id = source.id, target.id

    roster = f"/coordinator/cohorts/{source_id}"
    page.goto(live_server + "/login?next=" + roster)
    page.get_by_label("Email address").fill(COORDINATOR)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + roster)
    assert_accessible(page)

    page.evaluate("() => { window.__sameDocument = true; }")
    ines = page.get_by_role("row").filter(has_text="Ines Roster")
    ines.get_by_role("link", name="Move Ines Roster").click()
    form = page.locator("form.liaison-member-form")
    expect(form).to_contain_text("Move Ines Roster to another cohort")
    # Only Ines's row turned into the form; Omar's row is as it was.
    expect(
        page.get_by_role("row").filter(has_text="Omar Roster").get_by_role("link", name="Move Omar Roster")
    ).to_be_visible()
    form.get_by_label("Move to").select_option(value=str(target_id))
    assert_accessible(page)
    form.get_by_role("button", name="Move").click()

    expect(page.get_by_role("status").filter(has_text="Ines Roster moved to Roster target cohort.")).to_be_visible()
    assert page.evaluate("() => window.__sameDocument === true"), "moving reloaded the whole page"
    with app.app_context():
        moved = db.session.scalars(
            select(User.full_name)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == target_id, Membership.status == MembershipStatus.ACTIVE)
        ).all()
        assert moved == ["Ines Roster"]
