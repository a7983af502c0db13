"""Closure follow-up: the filing liaison confirms a closed request was fixed, or disputes it.

A dispute refiles the request: a new request (same service, place, attributes, neighbor and
consent) with `refiled_from_id` pointing at the original and the liaison's reason in front of
the description. Rejected requests can be followed up too: the neighbor may disagree with a
rejection just as with a closure, and "confirm" then means the liaison accepts the decision.

Each request takes one answer, ever. The answer is written with a conditional update
(`... WHERE follow_up IS NULL`), so of two answers racing (a double click, two tabs) exactly one
lands and the other is refused: a dispute never refiles twice. Confirming needs no filing gate;
disputing files a new request, so only a liaison the gate lets file may dispute.

Coordinators see dispute rates by service and by neighborhood (`dispute_rates`): grouped
queries, so the page costs the same whatever the number of requests.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, case, func, select, update

from liaison.audit import record_event
from liaison.auth.models import Role, User
from liaison.certificates.services import filing_gate
from liaison.db_types import utcnow
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.models import (
    FollowUp,
    RequestEvent,
    RequestState,
    ServiceRequest,
    ServiceType,
)
from liaison.service_requests.tracking import CLOSING_STATES
from liaison.training.content import localized

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 1000
# Days back from today; None is "all time".
PERIODS: tuple[int | None, ...] = (30, 90, 365, None)
DEFAULT_PERIOD = 90
RATES_PER_PAGE = 25
GROUPINGS = ("service", "neighborhood")

_COPIED_FIELDS = (
    "service_type_id",
    "address",
    "normalized_address",
    "zipcode",
    "lat",
    "long",
    "neighbor_first_name",
    "neighbor_last_name",
    "neighbor_phone",
    "neighbor_email",
    "contact_consent",
    "neighborhood",
)


def _not_found() -> NotFound:
    return NotFound(_l("We could not find that request."))


def _own_request(liaison: User, request_id: int) -> ServiceRequest:
    """The liaison's own request, freshly read; NotFound for anyone else's (it looks absent)."""
    if liaison.role is not Role.LIAISON:
        raise _not_found()
    service_request = db.session.get(ServiceRequest, request_id, populate_existing=True)
    if service_request is None or service_request.liaison_id != liaison.id:
        raise _not_found()
    return service_request


def _check_answerable(service_request: ServiceRequest) -> None:
    if service_request.follow_up is not None:
        raise Conflict(_l("This request was already followed up. Reload the page to see the answer."))
    if service_request.state not in CLOSING_STATES:
        raise Conflict(_l("This request is still open: you can follow it up once the city closes it."))


def _record_answer(service_request: ServiceRequest, answer: FollowUp, now: datetime) -> None:
    """Write the answer only if none was given yet; Conflict if another answer got there first."""
    result = db.session.execute(
        update(ServiceRequest)
        .where(
            ServiceRequest.id == service_request.id,
            ServiceRequest.follow_up.is_(None),
            ServiceRequest.state.in_(CLOSING_STATES),
        )
        .values(follow_up=answer, follow_up_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("This request was already followed up. Reload the page to see the answer."))
    db.session.expire(service_request, ["follow_up", "follow_up_at", "updated_at"])


def clean_reason(reason: str | None) -> str:
    """The dispute reason as it will be stored; ValidationFailed when empty or too long."""
    text = (reason or "").replace("\x00", "").strip()
    if not text:
        raise ValidationFailed(_l("Say what is still wrong, so the city knows what to look at."), field="reason")
    if len(text) > REASON_MAX_LENGTH:
        raise ValidationFailed(_l("Use at most %(max)d characters.", max=REASON_MAX_LENGTH), field="reason")
    return text


def confirm_fixed(liaison: User, request_id: int) -> ServiceRequest:
    """The filing liaison says the closed (or rejected) request is settled; once per request."""
    service_request = _own_request(liaison, request_id)
    _check_answerable(service_request)
    now = utcnow()
    _record_answer(service_request, FollowUp.CONFIRMED, now)
    db.session.add(
        RequestEvent(request_id=service_request.id, occurred_at=now, actor_id=liaison.id, kind="fixed_confirmed")
    )
    record_event(liaison, "request.fixed_confirmed", service_request, state=service_request.state.value)
    return service_request


def dispute(liaison: User, request_id: int, reason: str | None) -> ServiceRequest:
    """The filing liaison says the closed request is not fixed: it is refiled as a new request.

    Returns the new request. Refused with the gate's reason (403) when the liaison may not file.
    """
    text = clean_reason(reason)
    original = _own_request(liaison, request_id)
    _check_answerable(original)
    decision = filing_gate(liaison)
    if not decision.allowed:
        raise NotAllowed(decision.reason)
    now = utcnow()
    _record_answer(original, FollowUp.DISPUTED, now)
    description = gettext("Disputed after request #%(number)d was closed: %(reason)s", number=original.id, reason=text)
    if original.description:
        description = f"{description}\n\n{original.description}"
    refiled = ServiceRequest(
        **{name: getattr(original, name) for name in _COPIED_FIELDS},
        attributes=dict(original.attributes or {}),
        description=description,
        public_token=secrets.token_urlsafe(16),
        liaison_id=liaison.id,
        state=RequestState.SUBMITTED,
        refiled_from_id=original.id,
        requested_at=now,
        updated_at=now,
    )
    db.session.add(refiled)
    db.session.flush()
    db.session.add_all(
        [
            RequestEvent(
                request_id=refiled.id,
                occurred_at=now,
                actor_id=liaison.id,
                kind="filed",
                to_state=RequestState.SUBMITTED.value,
            ),
            RequestEvent(request_id=original.id, occurred_at=now, actor_id=liaison.id, kind="disputed", note=text),
        ]
    )
    record_event(liaison, "request.disputed", original, refiled_as=refiled.id, state=original.state.value)
    logger.info("request %s disputed and refiled as %s by user %s", original.id, refiled.id, liaison.id)
    return refiled


# What the request page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpState:
    """The follow-up part of a request's page: the question, the answer given, the links."""

    request_id: int
    closing_state: RequestState | None
    answer: FollowUp | None
    answered_at: datetime | None
    refiled_from_id: int | None
    refiled_as_id: int | None
    # The liaison may still answer (closed or rejected, their own, not answered yet).
    can_answer: bool
    # Why the liaison cannot dispute now (the filing gate's reason), if they cannot.
    dispute_refused: str


def follow_up_state(user: User, service_request: ServiceRequest) -> FollowUpState:
    """What the request page shows about follow-up (one query, plus the gate while answerable)."""
    own = user.role is Role.LIAISON and service_request.liaison_id == user.id
    closing = service_request.state if service_request.state in CLOSING_STATES else None
    refiled_as = None
    if service_request.follow_up is FollowUp.DISPUTED:
        refiled_as = db.session.scalar(
            select(ServiceRequest.id)
            .where(ServiceRequest.refiled_from_id == service_request.id)
            .order_by(ServiceRequest.id)
            .limit(1)
        )
    can_answer = own and closing is not None and service_request.follow_up is None
    refused = ""
    if can_answer:
        decision = filing_gate(user)
        refused = "" if decision.allowed else decision.reason
    return FollowUpState(
        request_id=service_request.id,
        closing_state=closing,
        answer=service_request.follow_up,
        answered_at=service_request.follow_up_at,
        refiled_from_id=service_request.refiled_from_id,
        refiled_as_id=refiled_as,
        can_answer=can_answer,
        dispute_refused=refused,
    )


# Dispute rates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLine:
    """Closed requests of one service or neighborhood, and what their liaisons said."""

    key: str
    label: str
    code: str
    closed: int
    confirmed: int
    disputed: int

    @property
    def answered(self) -> int:
        return self.confirmed + self.disputed

    @property
    def awaiting(self) -> int:
        return self.closed - self.answered

    @property
    def rate(self) -> float | None:
        """Disputed among the answered ones (0..1); None when nobody answered yet."""
        return self.disputed / self.answered if self.answered else None

    @property
    def percent(self) -> int | None:
        """The rate as a whole percentage, for display."""
        return None if self.rate is None else round(100 * self.rate)


class _RowsPagination(Pagination):
    """Flask-SQLAlchemy's pagination over a select of plain rows (not ORM objects)."""

    def _query_items(self) -> list[Any]:
        query: Select[Any] = self._query_args["select"]
        return list(db.session.execute(query.limit(self.per_page).offset(self._query_offset)))

    def _query_count(self) -> int:
        query: Select[Any] = self._query_args["select"]
        return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


@dataclass(frozen=True)
class DisputeRates:
    """The dispute rates of a period, overall and one page of groups."""

    period_days: int | None
    by: str
    total: RateLine
    page: Pagination
    lines: list[RateLine]


def _counts(query: Select[Any]) -> Select[Any]:
    return query.add_columns(
        func.count().label("closed"),
        func.coalesce(func.sum(case((ServiceRequest.follow_up == FollowUp.CONFIRMED, 1), else_=0)), 0).label(
            "confirmed"
        ),
        func.coalesce(func.sum(case((ServiceRequest.follow_up == FollowUp.DISPUTED, 1), else_=0)), 0).label("disputed"),
    )


def dispute_rates(
    actor: User,
    *,
    period_days: int | None = DEFAULT_PERIOD,
    by: str = "service",
    page: int = 1,
    per_page: int = RATES_PER_PAGE,
    now: datetime | None = None,
) -> DisputeRates:
    """Requests closed or rejected in the period, confirmed and disputed, by service or neighborhood.

    Groups with the most disputes come first. Three queries whatever the data: the totals, and
    the page of groups with their count.
    """
    if actor.role is not Role.COORDINATOR:
        raise NotAllowed()
    if period_days not in PERIODS:
        raise ValidationFailed(_l("Choose one of the periods offered."), field="period")
    if by not in GROUPINGS:
        raise ValidationFailed(_l("Choose one of the groupings offered."), field="by")
    conditions = [ServiceRequest.state.in_(CLOSING_STATES)]
    if period_days is not None:
        conditions.append(ServiceRequest.closed_at >= (now or utcnow()) - timedelta(days=period_days))
    totals = db.session.execute(_counts(select().select_from(ServiceRequest)).where(*conditions)).one()
    total = RateLine("", str(_l("All")), "", int(totals.closed), int(totals.confirmed), int(totals.disputed))
    if by == "service":
        grouped = (
            _counts(select(ServiceRequest.service_type_id.label("key")))
            .where(*conditions)
            .group_by(ServiceRequest.service_type_id)
            .subquery()
        )
        query = (
            select(grouped, ServiceType.code, ServiceType.name)
            .join(ServiceType, ServiceType.id == grouped.c.key)
            .order_by(grouped.c.disputed.desc(), grouped.c.closed.desc(), ServiceType.position, ServiceType.id)
        )
    else:
        grouped = (
            _counts(select(ServiceRequest.neighborhood.label("key")))
            .where(*conditions)
            .group_by(ServiceRequest.neighborhood)
            .subquery()
        )
        query = select(grouped).order_by(grouped.c.disputed.desc(), grouped.c.closed.desc(), grouped.c.key)
    pagination = _RowsPagination(page=page, per_page=per_page, error_out=False, select=query)
    lines = []
    for row in pagination.items:
        if by == "service":
            label = localized(row.name) or row.code
            code = row.code
        else:
            label = row.key or str(_l("No neighborhood"))
            code = ""
        lines.append(RateLine(str(row.key), label, code, int(row.closed), int(row.confirmed), int(row.disputed)))
    return DisputeRates(period_days, by, total, pagination, lines)
