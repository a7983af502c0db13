"""Demo requests for `flask liaison seed-demo`: a filed batch followed up by the coordinator and
a draft still being worked on, all made through the feature's own services.

The batches belong to the demo liaison `liaison@example.org`, who files requests: when she is not
certified yet (she attended both past sessions), she finishes the required training through the
training services, which issues the certificate the way it is issued to anyone. The other demo
liaisons stay in training; `DEMO_FILERS` lists who files when she is missing or cannot certify.
"""

from __future__ import annotations

import copy
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from liaison.auth.models import User
from liaison.auth.services import find_user_by_email
from liaison.certificates import services as certificates
from liaison.certificates.models import CertificateStatus
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests import batches, submission, tracking
from liaison.service_requests.models import RequestBatch, RequestState, ServiceRequest
from liaison.service_requests.validation import load_catalog
from liaison.training import services as training

logger = logging.getLogger(__name__)

# Who files the demo batches: the first one the filing gate lets through, or the first one who
# can finish the required training.
DEMO_FILERS = ("liaison@example.org", "james.whitaker@example.org")
FILED_TITLE = "Cedar Park civic meeting, October"
DRAFT_TITLE = "Block captains' walk, November"
FILED_DAYS_AGO = 12

# Rows as a liaison types them (strings; attribute answers keyed by attribute code).
FILED_ROWS: list[dict[str, Any]] = [
    {
        "service_code": "SR-ST01",
        "address": "4821 Cedar Ave",
        "zipcode": "19143",
        "description": "Deep pothole in the travel lane; cars swerve around it into the bike lane.",
        "attributes": {"defect_type": "pothole", "location_in_street": "travel_lane", "hazard_now": "yes"},
        "neighbor_first_name": "Lorraine",
        "neighbor_last_name": "Baptiste",
        "neighbor_phone": "215-555-0142",
        "contact_consent": "yes",
    },
    {
        "service_code": "SR-ST04",
        "address": "5012 Webster St",
        "zipcode": "19143",
        "description": "Street light out for two weeks; the corner is dark where kids wait for the bus.",
        "attributes": {"pole_number": "PL-48213", "light_issue": "out", "light_type": "cobra_head"},
    },
    {
        "service_code": "SR-ST02",
        "address": "Rear of 4900 block Osage Ave",
        "zipcode": "19143",
        "description": "Tires and old furniture dumped in the back driveway, more every weekend.",
        "attributes": {"material_types": ["tires", "furniture"], "amount": "large", "ongoing": "yes"},
        "neighbor_first_name": "Tomás",
        "neighbor_email": "tomas.reyes@example.org",
        "contact_consent": "yes",
    },
    {
        "service_code": "SR-CL01",
        "address": "5100 Baltimore Ave",
        "zipcode": "19143",
        "description": "Graffiti on the side wall of the corner store facing 51st St.",
        "attributes": {"surface": "brick", "property_type": "business", "offensive": "no"},
    },
    {
        "service_code": "SR-PR08",
        "address": "4715 Pine St",
        "zipcode": "19143",
        "description": "A large branch hangs over the sidewalk after the storm.",
        "attributes": {"tree_issue": "hanging_branch", "blocking_way": "yes"},
    },
    {
        "service_code": "SR-ST03",
        "address": "4938 Catharine St",
        "zipcode": "19143",
        "description": "Recycling missed on the whole block this week.",
        "attributes": {"collection_type": "recycling", "missed_collection_date": ""},
        "neighbor_first_name": "Denise",
        "neighbor_last_name": "Holloway",
        "neighbor_phone": "215-555-0178",
        "contact_consent": "yes",
    },
    {
        "service_code": "SR-PD01",
        "address": "5045 Hazel Ave",
        "zipcode": "19143",
        "description": "Car with flat tires and no plate parked for weeks.",
        "attributes": {"make": "Honda", "color": "silver", "days_parked": "30"},
    },
    {
        "service_code": "SR-CL02",
        "address": "4800 Chester Ave",
        "zipcode": "19143",
        "description": "Vacant lot with high weeds and trash; rats seen at night.",
        "attributes": {"lot_conditions": ["high_weeds", "trash", "rodents"], "fenced": "no"},
    },
    {
        "service_code": "SR-ST06",
        "address": "Alley behind 4900 Cedar Ave",
        "zipcode": "19143",
        "description": "Both alley lights out; neighbors feel unsafe taking out the trash.",
        "attributes": {"light_issue": "out", "lights_out_count": "2"},
    },
    {
        "service_code": "SR-LI27",
        "address": "5031 Irving St",
        "zipcode": "19143",
        "description": "Vacant house with the back door open and broken windows.",
        "attributes": {"building_type": "house", "open_to_entry": "yes", "conditions": ["broken_windows"]},
    },
    {
        "service_code": "SR-ST01",
        "address": "S 50th St & Cedar Ave",
        "zipcode": "19143",
        "description": "Utility cover rattles and sits an inch below the road.",
        "attributes": {"defect_type": "utility_cover", "location_in_street": "intersection", "hazard_now": "no"},
    },
    {
        # Spruce Hill, not Cedar Park: filed with a flag for the coordinator's review.
        "service_code": "SR-ST04",
        "address": "4210 Pine St",
        "zipcode": "19104",
        "description": "Pedestrian light flickers all night by the church steps.",
        "attributes": {"light_issue": "flickering", "light_type": "pedestrian"},
    },
]

# (row indexes in FILED_ROWS, new state, coordinator's note), applied in this order.
STATUS_CHANGES: list[tuple[list[int], RequestState, str]] = [
    ([0, 1, 3, 4], RequestState.FORWARDED, "Sent to 311."),
    ([0, 4], RequestState.IN_PROGRESS, "Streets crew scheduled for next week."),
    ([1], RequestState.CLOSED, "The light was repaired on Tuesday."),
    ([5], RequestState.CLOSED, "Sanitation collected the recycling on Saturday."),
    ([6], RequestState.REJECTED, "The car was gone when the inspector came; file again if it comes back."),
]

DRAFT_ROWS: list[dict[str, Any]] = [
    {
        "service_code": "SR-ST04",
        "address": "4917 Florence Ave",
        "zipcode": "19143",
        "description": "Light out in front of the day care.",
        "attributes": {"light_issue": "out"},
    },
    {
        # A four-digit ZIP: the row to fix before filing.
        "service_code": "SR-ST02",
        "address": "5100 Hadfield St",
        "zipcode": "1914",
        "description": "Construction debris left on the corner lot.",
        "attributes": {"material_types": ["construction_debris"], "amount": "medium"},
    },
    {
        # The same pothole as the first filed request, still open: flagged on review.
        "service_code": "SR-ST01",
        "address": "4821 Cedar Avenue",
        "zipcode": "19143",
        "description": "Pothole still there; a neighbor's tire blew out.",
        "attributes": {"defect_type": "pothole", "hazard_now": "yes"},
        "neighbor_first_name": "Walter",
        "neighbor_phone": "215-555-0163",
        "contact_consent": "yes",
    },
    {
        "service_code": "SR-CL01",
        "address": "4906 Hazel Ave",
        "zipcode": "19143",
        "description": "Tags on the mailbox and the bus shelter.",
        "attributes": {"surface": "metal", "property_type": "public", "offensive": "no"},
    },
]


@dataclass(frozen=True)
class DemoRequests:
    """What `seed_requests` made (nothing when the demo filer already has batches)."""

    filer: str = ""
    filed: int = 0
    draft_rows: int = 0


def _pass_required_modules(liaison: User) -> None:
    """Read and pass every required published module the liaison has not passed yet."""
    for module in training.published_modules():
        if not module.required or module.quiz is None:
            continue
        training.mark_read(liaison, module)
        attempt = training.start_attempt(liaison, module.quiz, language=liaison.preferred_language or "en")
        answers = {
            question["key"]: [choice["key"] for choice in question["choices"] if choice["correct"]]
            for question in attempt.snapshot
        }
        training.submit_attempt(liaison, attempt.id, answers)


def complete_training(coordinator: User, liaison: User) -> bool:
    """Finish the liaison's required training through the services, which issues the certificate
    (approved by the coordinator when approval is manual). True when the liaison may file."""
    if not certificates.filing_gate(liaison).allowed:
        _pass_required_modules(liaison)
        certificate = certificates.issue_if_eligible(liaison, actor=coordinator)
        if certificate is not None and certificate.status is CertificateStatus.PENDING:
            certificates.approve_certificate(coordinator, certificate)
        db.session.flush()
    return certificates.filing_gate(liaison).allowed


def _demo_filer(coordinator: User) -> User | None:
    people = [user for user in (find_user_by_email(email) for email in DEMO_FILERS) if user is not None]
    for user in people:
        if certificates.filing_gate(user).allowed:
            return user
    for user in people:
        if complete_training(coordinator, user):
            return user
    return None


def _filed_rows(filed_at: datetime) -> list[dict[str, Any]]:
    """FILED_ROWS with the missed collection dated a few days before the meeting."""
    rows = copy.deepcopy(FILED_ROWS)
    for row in rows:
        if "missed_collection_date" in row.get("attributes", {}):
            row["attributes"]["missed_collection_date"] = (filed_at - timedelta(days=4)).date().isoformat()
    return rows


def _has_batches(emails: tuple[str, ...]) -> bool:
    return (
        db.session.scalar(
            select(RequestBatch.id)
            .join(User, User.id == RequestBatch.liaison_id)
            .where(User.email.in_(emails))
            .limit(1)
        )
        is not None
    )


def seed_requests(coordinator: User) -> DemoRequests:
    """A submitted batch of twelve requests with a few status changes, and a draft of four rows
    (one to fix, one repeating an open request). Skipped when a demo filer has any batch."""
    if _has_batches(DEMO_FILERS):
        return DemoRequests()
    liaison = _demo_filer(coordinator)
    if liaison is None:
        logger.warning("no demo liaison may file requests: demo requests skipped")
        return DemoRequests()
    catalog = load_catalog()
    filed_at = utcnow() - timedelta(days=FILED_DAYS_AGO)

    meeting = batches.start_batch(
        liaison, batches.BatchInput(title=FILED_TITLE, meeting_date=filed_at.date() - timedelta(days=1))
    )
    for values in _filed_rows(filed_at):
        batches.add_row(liaison, meeting, values, catalog=catalog)
    result = submission.submit_batch(
        liaison,
        meeting.id,
        idempotency_key=f"demo-{secrets.token_hex(12)}",
        revision=meeting.revision,
        now=filed_at,
    )
    request_ids = list(
        db.session.scalars(
            select(ServiceRequest.id)
            .where(ServiceRequest.batch_id == meeting.id)
            .order_by(ServiceRequest.batch_position)
        )
    )
    for indexes, state, note in STATUS_CHANGES:
        tracking.change_status(coordinator, [request_ids[index] for index in indexes], state, note)

    walk = batches.start_batch(
        liaison, batches.BatchInput(title=DRAFT_TITLE, meeting_date=utcnow().date() - timedelta(days=2))
    )
    for values in DRAFT_ROWS:
        batches.add_row(liaison, walk, values, catalog=catalog)
    db.session.flush()
    return DemoRequests(filer=liaison.email, filed=result.filed, draft_rows=walk.row_count)
