"""Enrollment rules, without HTTP: applications, capacity, moves, withdrawals, attendance."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import services
from liaison.enrollment import sessions as training
from liaison.enrollment.models import (
    Application,
    ApplicationSource,
    ApplicationStatus,
    CohortStatus,
    GroupType,
    Membership,
    MembershipStatus,
    SessionKind,
)
from liaison.errors import Conflict, ValidationFailed
from liaison.extensions import db
from tests import factories


def application(email: str = "resident@example.org", **overrides) -> services.ApplicationInput:
    values = {
        "full_name": "Resident Person",
        "email": email,
        "phone": "215-555-0100",
        "address": "100 Main St",
        "zip_code": "19104",
        "neighborhood": "Cedar Park",
        "group_type": GroupType.CIVIC_ASSOCIATION,
        "group_name": "Cedar Park Neighbors",
        "languages": ["en", "es"],
        "availability": ["weekday_evenings"],
        "motivation": "I want to help my block.",
        "consent": True,
        "preferred_language": "es",
    }
    values.update(overrides)
    return services.ApplicationInput(**values)


@pytest.fixture
def coordinator(app_ctx) -> User:
    return factories.make_coordinator()


def make_cohort(actor: User, capacity: int = 10, **overrides) -> services.Cohort:
    data = services.CohortInput(name=overrides.pop("name", "Spring cohort"), capacity=capacity, **overrides)
    cohort = services.create_cohort(actor, data)
    db.session.commit()
    return cohort


def test_an_application_is_stored_with_a_normalised_email_and_confirmed_by_email(app_ctx, outbox):
    submitted = services.submit_application(application(email="  Resident@Example.ORG "))
    db.session.commit()
    assert submitted.email == "resident@example.org"
    assert submitted.status is ApplicationStatus.SUBMITTED
    [message] = outbox()
    assert message["To"] == "resident@example.org"
    assert "Resident Person" in message.get_content()


def test_a_web_application_needs_consent(app_ctx):
    with pytest.raises(ValidationFailed) as raised:
        services.submit_application(application(consent=False))
    assert raised.value.field == "consent"


def test_a_second_pending_application_with_the_same_email_is_refused(app_ctx):
    services.submit_application(application())
    db.session.commit()
    with pytest.raises(ValidationFailed) as raised:
        services.submit_application(application(email="RESIDENT@example.org"))
    assert raised.value.field == "email"
    assert "already waiting for review" in str(raised.value.message)
    assert db.session.query(Application).count() == 1


def test_after_a_decline_the_person_may_apply_again(app_ctx, coordinator):
    first = services.submit_application(application())
    services.decline_application(coordinator, first, "Lives outside the city")
    db.session.commit()
    again = services.submit_application(application())
    db.session.commit()
    assert again.id != first.id


def test_two_identical_applications_at_the_same_moment_make_one_row(app, app_config):
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def apply() -> None:
        with app.test_request_context():
            barrier.wait(timeout=30)
            try:
                services.submit_application(application(email="twin@example.org"))
                db.session.commit()
                outcomes.append("ok")
            except ValidationFailed:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok", "refused"]
    with app.app_context():
        assert db.session.query(Application).filter_by(email="twin@example.org").count() == 1


def test_approving_creates_a_liaison_account_places_them_and_emails_an_invitation(app_ctx, coordinator, outbox):
    cohort = make_cohort(coordinator)
    submitted = services.submit_application(application())
    membership = services.approve_application(coordinator, submitted, cohort.id, "Welcome")
    db.session.commit()
    user = db.session.get(User, membership.user_id)
    assert user.role is Role.LIAISON
    assert user.email == "resident@example.org"
    assert not user.has_password
    assert user.preferred_language == "es"
    assert submitted.status is ApplicationStatus.APPROVED
    assert submitted.cohort_id == cohort.id
    assert submitted.reviewed_by_id == coordinator.id
    invitation = outbox()[-1]
    assert "/invitation/" in invitation.get_content()
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "application.approved" in actions


def test_a_full_cohort_refuses_an_approval_and_the_application_stays_pending(app_ctx, coordinator):
    cohort = make_cohort(coordinator, capacity=1)
    services.approve_application(coordinator, services.submit_application(application("a@example.org")), cohort.id)
    db.session.commit()
    second = services.submit_application(application("b@example.org"))
    db.session.commit()
    with pytest.raises(Conflict) as raised:
        services.approve_application(coordinator, second, cohort.id)
    db.session.rollback()
    assert "is full" in str(raised.value.message)
    assert db.session.get(Application, second.id).status is ApplicationStatus.SUBMITTED


def test_an_archived_or_completed_cohort_takes_no_one(app_ctx, coordinator):
    cohort = make_cohort(coordinator, status=CohortStatus.COMPLETED)
    with pytest.raises(Conflict):
        services.approve_application(coordinator, services.submit_application(application()), cohort.id)


def test_two_coordinators_approving_into_the_last_place_at_once_never_overfill(app, app_config):
    with app.test_request_context():
        first_coordinator = factories.make_coordinator()
        second_coordinator = factories.make_coordinator()
        cohort = make_cohort(first_coordinator, capacity=1)
        ids = [services.submit_application(application(f"p{n}@example.org")).id for n in range(2)]
        db.session.commit()
        actors = [first_coordinator.id, second_coordinator.id]
        cohort_id = cohort.id
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def approve(actor_id: int, application_id: int) -> None:
        with app.test_request_context():
            actor = db.session.get(User, actor_id)
            submitted = db.session.get(Application, application_id)
            # End the read transaction first: on SQLite it holds the write lock (BEGIN IMMEDIATE).
            db.session.commit()
            barrier.wait(timeout=30)
            try:
                services.approve_application(actor, submitted, cohort_id)
                db.session.commit()
                outcomes.append("approved")
            except Conflict:
                db.session.rollback()
                outcomes.append("full")

    threads = [threading.Thread(target=approve, args=pair) for pair in zip(actors, ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["approved", "full"]
    with app.app_context():
        assert services.active_member_count(cohort_id) == 1


def test_a_waitlisted_application_can_be_approved_when_a_place_frees_up(app_ctx, coordinator):
    cohort = make_cohort(coordinator, capacity=1)
    placed = services.approve_application(
        coordinator, services.submit_application(application("a@example.org")), cohort.id
    )
    waiting = services.submit_application(application("b@example.org"))
    services.waitlist_application(coordinator, waiting, "Next round")
    db.session.commit()
    with pytest.raises(Conflict):
        services.approve_application(coordinator, waiting, cohort.id)
    db.session.rollback()
    services.withdraw_member(coordinator, db.session.get(Membership, placed.id), "Moved away")
    services.approve_application(coordinator, waiting, cohort.id)
    db.session.commit()
    assert waiting.status is ApplicationStatus.APPROVED


def test_a_decided_application_cannot_be_decided_again(app_ctx, coordinator):
    submitted = services.submit_application(application())
    services.decline_application(coordinator, submitted, "Not eligible")
    with pytest.raises(Conflict) as raised:
        services.waitlist_application(coordinator, submitted)
    assert "already declined" in str(raised.value.message)


def test_declining_needs_a_note(app_ctx, coordinator):
    with pytest.raises(ValidationFailed) as raised:
        services.decline_application(coordinator, services.submit_application(application()), "   ")
    assert raised.value.field == "note"


def test_bulk_decisions_report_each_refusal_and_keep_the_rest(app_ctx, coordinator):
    cohort = make_cohort(coordinator, capacity=2)
    ids = [services.submit_application(application(f"bulk{n}@example.org")).id for n in range(3)]
    db.session.commit()
    result = services.decide_applications(coordinator, ids, "approve", cohort_id=cohort.id)
    db.session.commit()
    assert len(result.done) == 2
    assert list(result.refused) == [ids[2]]
    assert "is full" in result.refused[ids[2]]
    assert services.active_member_count(cohort.id) == 2


def test_the_approve_menu_lists_only_open_cohorts_with_room(app_ctx, coordinator):
    open_cohort = make_cohort(coordinator, capacity=2, name="Open")
    full = make_cohort(coordinator, capacity=1, name="Full")
    make_cohort(coordinator, capacity=5, name="Archived", status=CohortStatus.ARCHIVED)
    services.approve_application(coordinator, services.submit_application(application()), full.id)
    db.session.commit()
    choices = services.cohorts_with_free_places()
    assert [(choice.id, choice.free_places) for choice in choices] == [(open_cohort.id, 2)]


def test_counts_per_status_cover_every_status(app_ctx, coordinator):
    services.submit_application(application("one@example.org"))
    services.waitlist_application(coordinator, services.submit_application(application("two@example.org")))
    db.session.commit()
    counts = services.application_counts()
    assert counts[ApplicationStatus.SUBMITTED] == 1
    assert counts[ApplicationStatus.WAITLISTED] == 1
    assert counts[ApplicationStatus.DECLINED] == 0


def test_a_cohort_end_date_before_its_start_is_refused(app_ctx, coordinator):
    with pytest.raises(ValidationFailed) as raised:
        make_cohort(coordinator, starts_on=date(2027, 3, 1), ends_on=date(2027, 2, 1))
    assert raised.value.field == "ends_on"


def test_capacity_cannot_drop_below_the_current_members(app_ctx, coordinator):
    cohort = make_cohort(coordinator, capacity=3)
    for n in range(2):
        services.approve_application(
            coordinator, services.submit_application(application(f"m{n}@example.org")), cohort.id
        )
    db.session.commit()
    with pytest.raises(ValidationFailed) as raised:
        services.update_cohort(coordinator, cohort, services.CohortInput(name=cohort.name, capacity=1))
    assert raised.value.field == "capacity"


def test_moving_a_liaison_keeps_their_history_and_respects_capacity(app_ctx, coordinator):
    spring = make_cohort(coordinator, name="Spring")
    summer = make_cohort(coordinator, name="Summer", capacity=1)
    membership = services.approve_application(coordinator, services.submit_application(application()), spring.id)
    db.session.commit()
    moved = services.move_member(coordinator, membership, summer.id, "Schedule conflict")
    db.session.commit()
    history = db.session.scalars(
        db.select(Membership).where(Membership.user_id == membership.user_id).order_by(Membership.id)
    ).all()
    assert [(m.cohort_id, m.status) for m in history] == [
        (spring.id, MembershipStatus.MOVED),
        (summer.id, MembershipStatus.ACTIVE),
    ]
    assert history[0].end_reason == "Schedule conflict"
    other = services.approve_application(
        coordinator, services.submit_application(application("o@example.org")), spring.id
    )
    db.session.commit()
    with pytest.raises(Conflict):
        services.move_member(coordinator, other, summer.id)
    assert moved.cohort_id == summer.id


def test_withdrawing_needs_a_reason_and_frees_the_place(app_ctx, coordinator):
    cohort = make_cohort(coordinator, capacity=1)
    membership = services.approve_application(coordinator, services.submit_application(application()), cohort.id)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.withdraw_member(coordinator, membership, "")
    services.withdraw_member(coordinator, membership, "Moved out of the city")
    db.session.commit()
    assert services.active_member_count(cohort.id) == 0
    assert services.active_membership(membership.user_id) is None
    with pytest.raises(Conflict):
        services.withdraw_member(coordinator, membership, "again")


def test_a_liaison_cannot_hold_two_active_places(app_ctx, coordinator):
    first = make_cohort(coordinator, name="First")
    second = make_cohort(coordinator, name="Second")
    services.approve_application(coordinator, services.submit_application(application()), first.id)
    db.session.commit()
    again = services.submit_application(application())
    with pytest.raises(Conflict):
        services.approve_application(coordinator, again, second.id)


def test_imported_applications_send_no_email(app_ctx, outbox):
    services.submit_application(application(consent=False), source=ApplicationSource.IMPORT, notify=False)
    db.session.commit()
    assert outbox() == []


# Sessions and attendance ---------------------------------------------------------------------


def _session_input(**overrides) -> training.SessionInput:
    start = utcnow() + timedelta(days=2)
    values = {
        "title": "311 basics",
        "kind": SessionKind.IN_PERSON,
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "location": "Free Library, 40th St",
    }
    values.update(overrides)
    return training.SessionInput(**values)


def test_a_session_must_end_after_it_starts_and_say_where(app_ctx, coordinator):
    cohort = make_cohort(coordinator)
    start = utcnow()
    with pytest.raises(ValidationFailed) as raised:
        training.schedule_session(coordinator, cohort, _session_input(starts_at=start, ends_at=start))
    assert raised.value.field == "ends_at"
    with pytest.raises(ValidationFailed) as raised:
        training.schedule_session(coordinator, cohort, _session_input(location=""))
    assert raised.value.field == "location"
    with pytest.raises(ValidationFailed) as raised:
        training.schedule_session(coordinator, cohort, _session_input(kind=SessionKind.VIRTUAL, link="http://x"))
    assert raised.value.field == "link"


def test_attendance_counts_only_sessions_attended_in_the_cohort(app_ctx, coordinator):
    cohort = make_cohort(coordinator)
    membership = services.approve_application(coordinator, services.submit_application(application()), cohort.id)
    first = training.schedule_session(coordinator, cohort, _session_input())
    second = training.schedule_session(coordinator, cohort, _session_input(title="Follow-up"))
    training.set_attendance(coordinator, first, membership.user_id, True)
    training.set_attendance(coordinator, second, membership.user_id, True)
    training.set_attendance(coordinator, second, membership.user_id, False)
    db.session.commit()
    assert training.sessions_attended(membership.user_id, cohort.id) == 1
    sheet = training.attendance_sheet(first)
    assert [(user.id, present) for user, present in sheet] == [(membership.user_id, True)]
    changes = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "attendance.changed")).all()
    assert len(changes) == 3


def test_attendance_cannot_be_recorded_for_someone_outside_the_cohort(app_ctx, coordinator):
    cohort = make_cohort(coordinator)
    session = training.schedule_session(coordinator, cohort, _session_input())
    outsider = factories.make_liaison()
    from liaison.errors import NotFound

    with pytest.raises(NotFound):
        training.set_attendance(coordinator, session, outsider.id, True)


def test_the_roster_query_returns_members_with_their_attendance(app_ctx, coordinator):
    cohort = make_cohort(coordinator)
    membership = services.approve_application(coordinator, services.submit_application(application()), cohort.id)
    session = training.schedule_session(coordinator, cohort, _session_input())
    training.set_attendance(coordinator, session, membership.user_id, True)
    db.session.commit()
    [row] = services.roster_rows(db.session.execute(services.roster_query(cohort.id)))
    assert row.user.id == membership.user_id
    assert row.sessions_attended == 1
    assert row.invitation_state == "pending"
