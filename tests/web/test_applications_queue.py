"""Coordinators review applications: counts, filters, inline and bulk decisions, invitations."""

from __future__ import annotations

import html as html_lib
import re
import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import services
from liaison.enrollment.models import (
    Application,
    ApplicationStatus,
    Cohort,
    GroupType,
    Membership,
    MembershipStatus,
)
from liaison.extensions import db
from tests import factories

QUEUE = "/coordinator/applications/"
HTMX = {"HX-Request": "true"}


# Test data -----------------------------------------------------------------------------------


def make_cohort(app, name: str = "Cedar Park spring", capacity: int = 10, neighborhood: str = "Cedar Park") -> int:
    with app.test_request_context():
        cohort = services.create_cohort(
            None, services.CohortInput(name=name, capacity=capacity, neighborhood=neighborhood)
        )
        db.session.commit()
        return cohort.id


_numbers = iter(range(1, 1_000_000))


def make_application(app, full_name: str | None = None, **overrides) -> int:
    number = next(_numbers)
    values = {
        "full_name": full_name or f"Applicant {number}",
        "email": f"applicant{number}@example.org",
        "phone": "215-555-0100",
        "address": "100 Main St",
        "zip_code": "19104",
        "neighborhood": "Cedar Park",
        "group_type": GroupType.CIVIC_ASSOCIATION,
        "group_name": "Cedar Park Neighbors",
        "languages": ["en", "es"],
        "availability": ["weekends"],
        "motivation": "I want to help my block get things fixed.",
        "consent": True,
    }
    values.update(overrides)
    with app.test_request_context():
        application = services.submit_application(services.ApplicationInput(**values), notify=False)
        db.session.commit()
        return application.id


def decide(app, application_id: int, decision: str, *, cohort_id: int | None = None, note: str = "") -> None:
    """Decide through the service, as a coordinator made for the purpose."""
    with app.test_request_context():
        actor = factories.make_coordinator()
        application = db.session.get(Application, application_id)
        if decision == "approve":
            services.approve_application(actor, application, cohort_id, note)
        elif decision == "waitlist":
            services.waitlist_application(actor, application, note)
        else:
            services.decline_application(actor, application, note)
        db.session.commit()


def stored(app, application_id: int) -> Application:
    with app.app_context():
        application = db.session.get(Application, application_id)
        db.session.expunge(application)
        return application


def active_members(app, cohort_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE)
        )


def row_ids(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="application-(\d+)"', html)]


def error_next_to(html: str, field_id: str) -> str:
    """The error message shown for a control (referenced by its aria-describedby)."""
    control = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', html)
    assert control, f"no control {field_id}"
    assert re.search(rf'aria-describedby="[^"]*\b{field_id}-error\b', control.group(0)), f"{field_id} lacks its error"
    match = re.search(rf'id="{field_id}-error"[^>]*>\s*([^<]+?)\s*<', html)
    assert match, f"no error message next to {field_id}"
    return html_lib.unescape(match.group(1))


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


# The list ------------------------------------------------------------------------------------


def test_the_queue_shows_new_applications_first_with_counts_per_status(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    new_one = make_application(app, "Nadia New")
    new_two = make_application(app, "Omar Other")
    waiting = make_application(app, "Wanda Waiting")
    declined = make_application(app, "Dario Declined")
    approved = make_application(app, "Alma Approved")
    decide(app, waiting, "waitlist")
    decide(app, declined, "decline", note="Lives outside the city")
    decide(app, approved, "approve", cohort_id=cohort_id)

    response = client.get(QUEUE)
    html = text(response)
    assert response.status_code == 200
    # Submitted applications are the default view, oldest first.
    assert row_ids(html) == [new_one, new_two]
    for label, count in [("Submitted", 2), ("Waitlisted", 1), ("Approved", 1), ("Declined", 1), ("All", 5)]:
        assert re.search(rf'>{label} <span class="usa-tag[^"]*">{count}</span></a>', html), label
    assert 'href="/coordinator/applications/?status=waitlisted"' in html

    everything = text(client.get(QUEUE + "?status=all"))
    assert sorted(row_ids(everything)) == sorted([new_one, new_two, waiting, declined, approved])
    # Decided rows say who decided and, for approvals, into which cohort.
    assert "Cedar Park spring" in everything
    assert re.search(r"by Test Coordinator \d+", everything)


def test_each_row_shows_the_applicant_and_how_to_reach_them(app, client, login_as):
    login_as("coordinator")
    make_application(
        app,
        "Rosa Ibáñez",
        email="rosa@example.org",
        phone="267-555-0199",
        neighborhood="Kensington",
        group_type=GroupType.FAITH_GROUP,
        group_name="St. Mark's",
        languages=["es", "Tagalog"],
    )
    html = text(client.get(QUEUE))
    for shown in ["Rosa Ibáñez", "rosa@example.org", "267-555-0199", "Kensington", "Faith group", "St. Mark's"]:
        assert shown in html
    assert "Spanish, Tagalog" in html
    assert 'aria-current="true">Submitted' in html


def test_filters_and_search_narrow_the_list(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app, "Fairhill fall", neighborhood="Fairhill")
    ana = make_application(app, "Ana Lopez", email="ana@example.org", neighborhood="Fairhill")
    bruno = make_application(app, "Bruno Diaz", email="bdiaz@example.org", neighborhood="Kensington")
    carla = make_application(app, "Carla Stone", email="carla@example.org", neighborhood="Kensington")
    decide(app, carla, "approve", cohort_id=cohort_id)
    with app.app_context():
        db.session.get(Application, ana).submitted_at = utcnow() - timedelta(days=30)
        db.session.commit()

    assert row_ids(text(client.get(QUEUE + "?neighborhood=Kensington"))) == [bruno]
    assert row_ids(text(client.get(QUEUE + "?status=all&neighborhood=Kensington"))) == [bruno, carla]
    assert row_ids(text(client.get(QUEUE + "?status=all&q=LOPEZ"))) == [ana]
    assert row_ids(text(client.get(QUEUE + "?status=all&q=bdiaz@"))) == [bruno]
    assert row_ids(text(client.get(f"{QUEUE}?status=all&cohort={cohort_id}"))) == [carla]
    assert row_ids(text(client.get(QUEUE + "?status=approved"))) == [carla]
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    assert row_ids(text(client.get(f"{QUEUE}?status=all&submitted_from={since}"))) == [bruno, carla]
    assert row_ids(text(client.get(f"{QUEUE}?status=all&submitted_to={since}"))) == [ana]

    kept = text(client.get(f"{QUEUE}?status=all&q=lopez&neighborhood=Fairhill&cohort={cohort_id}"))
    assert 'value="lopez"' in kept
    assert '<option selected value="Fairhill">' in kept
    assert f'<option selected value="{cohort_id}">Fairhill fall</option>' in kept


def test_a_backwards_date_range_is_pointed_out(app, client, login_as):
    login_as("coordinator")
    response = client.get(QUEUE + "?submitted_from=2025-05-10&submitted_to=2025-05-01")
    assert response.status_code == 422
    assert error_next_to(text(response), "submitted_to") == "Choose a date on or after the first date."


def test_htmx_search_gets_only_the_results_fragment(app, client, login_as):
    login_as("coordinator")
    make_application(app, "Ana Lopez")
    make_application(app, "Bruno Diaz")
    response = client.get(QUEUE + "?q=ana", headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="application-results"')
    assert "<html" not in html
    assert "Ana Lopez" in html
    assert "Bruno Diaz" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_the_queue_paginates_with_a_fixed_number_of_queries(app, client, login_as, count_queries):
    login_as("coordinator")
    cohort_id = make_cohort(app, capacity=200)
    with app.test_request_context():
        reviewers = [factories.make_coordinator() for _ in range(3)]
        people = [
            User(email=f"person{n}@example.org", full_name=f"Person {n}", role=Role.LIAISON, active=True)
            for n in range(40)
        ]
        db.session.add_all(people)
        db.session.flush()
        statuses = [ApplicationStatus.APPROVED, ApplicationStatus.DECLINED, ApplicationStatus.SUBMITTED]
        now = utcnow()
        for n in range(120):
            status = statuses[n % 3]
            decided = status is not ApplicationStatus.SUBMITTED
            db.session.add(
                Application(
                    full_name=f"Bulk {n:03d}",
                    email=f"bulk{n}@example.org",
                    group_type=GroupType.BLOCK_CLUB,
                    languages=["en"],
                    consent=True,
                    status=status,
                    submitted_at=now - timedelta(minutes=200 - n),
                    reviewed_at=now if decided else None,
                    reviewed_by_id=reviewers[n % 3].id if decided else None,
                    cohort_id=cohort_id if status is ApplicationStatus.APPROVED else None,
                    user_id=people[n // 3].id if status is ApplicationStatus.APPROVED else None,
                )
            )
        db.session.commit()

    client.get(QUEUE + "?status=all")  # the first page view after login also saves the session
    with count_queries() as first_page:
        first = client.get(QUEUE + "?status=all")
    with count_queries() as third_page:
        third = client.get(QUEUE + "?status=all&page=3")
    assert first.status_code == third.status_code == 200
    assert len(row_ids(text(first))) == 50
    assert len(row_ids(text(third))) == 20
    assert 'aria-label="Page 3"' in text(first)
    # Reviewer, cohort and account of each row come with the page, not one query per row.
    # Session, user, page, total, counts per status, approve menu, cohort and neighborhood filters.
    assert len(first_page) == len(third_page) <= 8, [query[:60] for query in first_page]


# Deciding one application ----------------------------------------------------------------------


def test_approving_inline_creates_the_account_emails_the_invitation_and_places_them(app, client, login_as, outbox):
    coordinator = login_as("coordinator")
    cohort_id = make_cohort(app, "Cedar Park spring", capacity=5)
    application_id = make_application(app, "Ana Lopez", email="ana.lopez@example.org", preferred_language="es")

    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "approve", "cohort_id": str(cohort_id), "note": "Great fit", "next": QUEUE},
        headers=HTMX,
    )
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="application-{application_id}">')
    assert "Ana Lopez is approved into Cedar Park spring." in html
    assert ">approved</span>" in html
    assert "Resend invitation" in html

    [message] = outbox()
    assert message["To"] == "ana.lopez@example.org"
    assert re.search(r"/invitation/\S+", message.get_content())
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "ana.lopez@example.org")).one()
        assert user.role == Role.LIAISON
        assert user.password_hash is None
        membership = db.session.scalars(select(Membership).where(Membership.user_id == user.id)).one()
        assert membership.cohort_id == cohort_id
        assert membership.status == MembershipStatus.ACTIVE
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "application.approved")).one()
        assert event.actor_id == coordinator.id
        assert event.subject_id == str(application_id)
    application = stored(app, application_id)
    assert application.status == ApplicationStatus.APPROVED
    assert application.reviewed_by_id == coordinator.id
    assert application.review_note == "Great fit"


def test_approving_without_javascript_goes_back_to_the_same_filtered_queue(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    application_id = make_application(app, "Ana Lopez")
    filtered = QUEUE + "?status=submitted&neighborhood=Cedar+Park&page=1"
    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "approve", "cohort_id": str(cohort_id), "next": filtered},
    )
    assert response.status_code == 302
    assert response.location == filtered
    assert "Ana Lopez is approved into Cedar Park spring." in text(client.get(response.location))


def test_a_next_address_off_the_site_is_ignored(app, client, login_as):
    login_as("coordinator")
    application_id = make_application(app)
    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "waitlist", "next": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response.location == QUEUE


def test_waitlisting_keeps_the_application_and_tells_the_applicant(app, client, login_as, outbox):
    login_as("coordinator")
    application_id = make_application(app, "Wanda Waiting", email="wanda@example.org")
    response = client.post(f"{QUEUE}{application_id}/decision", data={"decision": "waitlist"}, headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert ">waitlisted</span>" in html
    # A waitlisted application can still be approved or declined, but not waitlisted again.
    assert 'value="approve"' in html
    assert 'value="decline"' in html
    assert 'value="waitlist"' not in html
    assert stored(app, application_id).status == ApplicationStatus.WAITLISTED
    [message] = outbox()
    assert message["To"] == "wanda@example.org"
    assert "waiting list" in message["Subject"]


def test_declining_needs_a_note_shown_next_to_the_note(app, client, login_as, outbox):
    login_as("coordinator")
    application_id = make_application(app, "Dario Declined")
    url = f"{QUEUE}{application_id}/decision"

    response = client.post(url, data={"decision": "decline", "note": "   "}, headers=HTMX)
    assert response.status_code == 422
    html = text(response)
    assert html.lstrip().startswith(f'<tr id="application-{application_id}">')
    assert error_next_to(html, f"note-{application_id}") == "Write a short note saying why."
    assert '<details class="liaison-queue__decide" open>' in html

    # Without JavaScript: the application's page, with the message and what was typed.
    plain = client.post(url, data={"decision": "decline", "note": "", "cohort_id": "", "next": QUEUE})
    assert plain.status_code == 422
    assert error_next_to(text(plain), "note") == "Write a short note saying why."
    assert stored(app, application_id).status == ApplicationStatus.SUBMITTED
    assert outbox() == []

    done = client.post(url, data={"decision": "decline", "note": "Lives outside the city"}, headers=HTMX)
    assert done.status_code == 200
    assert ">declined</span>" in text(done)
    application = stored(app, application_id)
    assert application.status == ApplicationStatus.DECLINED
    assert application.review_note == "Lives outside the city"
    assert len(outbox()) == 1


def test_approving_needs_a_cohort(app, client, login_as):
    login_as("coordinator")
    application_id = make_application(app)
    response = client.post(
        f"{QUEUE}{application_id}/decision", data={"decision": "approve", "note": "kept"}, headers=HTMX
    )
    assert response.status_code == 422
    html = text(response)
    assert error_next_to(html, f"cohort-{application_id}") == "Choose the cohort to approve into."
    assert ">kept</textarea>" in html


def test_a_full_cohort_is_refused_next_to_the_cohort_menu(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app, "Tiny cohort", capacity=1)
    decide(app, make_application(app), "approve", cohort_id=cohort_id)
    application_id = make_application(app, "Late Comer")
    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "approve", "cohort_id": str(cohort_id), "note": "typed"},
        headers=HTMX,
    )
    assert response.status_code == 422
    html = text(response)
    assert error_next_to(html, f"cohort-{application_id}").startswith("Tiny cohort is full.")
    assert ">typed</textarea>" in html
    assert stored(app, application_id).status == ApplicationStatus.SUBMITTED
    assert active_members(app, cohort_id) == 1


def test_deciding_an_application_already_decided_says_so(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    application_id = make_application(app)
    decide(app, application_id, "approve", cohort_id=cohort_id)
    response = client.post(
        f"{QUEUE}{application_id}/decision", data={"decision": "decline", "note": "Changed my mind"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "This application was already approved." in text(response)
    assert stored(app, application_id).status == ApplicationStatus.APPROVED

    plain = client.post(f"{QUEUE}{application_id}/decision", data={"decision": "decline", "note": "again"})
    assert plain.status_code == 422
    assert "This application was already approved." in text(plain)


def test_an_expired_form_is_refused_without_losing_the_note(app, client, login_as):
    login_as("coordinator")
    application_id = make_application(app)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "decline", "note": "Typed before lunch", "csrf_token": "stale"},
        headers=HTMX,
    )
    assert response.status_code == 422
    html = text(response)
    assert "Your session expired. Check the form and send it again." in html
    assert ">Typed before lunch</textarea>" in html
    assert stored(app, application_id).status == ApplicationStatus.SUBMITTED


def test_deciding_an_unknown_application_is_a_404(client, login_as):
    login_as("coordinator")
    assert client.post(f"{QUEUE}99999/decision", data={"decision": "waitlist"}).status_code == 404
    assert client.get(f"{QUEUE}99999").status_code == 404


def test_two_coordinators_approving_at_once_never_overfill_a_cohort(app, make_user):
    """Capacity 1, two applications, two coordinators pressing Approve at the same moment."""
    cohort_id = make_cohort(app, "Last place", capacity=1)
    application_ids = [make_application(app, "First Person"), make_application(app, "Second Person")]
    clients = []
    for _ in range(2):
        coordinator = make_user(Role.COORDINATOR)
        client = app.test_client()
        assert (
            client.post("/login", data={"email": coordinator.email, "password": factories.PASSWORD}).status_code == 302
        )
        client.get(QUEUE)  # the first page view after login also saves the session
        clients.append(client)

    barrier = threading.Barrier(2, timeout=30)
    results: list = [None, None]
    errors: list[BaseException] = []

    def approve(index: int) -> None:
        try:
            barrier.wait()
            response = clients[index].post(
                f"{QUEUE}{application_ids[index]}/decision",
                data={"decision": "approve", "cohort_id": str(cohort_id), "next": QUEUE},
            )
            results[index] = (response.status_code, text(response))
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(status for status, _body in results) == [302, 422]
    refused = next(body for status, body in results if status == 422)
    assert error_next_to(refused, "cohort_id").startswith("Last place is full.")
    assert active_members(app, cohort_id) == 1
    statuses = sorted(stored(app, application_id).status for application_id in application_ids)
    assert statuses == sorted([ApplicationStatus.APPROVED, ApplicationStatus.SUBMITTED])


# Bulk ---------------------------------------------------------------------------------------


def test_bulk_approval_reports_who_could_not_be_placed(app, client, login_as, outbox):
    login_as("coordinator")
    cohort_id = make_cohort(app, "Small cohort", capacity=2)
    ids = [make_application(app, name) for name in ("Ana One", "Ben Two", "Cleo Three")]
    response = client.post(
        QUEUE + "bulk?status=submitted&q=",
        data={"application_ids": [str(i) for i in ids], "decision": "approve", "cohort_id": str(cohort_id)},
    )
    assert response.status_code == 303
    assert response.location == QUEUE + "?status=submitted&q="
    html = text(client.get(response.location))
    assert (
        "2 applications approved. 1 could not be: Cleo Three — Small cohort is full. "
        "Choose another cohort or waitlist the applicant."
    ) in html
    assert row_ids(html) == [ids[2]]
    assert active_members(app, cohort_id) == 2
    assert sum("/invitation/" in message.get_content() for message in outbox()) == 2


def test_bulk_with_htmx_swaps_in_the_fresh_results_with_the_summary(app, client, login_as):
    login_as("coordinator")
    ids = [make_application(app, name) for name in ("Ana One", "Ben Two")]
    keep = make_application(app, "Cleo Three")
    response = client.post(
        QUEUE + "bulk?status=submitted",
        data={"application_ids": [str(i) for i in ids], "decision": "decline", "note": "Outside the city"},
        headers=HTMX,
    )
    # htmx follows the redirect with its headers and swaps the fragment it gets.
    assert response.status_code == 303
    fragment = client.get(response.location, headers=HTMX)
    html = text(fragment)
    assert html.lstrip().startswith('<div id="application-results"')
    assert "<html" not in html
    assert "2 applications declined." in html
    assert row_ids(html) == [keep]
    assert {stored(app, i).status for i in ids} == {ApplicationStatus.DECLINED}


def test_bulk_without_a_selection_is_refused_and_keeps_the_choices(app, client, login_as):
    login_as("coordinator")
    make_application(app)
    response = client.post(QUEUE + "bulk?status=submitted", data={"decision": "decline", "note": "typed note"})
    assert response.status_code == 422
    html = text(response)
    assert "Select at least one application first." in html
    assert "typed note</textarea>" in html
    assert '<option selected value="decline">' in html

    htmx = client.post(QUEUE + "bulk", data={"decision": "waitlist"}, headers=HTMX)
    assert htmx.status_code == 422
    assert htmx.headers["HX-Retarget"] == "#bulk-form"
    assert text(htmx).lstrip().startswith('<form id="bulk-form"')
    assert "Select at least one application first." in text(htmx)


def test_bulk_decline_needs_a_note_and_keeps_the_ticked_rows(app, client, login_as):
    login_as("coordinator")
    ids = [make_application(app) for _ in range(2)]
    response = client.post(QUEUE + "bulk", data={"application_ids": [str(ids[0])], "decision": "decline", "note": ""})
    assert response.status_code == 422
    html = text(response)
    assert error_next_to(html, "bulk-note") == "Write a short note saying why."
    assert re.search(rf'id="select-{ids[0]}"[^>]*checked', html)
    assert not re.search(rf'id="select-{ids[1]}"[^>]*checked', html)
    assert {stored(app, i).status for i in ids} == {ApplicationStatus.SUBMITTED}


def test_bulk_waitlist_mixed_with_already_decided_applications(app, client, login_as):
    login_as("coordinator")
    fresh = make_application(app, "Fresh Person")
    old = make_application(app, "Old Person")
    decide(app, old, "decline", note="No")
    response = client.post(
        QUEUE + "bulk", data={"application_ids": [str(fresh), str(old), "99999"], "decision": "waitlist"}
    )
    assert response.status_code == 303
    html = text(client.get(response.location))
    assert "1 application waitlisted." in html
    assert "1 could not be: Old Person — This application was already declined." in html
    assert "1 no longer exists." in html


# Invitations ----------------------------------------------------------------------------------


def test_resending_the_invitation_emails_a_new_link(app, client, login_as, outbox):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    application_id = make_application(app, "Ana Lopez", email="ana@example.org")
    decide(app, application_id, "approve", cohort_id=cohort_id)
    assert len(outbox()) == 1

    response = client.post(f"{QUEUE}{application_id}/invitation", data={"next": QUEUE}, headers=HTMX)
    assert response.status_code == 200
    assert "A new link to set a password was emailed to Ana Lopez." in text(response)
    messages = outbox()
    assert len(messages) == 2
    assert messages[-1]["To"] == "ana@example.org"
    assert re.search(r"/invitation/\S+", messages[-1].get_content())

    plain = client.post(f"{QUEUE}{application_id}/invitation", data={"next": QUEUE + "?status=approved"})
    assert plain.status_code == 302
    assert plain.location == QUEUE + "?status=approved"
    assert len(outbox()) == 3


def test_no_invitation_is_resent_once_the_password_is_set_or_before_approval(app, client, login_as, outbox):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    application_id = make_application(app, "Ana Lopez", email="ana@example.org")
    pending = make_application(app)
    decide(app, application_id, "approve", cohort_id=cohort_id)
    with app.test_request_context():
        from liaison.auth.services import set_password

        set_password(db.session.scalars(select(User).where(User.email == "ana@example.org")).one(), factories.PASSWORD)
        db.session.commit()
    before = len(outbox())

    response = client.post(f"{QUEUE}{application_id}/invitation", headers=HTMX)
    assert response.status_code == 422
    assert "Ana Lopez has already set a password and can log in." in text(response)
    refused = client.post(f"{QUEUE}{pending}/invitation", follow_redirects=True)
    assert "There is no account to invite yet: approve the application first." in text(refused)
    assert len(outbox()) == before


# The application's page ------------------------------------------------------------------------


def test_the_application_page_shows_every_answer_and_the_history(app, client, login_as):
    coordinator = login_as("coordinator", full_name="Carmen Coordinator")
    cohort_id = make_cohort(app, "Cedar Park spring")
    application_id = make_application(
        app,
        "Ana Lopez",
        email="ana@example.org",
        phone="215-555-0134",
        address="2213 N Howard St",
        zip_code="19133",
        neighborhood="Fairhill",
        group_type=GroupType.BLOCK_CLUB,
        group_name="Howard Street Block Club",
        languages=["en", "es"],
        availability=["weekends"],
        motivation="Our street lights have been out for months.",
    )
    page = text(client.get(f"{QUEUE}{application_id}"))
    for shown in [
        "ana@example.org",
        "215-555-0134",
        "2213 N Howard St",
        "19133",
        "Fairhill",
        "Block club: Howard Street Block Club",
        "English, Spanish",
        "Weekends",
        "Our street lights have been out for months.",
        "Application received",
    ]:
        assert shown in page, shown
    assert 'name="decision" value="approve"' in page
    assert "Cedar Park spring (10 places left)" in page

    client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "waitlist", "note": "Next cohort", "next": f"{QUEUE}{application_id}"},
    )
    response = client.post(
        f"{QUEUE}{application_id}/decision",
        data={"decision": "approve", "cohort_id": str(cohort_id), "note": "Place opened"},
    )
    assert response.status_code == 302
    page = text(client.get(f"{QUEUE}{application_id}"))
    history = page[page.index(">History<") :]
    assert history.index("Put on the waiting list") < history.index("Approved into a cohort")
    assert "Invitation to set a password emailed" in history
    assert "Carmen Coordinator" in history
    assert "Place opened" in history
    assert "They have not set a password yet." in page
    assert "Resend the invitation" in page
    assert 'name="decision"' not in page
    assert coordinator.full_name in page


# Access and the dashboard ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["liaison", "deactivated"])
def test_only_coordinators_may_review_applications(app, client, login_as, role):
    login_as(role)
    application_id = make_application(app)
    expected = 403 if role == "liaison" else 302
    assert client.get(QUEUE).status_code == expected
    assert client.get(f"{QUEUE}{application_id}").status_code == expected
    assert client.post(f"{QUEUE}{application_id}/decision", data={"decision": "waitlist"}).status_code == expected
    assert (
        client.post(QUEUE + "bulk", data={"application_ids": [str(application_id)], "decision": "waitlist"}).status_code
        == expected
    )
    assert stored(app, application_id).status == ApplicationStatus.SUBMITTED


def test_the_coordinator_dashboard_says_how_many_applications_wait(app, client, login_as):
    login_as("coordinator")
    make_application(app)
    make_application(app)
    decide(app, make_application(app), "waitlist")
    html = text(client.get("/coordinator"))
    assert "2 applications waiting for review" in html
    assert "1 on the waiting list" in html
    assert f'href="{QUEUE}"' in html


def test_a_cohort_filter_lists_every_cohort_even_full_ones(app, client, login_as):
    login_as("coordinator")
    full = make_cohort(app, "Full cohort", capacity=1)
    decide(app, make_application(app), "approve", cohort_id=full)
    make_application(app)
    html = text(client.get(QUEUE))
    filters = html[html.index('id="cohort"') : html.index("</select>", html.index('id="cohort"'))]
    assert "Full cohort" in filters
    # ...but the approve menus offer only cohorts with a free place.
    assert "Full cohort (" not in html
    assert "No cohort has a free place" in html
    with app.app_context():
        assert db.session.get(Cohort, full) is not None


@pytest.mark.parametrize(
    "query",
    [
        "?cohort=99999999999999999999999",
        "?page=999999999999999999999",
        "?neighborhood=%00",
        "?q=%00",
        "?submitted_from=0001-01-01&submitted_to=9999-12-31",
        "?status=nonsense&cohort=%C2%B2",
    ],
)
def test_odd_filters_in_the_address_never_break_the_queue(app, client, login_as, query):
    login_as("coordinator")
    make_application(app, "Still Listed")
    response = client.get(QUEUE + query)
    assert response.status_code in (200, 422)
    assert "Still Listed" in text(response) or "No application matches" in text(response)


def test_odd_decision_values_are_refused_not_crashed_on(app, client, login_as):
    login_as("coordinator")
    application_id = make_application(app)
    url = f"{QUEUE}{application_id}/decision"
    assert client.post(url, data={"decision": "approve", "cohort_id": "99999999999999999999"}).status_code == 422
    assert client.post(url, data={"decision": "approve", "cohort_id": "\u00b2"}).status_code == 422
    assert (
        client.post(
            QUEUE + "bulk", data={"application_ids": ["99999999999999999999"], "decision": "waitlist"}
        ).status_code
        == 422
    )
    assert client.post(QUEUE + "bulk", data={"application_ids": ["abc"], "decision": "waitlist"}).status_code == 422
    response = client.post(url, data={"decision": "decline", "note": "Moved\x00 away", "next": QUEUE + "\x00"})
    assert response.status_code == 302
    assert stored(app, application_id).review_note == "Moved away"


def test_the_approve_menu_quotes_the_link_back_to_the_queue_safely(app, client, login_as):
    login_as("coordinator")
    make_application(app)
    html = client.get(QUEUE + "?q=" + quote('"><script>x</script>')).get_data(as_text=True)
    assert "<script>x</script>" not in html
