"""Flow 7 in a real browser: a demo liaison still in training (Thuy Nguyen; the demo program
certifies liaison@example.org) has attended and passed every required module but one (through the
services, on the live server's app); in the browser they read that last module, mark it read, take
its quiz and pass it, and the certificate is issued automatically. They see it on the dashboard and
download the PDF (its text checked with pypdf), a stranger (another browser context, not logged in)
checks its code on the public verify page, a coordinator (a third context) revokes it from the
certificate list and the stranger's reload says so. axe checks every page on the way.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pypdf
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from liaison.auth.services import find_user_by_email
from liaison.certificates import services as certificates
from liaison.db_types import utcnow
from liaison.demo import DEMO_PASSWORD
from liaison.enrollment.services import active_membership
from liaison.enrollment.sessions import cohort_sessions, set_attendance
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import QuestionKind

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
# A demo liaison still in training (liaison@example.org is certified by the demo program).
LIAISON = "thuy.nguyen@example.org"

AssertAccessible = Callable[[Page], None]


def _pass(liaison, module) -> None:
    training.mark_read(liaison, module)
    attempt = training.start_attempt(liaison, module.quiz, language="en")
    right = {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}
    assert training.submit_attempt(liaison, attempt.id, right).passed


LAST_MODULE = "Closing the loop"
LAST_PROMPT = "Neighbors should hear back about their concern."


def all_but_the_last_module(app: Flask) -> tuple[int, str]:
    """Attendance, and every required module of the demo curriculum read and passed; a new last
    required module with a one-question quiz is published. Returns its id and the liaison's name."""
    with app.test_request_context():
        coordinator = find_user_by_email(COORDINATOR)
        liaison = find_user_by_email(LIAISON)
        cohort = active_membership(liaison.id).cohort
        for session, _count in cohort_sessions(cohort.id)[: cohort.min_sessions_required]:
            set_attendance(coordinator, session, liaison.id, True)
        module = training.create_module(
            coordinator,
            training.ModuleInput(
                title={"en": LAST_MODULE}, body={"en": "Tell neighbors **what happened**."}, required=True
            ),
        )
        quiz = training.save_quiz_settings(coordinator, module, training.QuizSettings(pass_mark=100))
        training.add_question(
            coordinator,
            quiz,
            training.QuestionInput(
                kind=QuestionKind.TRUE_FALSE,
                prompt={"en": LAST_PROMPT},
                explanation={"en": "Following up builds trust."},
                choices=[training.ChoiceInput({"en": "True"}, True), training.ChoiceInput({"en": "False"})],
            ),
        )
        training.set_module_published(coordinator, module, True)
        db.session.commit()
        required = [m for m in training.published_modules() if m.required and m.id != module.id]
        for earlier in required:
            _pass(liaison, earlier)
        db.session.commit()
        assert certificates.current_certificate(liaison.id) is None, "issued before the last quiz"
        return module.id, liaison.full_name


def pass_the_last_quiz_in_the_browser(
    page: Page, live_server: str, module_id: int, assert_accessible: AssertAccessible
) -> None:
    """From the training page: open the module, read it, mark it read, take the quiz, pass."""
    page.goto(live_server + "/training/")
    row = page.locator(f"#module-{module_id}")
    expect(row).to_have_attribute("data-state", "not_started")
    row.get_by_role("link", name=LAST_MODULE).click()
    page.wait_for_url(f"{live_server}/training/modules/{module_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(LAST_MODULE)
    expect(page.locator(".usa-prose[hx-disable] strong")).to_have_text("what happened")
    page.locator("#mark-read").click()
    start = page.locator("#start-quiz")
    expect(start).to_be_visible()
    assert_accessible(page)
    start.click()
    page.wait_for_url(re.compile(rf"{live_server}/training/attempts/\d+$"))
    question = page.get_by_role("group", name=re.compile(re.escape(LAST_PROMPT)))
    question.locator("label", has_text=re.compile(r"^True$")).click()
    assert_accessible(page)
    page.locator("#submit-answers").click()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.locator("#quiz-outcome")).to_have_attribute("data-passed", "true")
    assert_accessible(page)


def revoke_in_the_browser(browser: Browser, live_server: str, code: str, assert_accessible: AssertAccessible) -> None:
    """The coordinator logs in (own context), finds the row by its code and revokes with a reason."""
    context = browser.new_context()
    try:
        coordinator = context.new_page()
        coordinator.set_default_timeout(20_000)
        coordinator.goto(live_server + "/login")
        coordinator.locator("#email").fill(COORDINATOR)
        coordinator.locator("#password").fill(DEMO_PASSWORD)
        coordinator.locator("main form.usa-form button[type=submit]").click()
        coordinator.wait_for_url(re.compile(r"/coordinator$"))
        coordinator.goto(live_server + "/coordinator/certificates/")
        assert_accessible(coordinator)
        row = coordinator.locator("tr", has=coordinator.get_by_role("link", name=code, exact=True))
        expect(row).to_contain_text("Valid")
        row.get_by_role("link", name=re.compile(r"^Revoke")).click()
        # htmx swaps the row for the inline form (the same row id).
        reason = coordinator.get_by_label("Reason for revoking")
        expect(reason).to_be_visible()
        assert_accessible(coordinator)
        reason.fill("Moved out of the city")
        coordinator.get_by_role("button", name="Revoke").click()
        row = coordinator.locator("tr", has_text=code)
        expect(row.get_by_role("status")).to_contain_text("revoked.")
        expect(row).to_contain_text("Revoked")
        assert_accessible(coordinator)
    finally:
        context.close()


def test_a_liaison_is_certified_a_stranger_verifies_and_sees_the_revocation(
    page: Page, browser: Browser, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    module_id, name = all_but_the_last_module(app)

    # The liaison logs in, passes the last quiz in the browser, and finds the certificate on the dashboard.
    page.goto(live_server + "/login")
    page.locator("#email").fill(LIAISON)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/liaison$"))
    expect(page.locator("#dashboard-certificate-code")).to_have_count(0)
    pass_the_last_quiz_in_the_browser(page, live_server, module_id, assert_accessible)
    with app.app_context():
        certificate = certificates.current_certificate(find_user_by_email(LIAISON).id)
        assert certificate is not None, "passing the last quiz did not issue the certificate"
        code = certificate.code
    page.goto(live_server + "/liaison")
    expect(page.locator("#certificate-heading")).to_contain_text("Your certificate")
    expect(page.locator("#dashboard-certificate-code")).to_have_text(code)
    expect(page.locator("#dashboard-certificate-state")).to_have_attribute("data-state", "valid")
    expect(page.locator("#dashboard-certificate-pdf")).to_be_visible()
    assert_accessible(page)

    # The liaison downloads the certificate as a PDF.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"certificate-{code}.pdf"
    with open(download.path(), "rb") as pdf:
        data = pdf.read()
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert name in text
    assert code in text

    # A stranger, not logged in, types the code loosely in the verify form.
    stranger_context = browser.new_context()
    try:
        stranger = stranger_context.new_page()
        stranger.set_default_timeout(20_000)
        stranger.goto(live_server + "/")
        stranger.get_by_role("link", name="Verify a certificate").click()
        stranger.wait_for_url(f"{live_server}/verify")
        assert_accessible(stranger)
        stranger.get_by_label("Certificate code").fill(code.lower().replace("-", " "))
        stranger.get_by_role("button", name="Verify").click()
        stranger.wait_for_url(f"{live_server}/verify/{code}")
        expect(stranger.locator("#certificate-state")).to_have_attribute("data-state", "valid")
        expect(stranger.locator("#certificate-sentence")).to_contain_text("This certificate is valid until")
        expect(stranger.locator("#certificate-name")).to_have_text(page.locator("h1").inner_text()[len("Hello, ") :])
        expect(stranger.get_by_role("button", name="Log in")).to_have_count(0)
        assert_accessible(stranger)

        # A coordinator revokes it in the browser: the stranger's reload says so at once, without the reason.
        revoke_in_the_browser(browser, live_server, code, assert_accessible)
        stranger.reload()
        expect(stranger.locator("#certificate-state")).to_have_attribute("data-state", "revoked")
        expect(stranger.locator("#certificate-sentence")).to_contain_text("was revoked on")
        expect(stranger.locator("main")).not_to_contain_text("Moved out of the city")
        assert_accessible(stranger)
    finally:
        stranger_context.close()

    # The liaison's dashboard shows the revocation too.
    page.reload()
    expect(page.locator("#dashboard-certificate-state")).to_have_attribute("data-state", "revoked")
    assert_accessible(page)


def make_members_eligible(app: Flask, count: int) -> tuple[int, list[int], int]:
    """`count` members of the demo liaison's cohort meet the rule without a certificate: their
    attendance, reads and passed attempts are written directly (the automatic trigger is the
    other journey's subject). Returns the cohort id, their user ids and how many members of the
    cohort meet the rule in all (certified ones included)."""
    from sqlalchemy import select

    from liaison.enrollment.models import Attendance, Membership, MembershipStatus
    from liaison.training.models import AttemptStatus, ModuleRead, QuizAttempt

    with app.test_request_context():
        liaison = find_user_by_email(LIAISON)
        cohort = active_membership(liaison.id).cohort
        holders = certificates.current_certificate_holders(
            list(
                db.session.scalars(
                    select(Membership.user_id).where(
                        Membership.cohort_id == cohort.id, Membership.status == MembershipStatus.ACTIVE
                    )
                )
            )
        )
        members = [
            user_id
            for user_id in db.session.scalars(
                select(Membership.user_id)
                .where(Membership.cohort_id == cohort.id, Membership.status == MembershipStatus.ACTIVE)
                .order_by(Membership.user_id)
            )
            if user_id != liaison.id and user_id not in holders
        ][:count]
        assert len(members) == count, "the demo cohort has too few members for this journey"
        now = utcnow()
        sessions = [session for session, _count in cohort_sessions(cohort.id)][: cohort.min_sessions_required]
        for user_id in members:
            for session in sessions:
                db.session.merge(Attendance(session_id=session.id, user_id=user_id, present=True, recorded_at=now))
            for module in training.published_modules():
                if not module.required:
                    continue
                db.session.merge(ModuleRead(user_id=user_id, module_id=module.id, read_at=now))
                if module.quiz is not None:
                    db.session.add(
                        QuizAttempt(
                            quiz_id=module.quiz.id,
                            user_id=user_id,
                            number=99,
                            status=AttemptStatus.SUBMITTED,
                            language="en",
                            started_at=now,
                            submitted_at=now,
                            snapshot=[],
                            answers={},
                            score=100,
                            passed=True,
                            late=False,
                        )  # fmt: skip
                    )
        db.session.commit()
        eligibility = certificates.eligibility_for_cohort(cohort.id)
        assert all(eligibility[user_id].eligible for user_id in members)
        return cohort.id, members, sum(1 for rule in eligibility.values() if rule.eligible)


def test_a_coordinator_issues_a_cohorts_certificates_step_by_step_with_a_progress_bar(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liaison.certificates import admin_views

    monkeypatch.setattr(admin_views, "ISSUE_STEP", 1)  # one person per step: several steps to watch
    cohort_id, members, eligible = make_members_eligible(app, 3)
    steps: list[str] = []
    page.on(
        "request",
        lambda request: (
            steps.append(request.url) if request.method == "POST" and request.url.endswith("/issue") else None
        ),
    )

    page.goto(live_server + "/login")
    page.locator("#email").fill(COORDINATOR)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/coordinator$"))
    page.goto(f"{live_server}/coordinator/certificates/cohorts/{cohort_id}")
    expect(page.locator("#issue-heading")).to_contain_text("3 members meet the rule")
    assert_accessible(page)

    page.get_by_role("button", name="Issue for all eligible members").click()
    done = page.locator("#issue-progress-done")
    expect(done).to_be_visible()
    expect(page.locator("#issue-progress-label")).to_contain_text(
        f"{eligible} of {eligible} eligible members have a certificate."
    )
    expect(page.locator("#issue-progress progress")).to_have_attribute("value", str(eligible))
    expect(page.locator("#issue-progress")).to_contain_text("Done: every eligible member has a certificate.")
    assert len(steps) >= 3, steps  # the bar moved step by step, each a request of its own
    assert_accessible(page)
    with app.app_context():
        assert certificates.current_certificate_holders(members) == set(members)

    done.click()
    page.wait_for_url(f"{live_server}/coordinator/certificates/cohorts/{cohort_id}")
    for user_id in members:
        expect(page.locator(f"#member-{user_id}")).to_contain_text("Valid")
