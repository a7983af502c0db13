"""Coordinators see, filter, issue, approve and revoke certificates."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.services import filing_gate, new_code
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.enrollment.models import Membership
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import ModuleRead

HTMX = {"HX-Request": "true"}
BASE = "/coordinator/certificates"


def make_cohort(app, name: str = "Spring cohort", capacity: int = 200) -> int:
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR).limit(1))
        cohort = enrollment.create_cohort(actor, enrollment.CohortInput(name=name, capacity=capacity))
        db.session.commit()
        return cohort.id


def add_members(app, cohort_id: int, count: int, *, prefix: str = "Member") -> list[int]:
    """Liaisons with an active place in the cohort; returns their user ids."""
    with app.test_request_context():
        users = [
            User(
                email=f"{prefix.lower()}{n}@example.org", full_name=f"{prefix} {n:03d}", role=Role.LIAISON, active=True
            )
            for n in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        db.session.add_all([Membership(cohort_id=cohort_id, user_id=user.id) for user in users])
        db.session.commit()
        return [user.id for user in users]


def publish_required_module(app) -> int:
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR).limit(1))
        module = training.create_module(actor, training.ModuleInput(title={"en": "Basics"}, body={"en": "Text"}))
        training.set_module_published(actor, module, True)
        db.session.commit()
        return module.id


def finish_training(app, module_id: int, user_ids: list[int]) -> None:
    with app.app_context():
        db.session.add_all([ModuleRead(user_id=user_id, module_id=module_id) for user_id in user_ids])
        db.session.commit()


def add_certificate(app, user_id: int, cohort_id: int | None, *, expires_in_days: int | None = 200, status=None) -> int:
    with app.app_context():
        now = utcnow()
        certificate = Certificate(
            user_id=user_id,
            cohort_id=cohort_id,
            code=new_code(),
            status=status or CertificateStatus.ACTIVE,
            issued_at=None if expires_in_days is None else now - timedelta(days=30),
            expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
        )
        db.session.add(certificate)
        db.session.commit()
        return certificate.id


def certificate_count(app, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Certificate)
        for name, value in where.items():
            query = query.where(getattr(Certificate, name) == value)
        return db.session.scalar(query) or 0


# The list --------------------------------------------------------------------------------------


def test_the_list_filters_by_cohort_and_state(app, client, login_as):
    login_as("coordinator")
    north, south = make_cohort(app, "North"), make_cohort(app, "South")
    [valid, soon, expired, revoked, pending] = add_members(app, north, 5, prefix="North")
    [southerner] = add_members(app, south, 1, prefix="South")
    add_certificate(app, valid, north, expires_in_days=200)
    add_certificate(app, soon, north, expires_in_days=10)
    add_certificate(app, expired, north, expires_in_days=-3)
    add_certificate(app, revoked, north, status=CertificateStatus.REVOKED)
    add_certificate(app, pending, north, expires_in_days=None, status=CertificateStatus.PENDING)
    add_certificate(app, southerner, south)

    everything = client.get(f"{BASE}/").get_data(as_text=True)
    assert everything.count('<tr id="certificate-') == 6
    for state, name in [
        ("valid", "North 000"),
        ("expiring_soon", "North 001"),
        ("expired", "North 002"),
        ("revoked", "North 003"),
        ("pending", "North 004"),
    ]:
        page = client.get(f"{BASE}/?state={state}&cohort={north}").get_data(as_text=True)
        assert page.count('<tr id="certificate-') == 1, state
        assert name in page, state
    south_page = client.get(f"{BASE}/?cohort={south}").get_data(as_text=True)
    assert south_page.count('<tr id="certificate-') == 1
    assert "South 000" in south_page


def test_each_row_links_the_code_to_the_public_verify_page(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app)
    [user_id] = add_members(app, cohort, 1)
    certificate_id = add_certificate(app, user_id, cohort)
    with app.app_context():
        code = db.session.get(Certificate, certificate_id).code
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert f'href="/verify/{code}"' in page
    assert "Spring cohort" in page
    assert "Member 000" in page
    assert "Valid" in page


def test_the_expiring_windows_show_who_expires_in_the_next_30_60_or_90_days(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app)
    users = add_members(app, cohort, 5)
    for user_id, days in zip(users, [20, 45, 80, 120, -5], strict=True):
        add_certificate(app, user_id, cohort, expires_in_days=days)
    counts = {
        days: client.get(f"{BASE}/?expires={days}").get_data(as_text=True).count('<tr id="certificate-')
        for days in (30, 60, 90)
    }
    assert counts == {30: 1, 60: 2, 90: 3}
    page = client.get(f"{BASE}/?expires=90").get_data(as_text=True)
    # Soonest first.
    assert page.index("Member 000") < page.index("Member 001") < page.index("Member 002")


def test_the_list_runs_the_same_queries_for_10_or_60_certificates_and_pages_by_50(app, client, login_as, count_queries):
    login_as("coordinator")
    small, large = make_cohort(app, "Small"), make_cohort(app, "Large")
    for user_id in add_members(app, small, 10, prefix="Small"):
        add_certificate(app, user_id, small)
    for user_id in add_members(app, large, 60, prefix="Large"):
        add_certificate(app, user_id, large)
    client.get(f"{BASE}/")  # the first page view after login also saves the session
    with count_queries() as small_queries:
        small_page = client.get(f"{BASE}/?cohort={small}")
    with count_queries() as large_queries:
        large_page = client.get(f"{BASE}/?cohort={large}")
    assert small_page.get_data(as_text=True).count('<tr id="certificate-') == 10
    assert large_page.get_data(as_text=True).count('<tr id="certificate-') == 50
    assert "page=2" in large_page.get_data(as_text=True)
    assert len(small_queries) == len(large_queries), large_queries


# A cohort: issue for all eligible members -------------------------------------------------------


def test_issue_for_all_creates_exactly_the_eligible_ones_and_twice_creates_none(app, client, login_as, outbox):
    login_as("coordinator")
    cohort = make_cohort(app)
    module_id = publish_required_module(app)
    users = add_members(app, cohort, 5)
    finish_training(app, module_id, users[:3])
    page = client.get(f"{BASE}/cohorts/{cohort}").get_data(as_text=True)
    assert "3 members meet the rule and have no certificate yet" in page

    first = client.post(f"{BASE}/cohorts/{cohort}/issue")
    assert first.status_code == 200
    assert "3 certificates issued." in first.get_data(as_text=True)
    assert "2 members do not meet the rule yet." in first.get_data(as_text=True)
    with app.app_context():
        holders = set(db.session.scalars(select(Certificate.user_id)))
    assert holders == set(users[:3])
    assert len([m for m in outbox() if "certified" in m["Subject"]]) == 3

    second = client.post(f"{BASE}/cohorts/{cohort}/issue")
    assert "0 certificates issued." in second.get_data(as_text=True)
    assert "3 members already had one." in second.get_data(as_text=True)
    assert certificate_count(app) == 3


def test_the_cohort_page_runs_the_same_queries_for_10_or_60_members(app, client, login_as, count_queries):
    login_as("coordinator")
    module_id = publish_required_module(app)
    small, large = make_cohort(app, "Small"), make_cohort(app, "Large")
    small_users = add_members(app, small, 10, prefix="Small")
    large_users = add_members(app, large, 60, prefix="Large")
    finish_training(app, module_id, small_users[:5] + large_users[:30])
    for user_id in small_users[:2] + large_users[:20]:
        add_certificate(app, user_id, None)
    client.get(f"{BASE}/cohorts/{small}")
    with count_queries() as small_queries:
        client.get(f"{BASE}/cohorts/{small}")
    with count_queries() as large_queries:
        page = client.get(f"{BASE}/cohorts/{large}")
    assert page.get_data(as_text=True).count('<tr id="member-') == 60
    assert len(small_queries) == len(large_queries), large_queries


def test_issue_for_all_queues_them_for_approval_when_approval_is_by_hand(app, client, login_as):
    app.config["CERTIFICATE_APPROVAL"] = "manual"
    login_as("coordinator")
    cohort = make_cohort(app)
    module_id = publish_required_module(app)
    users = add_members(app, cohort, 2)
    finish_training(app, module_id, users)
    response = client.post(f"{BASE}/cohorts/{cohort}/issue")
    assert "2 certificates waiting for approval." in response.get_data(as_text=True)
    assert certificate_count(app, status=CertificateStatus.PENDING) == 2


def test_with_htmx_issue_for_all_goes_step_by_step_showing_progress_until_done(app, client, login_as, monkeypatch):
    from liaison.certificates import admin_views

    monkeypatch.setattr(admin_views, "ISSUE_STEP", 2)
    login_as("coordinator")
    cohort = make_cohort(app)
    module_id = publish_required_module(app)
    users = add_members(app, cohort, 6)
    finish_training(app, module_id, users[:5])
    page = client.get(f"{BASE}/cohorts/{cohort}").get_data(as_text=True)
    assert f'hx-post="{BASE}/cohorts/{cohort}/issue"' in page

    first = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX)
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert html.lstrip().startswith('<div class="liaison-issue-progress" id="issue-progress"')
    assert "2 of 5 eligible members have a certificate." in html
    assert 'value="2"' in html
    assert 'max="5"' in html
    # Not done: the fragment asks for the next step as soon as it is on the page.
    assert 'hx-trigger="load' in html
    assert certificate_count(app) == 2

    # The progress comes from the database: the next step (any app process) continues from there.
    second = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX).get_data(as_text=True)
    assert "4 of 5 eligible members have a certificate." in second
    last = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX).get_data(as_text=True)
    assert "5 of 5 eligible members have a certificate." in last
    assert "Done: every eligible member has a certificate." in last
    assert 'hx-trigger="load' not in last
    assert certificate_count(app) == 5
    with app.app_context():
        holders = set(db.session.scalars(select(Certificate.user_id)))
    assert holders == set(users[:5])

    # Pressing it again later issues nothing and says everyone eligible is done.
    again = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX).get_data(as_text=True)
    assert "5 of 5 eligible members have a certificate." in again
    assert certificate_count(app) == 5


def test_a_step_that_can_issue_nothing_stops_and_says_how_many_are_left(app, client, login_as, monkeypatch):
    from liaison.certificates import services as certificate_services

    login_as("coordinator")
    cohort = make_cohort(app)
    module_id = publish_required_module(app)
    users = add_members(app, cohort, 2)
    finish_training(app, module_id, users)
    # The rule changes between the cohort check and the issue (e.g. a coordinator withdrew them).
    monkeypatch.setattr(certificate_services, "issue_if_eligible", lambda user, actor=None: None)
    html = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX).get_data(as_text=True)
    assert "2 eligible members could not get a certificate." in html
    assert 'hx-trigger="load' not in html
    assert certificate_count(app) == 0


def test_issue_for_all_refuses_a_post_without_the_csrf_token(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app)
    module_id = publish_required_module(app)
    users = add_members(app, cohort, 1)
    finish_training(app, module_id, users)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"{BASE}/cohorts/{cohort}/issue", headers=HTMX)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert certificate_count(app) == 0


# Approve and revoke -----------------------------------------------------------------------------


def test_approving_a_pending_certificate_issues_it_and_swaps_the_row(app, client, login_as, outbox):
    login_as("coordinator")
    cohort = make_cohort(app)
    [user_id] = add_members(app, cohort, 1)
    certificate_id = add_certificate(app, user_id, cohort, expires_in_days=None, status=CertificateStatus.PENDING)
    response = client.post(f"{BASE}/{certificate_id}/approve", headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith(f'<tr id="certificate-{certificate_id}"')
    assert "Certificate of Member 000 issued." in body
    assert "Valid" in body
    with app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.status is CertificateStatus.ACTIVE
        assert certificate.expires_at is not None
    assert len(outbox()) == 1
    # Approving again is refused without JavaScript too: a message, nothing changes.
    again = client.post(f"{BASE}/{certificate_id}/approve", follow_redirects=True)
    assert "not waiting for approval" in again.get_data(as_text=True)


def test_revoking_needs_a_reason_and_closes_the_filing_gate_at_once(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app)
    [user_id] = add_members(app, cohort, 1)
    certificate_id = add_certificate(app, user_id, cohort)
    with app.test_request_context():
        assert filing_gate(db.session.get(User, user_id)).allowed

    form = client.get(f"{BASE}/{certificate_id}/revoke")
    assert form.status_code == 200
    assert "Reason for revoking" in form.get_data(as_text=True)
    field = f"certificate-{certificate_id}-reason"
    missing = client.post(f"{BASE}/{certificate_id}/revoke", data={field: "   "})
    assert missing.status_code == 422
    assert "Write the reason for revoking." in missing.get_data(as_text=True)
    assert certificate_count(app, status=CertificateStatus.REVOKED) == 0

    inline_form = client.get(f"{BASE}/{certificate_id}/revoke", headers=HTMX)
    assert inline_form.get_data(as_text=True).startswith(f'<tr id="certificate-{certificate_id}"')
    done = client.post(f"{BASE}/{certificate_id}/revoke", data={field: "Moved away"}, headers=HTMX)
    assert done.status_code == 200
    assert "Certificate of Member 000 revoked." in done.get_data(as_text=True)
    with app.test_request_context():
        certificate = db.session.get(Certificate, certificate_id)
        assert certificate.revoke_reason == "Moved away"
        decision = filing_gate(db.session.get(User, user_id))
        assert not decision.allowed
        assert "revoked" in decision.reason
        assert "certificate.revoked" in db.session.scalars(select(AuditEvent.action))


def test_revoking_without_javascript_redirects_to_the_list_with_a_message(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app)
    [user_id] = add_members(app, cohort, 1)
    certificate_id = add_certificate(app, user_id, cohort)
    response = client.post(
        f"{BASE}/{certificate_id}/revoke",
        data={f"certificate-{certificate_id}-reason": "Fraud"},
        follow_redirects=True,
    )
    assert "Certificate of Member 000 revoked." in response.get_data(as_text=True)
    assert "Revoked" in response.get_data(as_text=True)


def test_liaisons_get_403_on_every_certificate_admin_page(app, client, login_as):
    cohort_owner = login_as("liaison")
    with app.app_context():
        db.session.add(User(email="c@example.org", full_name="Coordinator", role=Role.COORDINATOR, active=True))
        db.session.commit()
    cohort = make_cohort(app)
    certificate_id = add_certificate(app, cohort_owner.id, cohort)
    assert client.get(f"{BASE}/").status_code == 403
    assert client.get(f"{BASE}/cohorts/{cohort}").status_code == 403
    assert client.post(f"{BASE}/cohorts/{cohort}/issue").status_code == 403
    assert client.post(f"{BASE}/{certificate_id}/approve").status_code == 403
    assert client.post(f"{BASE}/{certificate_id}/revoke", data={"reason": "x"}).status_code == 403
    assert certificate_count(app, status=CertificateStatus.REVOKED) == 0


# A cohort's certificates as one ZIP -------------------------------------------------------------


def test_the_cohort_zip_holds_one_pdf_per_active_certificate_named_by_code(app, client, login_as):
    coordinator = login_as("coordinator")
    cohort, other = make_cohort(app, "North"), make_cohort(app, "South")
    [first, second, revoked, pending] = add_members(app, cohort, 4, prefix="North")
    [southerner] = add_members(app, other, 1, prefix="South")
    with app.app_context():
        # A name with path characters must never become a file name in the archive.
        db.session.get(User, first).full_name = "../../etc/passwd"
        db.session.commit()
    active_ids = [add_certificate(app, first, cohort), add_certificate(app, second, cohort)]
    revoked_id = add_certificate(app, revoked, cohort, status=CertificateStatus.REVOKED)
    add_certificate(app, pending, cohort, expires_in_days=None, status=CertificateStatus.PENDING)
    add_certificate(app, southerner, other)
    with app.app_context():
        codes = {db.session.get(Certificate, id_).code for id_ in active_ids}
        revoked_code = db.session.get(Certificate, revoked_id).code

    page = client.get(f"{BASE}/cohorts/{cohort}").get_data(as_text=True)
    assert "Download all certificates (ZIP)" in page
    assert "2 active certificates" in page

    response = client.get(f"{BASE}/cohorts/{cohort}/certificates.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="cohort-{cohort}-certificates.zip"'
    assert response.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"certificate-{code}.pdf" for code in codes)
        assert f"certificate-{revoked_code}.pdf" not in names
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert archive.read(info).startswith(b"%PDF")
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "certificates.exported")))
    assert [(e.actor_id, e.subject_type, e.subject_id, e.details) for e in events] == [
        (coordinator.id, "cohort", str(cohort), {"count": 2})
    ]


def test_a_cohort_without_active_certificates_gets_a_404_with_a_message_and_no_link(app, client, login_as):
    login_as("coordinator")
    cohort = make_cohort(app, "Empty")
    [revoked] = add_members(app, cohort, 1)
    add_certificate(app, revoked, cohort, status=CertificateStatus.REVOKED)
    assert "Download all certificates (ZIP)" not in client.get(f"{BASE}/cohorts/{cohort}").get_data(as_text=True)
    response = client.get(f"{BASE}/cohorts/{cohort}/certificates.zip")
    assert response.status_code == 404
    assert "Empty has no active certificates to download." in response.get_data(as_text=True)
    assert client.get(f"{BASE}/cohorts/{cohort + 1000}/certificates.zip").status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "certificates.exported")
            )
            == 0
        )
