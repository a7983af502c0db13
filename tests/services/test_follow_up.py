"""Closure follow-up: confirming a closed request, disputing it (a linked refile), dispute rates."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests import follow_up
from liaison.service_requests.models import (
    AttributeDatatype,
    FollowUp,
    RequestEvent,
    RequestState,
    ServiceRequest,
)
from tests import factories

NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}
REASON = "The streetlight went dark again two days after the repair."


@pytest.fixture
def streetlight(app_ctx):
    return factories.make_service_type(
        "SR-SL01",
        name="Street light out",
        attributes=[{"code": "pole_number", "datatype": AttributeDatatype.STRING}],
    )


@pytest.fixture
def liaison(app_ctx):
    return factories.make_certified_liaison()


def closed_request(liaison, service_type, state=RequestState.CLOSED, **fields):
    values = {
        "state": state,
        "closed_at": utcnow() - timedelta(days=1),
        "attributes": {"pole_number": "PL-4471"},
        "lat": 39.95,
        "long": -75.2,
        **NEIGHBOR,
    }
    values.update(fields)
    return factories.make_service_request(liaison, service_type, **values)


def events(request_id: int) -> list[tuple[str, str]]:
    return [
        (kind, note)
        for kind, note in db.session.execute(
            select(RequestEvent.kind, RequestEvent.note)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.id)
        )
    ]


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_confirming_a_closed_request_records_the_answer_with_history_and_audit(liaison, streetlight):
    original = closed_request(liaison, streetlight)

    follow_up.confirm_fixed(liaison, original.id)
    db.session.commit()

    stored = db.session.get(ServiceRequest, original.id)
    assert stored.follow_up is FollowUp.CONFIRMED
    assert stored.follow_up_at is not None
    assert stored.state is RequestState.CLOSED
    assert events(original.id)[-1] == ("fixed_confirmed", "")
    [event] = audit("request.fixed_confirmed")
    assert (event.subject_type, event.subject_id, event.actor_id) == ("service_request", str(original.id), liaison.id)
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


def test_confirming_needs_no_certificate(app_ctx, streetlight):
    uncertified = factories.make_liaison()
    original = closed_request(uncertified, streetlight)

    follow_up.confirm_fixed(uncertified, original.id)

    assert db.session.get(ServiceRequest, original.id).follow_up is FollowUp.CONFIRMED


@pytest.mark.parametrize("state", [RequestState.SUBMITTED, RequestState.FORWARDED, RequestState.IN_PROGRESS])
def test_an_open_request_cannot_be_confirmed_or_disputed(liaison, streetlight, state):
    open_request = closed_request(liaison, streetlight, state=state, closed_at=None)

    with pytest.raises(Conflict, match="still open"):
        follow_up.confirm_fixed(liaison, open_request.id)
    with pytest.raises(Conflict, match="still open"):
        follow_up.dispute(liaison, open_request.id, REASON)
    db.session.rollback()
    assert db.session.get(ServiceRequest, open_request.id).follow_up is None


@pytest.mark.parametrize("first", ["confirm", "dispute"])
def test_a_request_takes_one_answer_only(liaison, streetlight, first):
    original = closed_request(liaison, streetlight)
    if first == "confirm":
        follow_up.confirm_fixed(liaison, original.id)
    else:
        follow_up.dispute(liaison, original.id, REASON)
    db.session.commit()

    with pytest.raises(Conflict, match="already followed up"):
        follow_up.confirm_fixed(liaison, original.id)
    with pytest.raises(Conflict, match="already followed up"):
        follow_up.dispute(liaison, original.id, "Still broken")
    db.session.rollback()
    refiles = db.session.scalar(select(func.count()).where(ServiceRequest.refiled_from_id == original.id))
    assert refiles == (1 if first == "dispute" else 0)


def test_only_the_filing_liaison_may_answer_others_find_nothing(app_ctx, liaison, streetlight):
    original = closed_request(liaison, streetlight)
    other = factories.make_certified_liaison()
    coordinator = factories.make_coordinator()

    for actor in (other, coordinator):
        with pytest.raises(NotFound):
            follow_up.confirm_fixed(actor, original.id)
        with pytest.raises(NotFound):
            follow_up.dispute(actor, original.id, REASON)
    with pytest.raises(NotFound):
        follow_up.confirm_fixed(liaison, 987654)
    assert db.session.get(ServiceRequest, original.id).follow_up is None


def test_disputing_refiles_a_copy_linked_to_the_original(liaison, streetlight):
    original = closed_request(liaison, streetlight, neighborhood="Cedar Park", zipcode="19143")

    refiled = follow_up.dispute(liaison, original.id, f"  {REASON}  ")
    db.session.commit()

    original = db.session.get(ServiceRequest, original.id)
    refiled = db.session.get(ServiceRequest, refiled.id)
    assert original.follow_up is FollowUp.DISPUTED
    assert original.state is RequestState.CLOSED
    assert refiled.id != original.id
    assert refiled.refiled_from_id == original.id
    assert refiled.state is RequestState.SUBMITTED
    assert refiled.closed_at is None
    assert refiled.follow_up is None
    assert refiled.public_token != original.public_token
    assert len(refiled.public_token) >= 20
    for name in (
        "service_type_id",
        "address",
        "normalized_address",
        "zipcode",
        "lat",
        "long",
        "attributes",
        "neighborhood",
        "liaison_id",
        *NEIGHBOR,
    ):
        assert getattr(refiled, name) == getattr(original, name), name
    assert refiled.description == (
        f"Disputed after request #{original.id} was closed: {REASON}\n\nPothole in front of the school"
    )
    assert refiled.requested_at > original.requested_at
    assert events(refiled.id) == [("filed", "")]
    assert events(original.id)[-1] == ("disputed", REASON)


def test_a_rejected_request_can_be_disputed_too(liaison, streetlight):
    rejected = closed_request(liaison, streetlight, state=RequestState.REJECTED)

    refiled = follow_up.dispute(liaison, rejected.id, "The neighbor says this is the city's job.")

    assert refiled.refiled_from_id == rejected.id
    assert db.session.get(ServiceRequest, rejected.id).follow_up is FollowUp.DISPUTED


def test_the_dispute_audit_and_log_hold_ids_only(liaison, streetlight, caplog):
    original = closed_request(liaison, streetlight)

    with caplog.at_level(logging.DEBUG):
        refiled = follow_up.dispute(liaison, original.id, REASON)
        db.session.commit()

    [event] = audit("request.disputed")
    assert event.subject_id == str(original.id)
    assert event.details == {"refiled_as": refiled.id, "state": "closed"}
    for private in ("Rosalind", "Quintanilla", "215-555-0199", "rosalind.qb@example.org", "streetlight went dark"):
        assert private not in caplog.text
        assert private not in str(event.details)


def test_disputing_needs_the_filing_gate_and_changes_nothing_when_refused(liaison, streetlight):
    from liaison.certificates.models import Certificate, CertificateStatus

    original = closed_request(liaison, streetlight)
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == liaison.id))
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    db.session.commit()

    with pytest.raises(NotAllowed) as refused:
        follow_up.dispute(liaison, original.id, REASON)
    db.session.rollback()

    assert str(refused.value.message) == "Your certificate was revoked."
    assert db.session.get(ServiceRequest, original.id).follow_up is None
    assert db.session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Say what is still wrong"), ("   \x00 ", "Say what is still wrong"), ("x" * 1001, "at most 1000")],
)
def test_a_dispute_needs_a_reason_of_at_most_1000_characters(liaison, streetlight, reason, message):
    original = closed_request(liaison, streetlight)

    with pytest.raises(ValidationFailed, match=message) as refused:
        follow_up.dispute(liaison, original.id, reason)

    assert refused.value.field == "reason"
    assert db.session.get(ServiceRequest, original.id).follow_up is None


def test_a_reason_of_exactly_1000_characters_is_taken(liaison, streetlight):
    original = closed_request(liaison, streetlight)

    refiled = follow_up.dispute(liaison, original.id, "x" * 1000)

    assert ("x" * 1000) in refiled.description


def test_two_disputes_at_the_same_moment_refile_once(app):
    with app.test_request_context():
        liaison = factories.make_certified_liaison()
        service_type = factories.make_service_type("SR-SL02")
        original_id = closed_request(liaison, service_type).id
        liaison_id = liaison.id
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def click() -> None:
        with app.test_request_context():
            barrier.wait(timeout=30)
            actor = db.session.get(User, liaison_id)
            try:
                follow_up.dispute(actor, original_id, REASON)
                db.session.commit()
                outcomes.append("refiled")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["refiled", "refused"]
    with app.app_context():
        refiles = db.session.scalar(select(func.count()).where(ServiceRequest.refiled_from_id == original_id))
        disputed_events = db.session.scalar(
            select(func.count()).where(RequestEvent.request_id == original_id, RequestEvent.kind == "disputed")
        )
        assert (refiles, disputed_events) == (1, 1)


def test_the_request_page_state_links_the_original_and_its_refile(liaison, streetlight):
    original = closed_request(liaison, streetlight)
    before = follow_up.follow_up_state(liaison, original)
    refiled = follow_up.dispute(liaison, original.id, REASON)
    db.session.commit()

    after = follow_up.follow_up_state(liaison, db.session.get(ServiceRequest, original.id))
    new = follow_up.follow_up_state(liaison, refiled)

    assert (before.can_answer, before.answer, before.dispute_refused) == (True, None, "")
    assert (after.can_answer, after.answer, after.refiled_as_id) == (False, FollowUp.DISPUTED, refiled.id)
    assert (new.closing_state, new.refiled_from_id, new.can_answer) == (None, original.id, False)


# Dispute rates ------------------------------------------------------------------------------------


@pytest.fixture
def rates_data(app_ctx):
    """A known set: two services in two neighborhoods, answers of every kind, one old closure."""
    liaison = factories.make_certified_liaison()
    lights = factories.make_service_type("SR-SL03", name="Street light out")
    potholes = factories.make_service_type("SR-PH01", name="Pothole")
    now = utcnow()
    recent, old = now - timedelta(days=10), now - timedelta(days=120)

    def add(service_type, neighborhood, answer=None, *, state=RequestState.CLOSED, closed_at=recent):
        factories.make_service_request(
            liaison,
            service_type,
            state=state,
            closed_at=closed_at if state in (RequestState.CLOSED, RequestState.REJECTED) else None,
            neighborhood=neighborhood,
            follow_up=answer,
        )

    # Street lights, Cedar Park: 4 closed in the last 90 days, 1 confirmed, 2 disputed, 1 unanswered.
    add(lights, "Cedar Park", FollowUp.CONFIRMED)
    add(lights, "Cedar Park", FollowUp.DISPUTED)
    add(lights, "Cedar Park", FollowUp.DISPUTED, state=RequestState.REJECTED)
    add(lights, "Cedar Park")
    # Potholes, Kingsessing: 2 recent (1 confirmed, 1 unanswered) and 1 disputed 120 days ago.
    add(potholes, "Kingsessing", FollowUp.CONFIRMED)
    add(potholes, "Kingsessing")
    add(potholes, "Kingsessing", FollowUp.DISPUTED, closed_at=old)
    # Open requests never count.
    add(potholes, "Cedar Park", state=RequestState.IN_PROGRESS)
    add(lights, "Kingsessing", state=RequestState.SUBMITTED)
    return {"lights": lights.id, "potholes": potholes.id, "coordinator": factories.make_coordinator()}


def numbers(line) -> tuple:
    return (line.label, line.closed, line.confirmed, line.disputed, line.awaiting, line.percent)


def test_dispute_rates_by_service_for_the_last_90_days(rates_data):
    rates = follow_up.dispute_rates(rates_data["coordinator"])

    assert numbers(rates.total) == ("All", 6, 2, 2, 2, 50)
    assert [numbers(line) for line in rates.lines] == [
        ("Street light out", 4, 1, 2, 1, 67),
        ("Pothole", 2, 1, 0, 1, 0),
    ]
    assert [line.code for line in rates.lines] == ["SR-SL03", "SR-PH01"]
    assert rates.page.total == 2


def test_dispute_rates_by_neighborhood_over_all_time(rates_data):
    rates = follow_up.dispute_rates(rates_data["coordinator"], period_days=None, by="neighborhood")

    assert numbers(rates.total) == ("All", 7, 2, 3, 2, 60)
    assert [numbers(line) for line in rates.lines] == [
        ("Cedar Park", 4, 1, 2, 1, 67),
        ("Kingsessing", 3, 1, 1, 1, 50),
    ]


def test_a_group_nobody_answered_has_no_rate(app_ctx):
    liaison = factories.make_certified_liaison()
    service_type = factories.make_service_type("SR-GR01", name="Graffiti")
    factories.make_service_request(liaison, service_type, state=RequestState.CLOSED, closed_at=utcnow())

    rates = follow_up.dispute_rates(factories.make_coordinator())

    assert numbers(rates.lines[0]) == ("Graffiti", 1, 0, 0, 1, None)
    assert rates.total.rate is None


def test_dispute_rates_are_for_coordinators_and_known_choices_only(rates_data):
    with pytest.raises(NotAllowed):
        follow_up.dispute_rates(factories.make_liaison())
    with pytest.raises(ValidationFailed):
        follow_up.dispute_rates(rates_data["coordinator"], period_days=7)
    with pytest.raises(ValidationFailed):
        follow_up.dispute_rates(rates_data["coordinator"], by="liaison")


def test_dispute_rates_paginate_long_lists(app_ctx):
    liaison = factories.make_certified_liaison()
    for number in range(7):
        service_type = factories.make_service_type(f"SR-PG{number:02d}")
        for _ in range(number + 1):
            factories.make_service_request(liaison, service_type, state=RequestState.CLOSED, closed_at=utcnow())
    coordinator = factories.make_coordinator()

    first = follow_up.dispute_rates(coordinator, page=1, per_page=3)
    last = follow_up.dispute_rates(coordinator, page=3, per_page=3)

    assert (first.page.total, first.page.pages) == (7, 3)
    assert [line.closed for line in first.lines] == [7, 6, 5]
    assert [line.closed for line in last.lines] == [1]
    assert first.total.closed == 28


def test_dispute_rates_take_the_same_number_of_queries_for_2_or_40_groups(app_ctx, count_queries):
    liaison = factories.make_certified_liaison()
    coordinator = factories.make_coordinator()
    counts = []
    made = 0
    for groups in (2, 40):
        for number in range(made, groups):
            service_type = factories.make_service_type(f"SR-QC{number:02d}")
            factories.make_service_request(
                liaison,
                service_type,
                state=RequestState.CLOSED,
                closed_at=utcnow(),
                neighborhood=f"Area {number}",
                follow_up=FollowUp.DISPUTED if number % 2 else None,
            )
        made = groups
        for by in ("service", "neighborhood"):
            assert coordinator.role  # reloaded after the commits, outside the count
            with count_queries() as queries:
                follow_up.dispute_rates(coordinator, by=by)
            counts.append(len(queries))
    assert counts == [3, 3, 3, 3], counts
