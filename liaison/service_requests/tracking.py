"""Following filed requests: lists and search, one request's page, status changes, exports, receipts.

Who sees what (issue #7 "Privacy"): a liaison sees only the requests they filed, neighbor contact
included; coordinators see every request; the public status page (by unguessable token) shows no
personal data at all and the street address only at block level (see `public_location`).

Status changes follow `TRANSITIONS` (the one place that says which move is allowed). A change is
all or nothing: when one selected request cannot make the move, none moves and the refusal names
the requests. Each change writes one `RequestEvent` per request (a Core insert for many) and one
audit event with ids and states only, never a note (coordinators may write anything there) nor
any neighbor data.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import gettext, ngettext, to_utc
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import joinedload

from liaison.audit import record_event
from liaison.auth.models import Role, User
from liaison.db_types import contains_pattern, utcnow
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.mail import queue_mail
from liaison.service_requests.models import (
    OPEN_STATES,
    BatchStatus,
    Neighborhood,
    RequestBatch,
    RequestEvent,
    RequestState,
    ServiceRequest,
    ServiceType,
)
from liaison.training.content import localized

logger = logging.getLogger(__name__)

PER_PAGE = 50
# An export holds at most this many requests; a larger list is refused with a message to narrow
# the filters (never silently cut). Measured on this machine type with 200,000 requests in the
# database: a CSV of 50,000 rows is about 10 MB built in memory in a few seconds; openpyxl needs
# about 0.6 s per 1,000 rows, so Excel files stop at 10,000 rows to stay well inside a request.
EXPORT_MAX_ROWS = 50_000
XLSX_MAX_ROWS = 10_000
# One bulk change moves at most this many requests (a page holds 50).
BULK_MAX_SELECTED = 500
NOTE_MAX_LENGTH = 2000
SEARCH_MAX_LENGTH = 100

# Which state may follow which: the single source for forms, services and tests.
TRANSITIONS: dict[RequestState, tuple[RequestState, ...]] = {
    RequestState.SUBMITTED: (
        RequestState.FORWARDED,
        RequestState.IN_PROGRESS,
        RequestState.CLOSED,
        RequestState.REJECTED,
    ),
    RequestState.FORWARDED: (RequestState.IN_PROGRESS, RequestState.CLOSED, RequestState.REJECTED),
    RequestState.IN_PROGRESS: (RequestState.CLOSED, RequestState.REJECTED),
    RequestState.CLOSED: (),
    RequestState.REJECTED: (),
}
CLOSING_STATES = (RequestState.CLOSED, RequestState.REJECTED)

STATE_LABELS: dict[RequestState, Any] = {
    RequestState.SUBMITTED: _l("Submitted"),
    RequestState.FORWARDED: _l("Forwarded to 311"),
    RequestState.IN_PROGRESS: _l("In progress"),
    RequestState.CLOSED: _l("Closed"),
    RequestState.REJECTED: _l("Rejected"),
}
# Plain words for the neighbor on the public page and the receipt.
PUBLIC_STATE_TEXT: dict[RequestState, Any] = {
    RequestState.SUBMITTED: _l("Received by the program; not yet sent to the city."),
    RequestState.FORWARDED: _l("Sent to the city's 311 service."),
    RequestState.IN_PROGRESS: _l("The city is working on it."),
    RequestState.CLOSED: _l("The city has finished this request."),
    RequestState.REJECTED: _l("This request was not accepted. The note below may say why."),
}
STATE_TAGS: dict[RequestState, str] = {
    RequestState.SUBMITTED: "liaison-tag--new",
    RequestState.FORWARDED: "liaison-tag--planned",
    RequestState.IN_PROGRESS: "liaison-tag--warning",
    RequestState.CLOSED: "liaison-tag--ok",
    RequestState.REJECTED: "liaison-tag--muted",
}
OPEN311_LABELS: dict[str, Any] = {"open": _l("Open"), "closed": _l("Closed")}
EVENT_LABELS: dict[str, Any] = {
    "filed": _l("Filed"),
    "status_changed": _l("Status changed"),
    "forwarded": _l("Forwarded to 311"),
    "review_cleared": _l("Review flag cleared"),
    "receipt_emailed": _l("Receipt emailed to the neighbor"),
    # Closure follow-up (follow_up.py).
    "fixed_confirmed": _l("Outcome confirmed by the liaison"),
    "disputed": _l("Disputed by the liaison and refiled"),
}


def state_label(state: RequestState | str) -> str:
    """The state's name in the current language."""
    try:
        return str(STATE_LABELS[RequestState(state)])
    except ValueError:
        return str(state)


def event_label(kind: str) -> str:
    """A readable name for a history event's kind."""
    return str(EVENT_LABELS.get(kind, kind))


def service_name(service_type: ServiceType | None) -> str:
    """The service's name in the current language."""
    return localized(service_type.name) if service_type is not None else ""


# Filters and lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilters:
    """What narrows a list of requests; empty values narrow nothing.

    `state` is "open", "closed" (Open311 terms) or one internal state; dates are days in the
    program's time zone, both ends included.
    """

    state: str = ""
    service_type_id: int | None = None
    neighborhood: str = ""
    liaison_id: int | None = None
    # Part of a liaison's name or email (the queue's liaison box; a number there is liaison_id).
    liaison_text: str = ""
    batch_id: int | None = None
    needs_review: bool | None = None
    requested_from: date | None = None
    requested_to: date | None = None
    search: str = ""

    def described(self) -> dict[str, Any]:
        """The filters that are set, as plain values (for an audit event)."""
        values = {
            "state": self.state,
            "service_type_id": self.service_type_id,
            "neighborhood": self.neighborhood,
            "liaison_id": self.liaison_id,
            "batch_id": self.batch_id,
            "needs_review": self.needs_review,
            "requested_from": self.requested_from.isoformat() if self.requested_from else None,
            "requested_to": self.requested_to.isoformat() if self.requested_to else None,
            "search": self.search,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


def _day_start_utc(day: date) -> datetime:
    """Midnight of `day` in the program's time zone, as an aware UTC datetime."""
    return to_utc(datetime.combine(day, time.min)).replace(tzinfo=UTC)


def request_number(text: str) -> int | None:
    """The request id typed as "123" or "#123", else None."""
    digits = text.strip().removeprefix("#").strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= 9:
        return int(digits)
    return None


def filtered_requests(filters: RequestFilters, *, liaison_id: int | None = None) -> Select[tuple[ServiceRequest]]:
    """Requests matching `filters` (only `liaison_id`'s when given), newest first.

    The order (requested_at desc, id desc) is served by the requested_at indexes; id breaks the
    ties of a batch filed in one instant, so pages never repeat or skip a request.
    """
    query = select(ServiceRequest)
    if liaison_id is not None:
        query = query.where(ServiceRequest.liaison_id == liaison_id)
    elif filters.liaison_id is not None:
        query = query.where(ServiceRequest.liaison_id == filters.liaison_id)
    elif filters.liaison_text.strip():
        pattern = contains_pattern(filters.liaison_text[:SEARCH_MAX_LENGTH])
        liaisons = select(User.id).where(
            User.role == Role.LIAISON,
            func.lower(User.full_name).like(pattern, escape="\\") | func.lower(User.email).like(pattern, escape="\\"),
        )
        query = query.where(ServiceRequest.liaison_id.in_(liaisons))
    state = filters.state
    if state == "open":
        query = query.where(ServiceRequest.state.in_(OPEN_STATES))
    elif state == "closed":
        query = query.where(ServiceRequest.state.in_(CLOSING_STATES))
    elif state in {member.value for member in RequestState}:
        query = query.where(ServiceRequest.state == RequestState(state))
    if filters.service_type_id is not None:
        query = query.where(ServiceRequest.service_type_id == filters.service_type_id)
    if filters.neighborhood:
        query = query.where(ServiceRequest.neighborhood == filters.neighborhood)
    if filters.batch_id is not None:
        query = query.where(ServiceRequest.batch_id == filters.batch_id)
    if filters.needs_review is not None:
        query = query.where(ServiceRequest.needs_review.is_(filters.needs_review))
    if filters.requested_from:
        query = query.where(ServiceRequest.requested_at >= _day_start_utc(filters.requested_from))
    if filters.requested_to:
        query = query.where(ServiceRequest.requested_at < _day_start_utc(filters.requested_to + timedelta(days=1)))
    search = filters.search.strip()[:SEARCH_MAX_LENGTH]
    if search:
        pattern = contains_pattern(search)
        conditions = [
            func.lower(ServiceRequest.address).like(pattern, escape="\\"),
            func.lower(ServiceRequest.description).like(pattern, escape="\\"),
            func.lower(ServiceRequest.external_id).like(pattern, escape="\\"),
        ]
        number = request_number(search)
        if number is not None:
            conditions.append(ServiceRequest.id == number)
        query = query.where(or_(*conditions))
    return query.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())


def with_list_columns(query: Select[tuple[ServiceRequest]], *, with_liaison: bool = False) -> Select[Any]:
    """Load what every row of a list shows with the page (no query per row)."""
    query = query.options(joinedload(ServiceRequest.service_type))
    if with_liaison:
        query = query.options(joinedload(ServiceRequest.liaison))
    return query


def service_type_choices() -> list[tuple[int, str]]:
    """Every service type (active or not: old requests may use retired ones), by name."""
    rows = db.session.execute(select(ServiceType.id, ServiceType.name, ServiceType.code).order_by(ServiceType.position))
    choices = [(id_, f"{localized(name)} ({code})") for id_, name, code in rows]
    return sorted(choices, key=lambda choice: choice[1].lower())


def neighborhood_choices() -> list[str]:
    """Neighborhood names, alphabetically."""
    return list(db.session.scalars(select(Neighborhood.name).order_by(func.lower(Neighborhood.name))))


# A liaison's batches ----------------------------------------------------------------------------

BATCH_CHOICES_LIMIT = 200
BATCH_SUMMARY_SIZE = 5


@dataclass(frozen=True)
class BatchLine:
    """One of the liaison's batches, as listed on My requests."""

    id: int
    title: str
    status: BatchStatus
    row_count: int
    created_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True)
class BatchSummary:
    """The liaison's batches: the newest ones, and how many drafts and submitted batches in all."""

    latest: list[BatchLine]
    choices: list[BatchLine]
    drafts: int
    submitted: int


def batch_summary(liaison: User) -> BatchSummary:
    """The liaison's batches for the My requests page (two queries whatever their number)."""
    lines = [
        BatchLine(*row)
        for row in db.session.execute(
            select(
                RequestBatch.id,
                RequestBatch.title,
                RequestBatch.status,
                RequestBatch.row_count,
                RequestBatch.created_at,
                RequestBatch.submitted_at,
            )
            .where(RequestBatch.liaison_id == liaison.id)
            .order_by(RequestBatch.created_at.desc(), RequestBatch.id.desc())
            .limit(BATCH_CHOICES_LIMIT)
        )
    ]
    counts = dict(
        db.session.execute(
            select(RequestBatch.status, func.count())
            .where(RequestBatch.liaison_id == liaison.id)
            .group_by(RequestBatch.status)
        ).all()
    )
    return BatchSummary(
        latest=lines[:BATCH_SUMMARY_SIZE],
        choices=lines,
        drafts=counts.get(BatchStatus.DRAFT, 0),
        submitted=counts.get(BatchStatus.SUBMITTED, 0),
    )


# One request ------------------------------------------------------------------------------------


def _load(request_id: int) -> ServiceRequest | None:
    return db.session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.id == request_id)
        .options(
            joinedload(ServiceRequest.service_type).selectinload(ServiceType.attributes),
            joinedload(ServiceRequest.liaison),
        )
    )


def can_view_request(user: User, service_request: ServiceRequest) -> bool:
    """Coordinators see every request; a liaison only the ones they filed."""
    if user.role is Role.COORDINATOR:
        return True
    return user.role is Role.LIAISON and service_request.liaison_id == user.id


def get_request_for(user: User, request_id: int) -> ServiceRequest:
    """The request if `user` may see it; NotFound otherwise (another liaison's looks absent)."""
    service_request = _load(request_id)
    if service_request is None or not can_view_request(user, service_request):
        raise NotFound(_l("We could not find that request."))
    return service_request


def get_by_token(token: str) -> ServiceRequest:
    """The request behind a public status link; NotFound for anything else."""
    if not token or len(token) > 64:
        raise NotFound(_l("We could not find that request."))
    service_request = db.session.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.public_token == token)
        .options(joinedload(ServiceRequest.service_type))
    )
    if service_request is None:
        raise NotFound(_l("We could not find that request."))
    return service_request


def history(service_request: ServiceRequest) -> list[RequestEvent]:
    """The request's events, oldest first, with who did each (one query)."""
    return list(
        db.session.scalars(
            select(RequestEvent)
            .where(RequestEvent.request_id == service_request.id)
            .options(joinedload(RequestEvent.actor))
            .order_by(RequestEvent.occurred_at, RequestEvent.id)
        )
    )


@dataclass(frozen=True)
class AttributeLine:
    """An attribute answer with the question it answers, in the current language."""

    label: str
    value: str


def attribute_lines(service_request: ServiceRequest) -> list[AttributeLine]:
    """The request's attribute values with their labels, in the service's order.

    List values show their names; answers to attributes no longer in the catalog keep their code.
    """
    answers = dict(service_request.attributes or {})
    lines = []
    for attribute in service_request.service_type.attributes:
        if attribute.code not in answers:
            continue
        raw = answers.pop(attribute.code)
        names = {str(option.get("key")): localized(option.get("name")) for option in attribute.values or []}
        values = raw if isinstance(raw, list) else [raw]
        shown = ", ".join(names.get(str(value), str(value)) for value in values if value not in (None, ""))
        if shown:
            lines.append(AttributeLine(localized(attribute.description) or attribute.code, shown))
    for code, raw in answers.items():
        values = raw if isinstance(raw, list) else [raw]
        shown = ", ".join(str(value) for value in values if value not in (None, ""))
        if shown:
            lines.append(AttributeLine(code, shown))
    return lines


# Public view ------------------------------------------------------------------------------------

_HOUSE_NUMBER = re.compile(r"^\s*(\d{1,6})[A-Za-z]?(?:\s*[-/]\s*\d+[A-Za-z]?)?\s+(.+)$")
_UNIT = re.compile(r"(?:\s|,)+(?:apt|apartment|unit|suite|ste|fl|floor|rm|room|#)\b.*$|\s*#.*$", re.IGNORECASE)
_INTERSECTION = re.compile(r"\s(?:&|and|at|y|/)\s|&|/", re.IGNORECASE)


def public_location(address: str) -> str:
    """The address as the public page shows it: a block, an intersection, or nothing.

    "1234 Cedar Ave, Apt 2" becomes "1200 block of Cedar Ave": the house number is rounded down
    to its hundred and units, cities and anything after a comma are dropped. A corner
    ("5th St & Cedar Ave") is shown as typed up to a comma. Anything else (a landmark, a
    description that could name a person) is not shown: the page then gives the ZIP code only.
    """
    text = (address or "").split(",")[0].strip()
    text = _UNIT.sub("", text).strip()
    match = _HOUSE_NUMBER.match(text)
    if match:
        number, street = int(match.group(1)), " ".join(match.group(2).split())
        if not street:
            return ""
        return str(_l("%(block)d block of %(street)s", block=number - number % 100, street=street))
    if _INTERSECTION.search(text) and len(text) <= 120:
        return " ".join(text.split())
    return ""


@dataclass(frozen=True)
class PublicNote:
    """A status change as the public page shows it (no names: not who made it)."""

    occurred_at: datetime
    state: str
    note: str


@dataclass(frozen=True)
class PublicStatus:
    """Everything the public status page shows: nothing personal."""

    number: int
    service: str
    open311_status: str
    state: RequestState
    location: str
    zipcode: str
    requested_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    external_id: str
    notes: list[PublicNote] = field(default_factory=list)


def public_status(service_request: ServiceRequest) -> PublicStatus:
    """The request as anyone holding its link may see it (one query for the notes)."""
    notes = [
        PublicNote(occurred_at, to_state or "", note)
        for occurred_at, to_state, note in db.session.execute(
            select(RequestEvent.occurred_at, RequestEvent.to_state, RequestEvent.note)
            .where(RequestEvent.request_id == service_request.id, RequestEvent.kind == "status_changed")
            .order_by(RequestEvent.occurred_at.desc(), RequestEvent.id.desc())
        )
    ]
    return PublicStatus(
        number=service_request.id,
        service=service_name(service_request.service_type),
        open311_status=service_request.open311_status,
        state=service_request.state,
        location=public_location(service_request.address),
        zipcode=service_request.zipcode,
        requested_at=service_request.requested_at,
        updated_at=service_request.updated_at,
        closed_at=service_request.closed_at,
        external_id=service_request.external_id,
        notes=notes,
    )


def status_url(service_request: ServiceRequest) -> str:
    """The absolute address of the request's public status page (the receipt's QR holds it).

    PUBLIC_BASE_URL, when set, is the address people reach the program at (the app may run
    behind a proxy under another name); otherwise the address of the current request.
    """
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        return url_for("request_status.show", public_token=service_request.public_token, _external=True)
    path = url_for("request_status.show", public_token=service_request.public_token)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return base.rstrip("/") + path


# Status changes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """What a status change did."""

    to_state: RequestState
    request_ids: list[int]
    from_states: dict[str, int]


def allowed_targets(states: Iterable[RequestState]) -> list[RequestState]:
    """States every one of `states` may move to, in workflow order."""
    states = list(states)
    return [target for target in RequestState if all(target in TRANSITIONS[state] for state in states)]


def _clean_ids(request_ids: Sequence[int]) -> list[int]:
    ids = sorted({int(id_) for id_ in request_ids})
    if not ids:
        raise ValidationFailed(_l("Select at least one request first."), field="request_ids")
    if len(ids) > BULK_MAX_SELECTED:
        raise ValidationFailed(
            _l("Select at most %(num)d requests at a time.", num=BULK_MAX_SELECTED), field="request_ids"
        )
    return ids


def _numbers(ids: Iterable[int]) -> str:
    return ", ".join(f"#{id_}" for id_ in sorted(ids))


def _locked_states(ids: list[int]) -> dict[int, RequestState]:
    # FOR UPDATE on PostgreSQL; SQLite's write transactions are BEGIN IMMEDIATE, serialised already.
    return dict(
        db.session.execute(
            select(ServiceRequest.id, ServiceRequest.state).where(ServiceRequest.id.in_(ids)).with_for_update()
        ).all()
    )


def change_status(
    actor: User, request_ids: Sequence[int], to_state: RequestState | str, note: str = ""
) -> StatusChange:
    """Move every selected request to `to_state` with the coordinator's note, or none of them.

    Refused (422) naming the requests that cannot make the move; closing or rejecting sets
    closed_at. Writes a RequestEvent per request and one audit event.
    """
    if actor.role is not Role.COORDINATOR:
        raise NotFound(_l("We could not find that request."))
    try:
        target = RequestState(to_state)
    except ValueError:
        raise ValidationFailed(_l("Choose the new status."), field="to_state") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationFailed(_l("Use at most %(max)d characters.", max=NOTE_MAX_LENGTH), field="note")
    ids = _clean_ids(request_ids)
    states = _locked_states(ids)
    missing = [id_ for id_ in ids if id_ not in states]
    if missing:
        raise ValidationFailed(
            ngettext(
                "Request %(numbers)s no longer exists. Reload the list and select again.",
                "Requests %(numbers)s no longer exist. Reload the list and select again.",
                len(missing),
                numbers=_numbers(missing),
            ),
            field="request_ids",
        )
    refused = [id_ for id_, state in states.items() if target not in TRANSITIONS[state]]
    if refused:
        by_state = Counter(states[id_] for id_ in refused)
        reasons = "; ".join(
            gettext(
                "%(numbers)s: %(state)s",
                numbers=_numbers(id_ for id_ in refused if states[id_] is state),
                state=state_label(state),
            )
            for state in sorted(by_state, key=list(RequestState).index)
        )
        raise ValidationFailed(
            ngettext(
                "%(num)d selected request cannot move to “%(target)s” (%(reasons)s). Nothing was changed.",
                "%(num)d selected requests cannot move to “%(target)s” (%(reasons)s). Nothing was changed.",
                len(refused),
                target=state_label(target),
                reasons=reasons,
            ),
            field="request_ids",
        )
    now = utcnow()
    values: dict[str, Any] = {"state": target, "status_note": note, "updated_at": now}
    if target in CLOSING_STATES:
        values["closed_at"] = now
    result = db.session.execute(
        update(ServiceRequest)
        .where(
            ServiceRequest.id.in_(ids), ServiceRequest.state.in_([s for s in RequestState if target in TRANSITIONS[s]])
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):
        raise Conflict(_l("Some of these requests changed while you were working. Reload the list and try again."))
    db.session.execute(
        insert(RequestEvent),
        [
            {
                "request_id": id_,
                "occurred_at": now,
                "actor_id": actor.id,
                "kind": "status_changed",
                "from_state": states[id_].value,
                "to_state": target.value,
                "note": note,
            }
            for id_ in ids
        ],
    )
    from_states = dict(Counter(states[id_].value for id_ in ids))
    record_event(
        actor,
        "requests.status_changed",
        subject_type="service_request",
        subject_id=ids[0] if len(ids) == 1 else None,
        ids=ids,
        count=len(ids),
        from_states=from_states,
        to=target.value,
        with_note=bool(note),
    )
    _expire(ids)
    logger.info("status of %d requests changed to %s by user %s", len(ids), target.value, actor.id)
    return StatusChange(target, ids, from_states)


def clear_review(actor: User, request_ids: Sequence[int]) -> list[int]:
    """Clear the "needs review" flag of the selected requests; returns the ids that had it."""
    if actor.role is not Role.COORDINATOR:
        raise NotFound(_l("We could not find that request."))
    ids = _clean_ids(request_ids)
    flagged = list(
        db.session.scalars(
            select(ServiceRequest.id)
            .where(ServiceRequest.id.in_(ids), ServiceRequest.needs_review.is_(True))
            .with_for_update()
        )
    )
    if not flagged:
        raise ValidationFailed(_l("None of the selected requests is flagged for review."), field="request_ids")
    now = utcnow()
    db.session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id.in_(flagged))
        .values(needs_review=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        insert(RequestEvent),
        [{"request_id": id_, "occurred_at": now, "actor_id": actor.id, "kind": "review_cleared"} for id_ in flagged],
    )
    record_event(
        actor,
        "requests.review_cleared",
        subject_type="service_request",
        subject_id=flagged[0] if len(flagged) == 1 else None,
        ids=flagged,
        count=len(flagged),
    )
    _expire(flagged)
    return flagged


def _expire(ids: Iterable[int]) -> None:
    """Forget loaded copies of requests a Core statement changed (they reload on next use)."""
    wanted = set(ids)
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, ServiceRequest) and instance.id in wanted:
            db.session.expire(instance)


# Receipts ---------------------------------------------------------------------------------------


def can_email_receipt(service_request: ServiceRequest) -> bool:
    """The neighbor agreed to be contacted and gave an email address."""
    return bool(service_request.contact_consent and service_request.neighbor_email.strip())


def email_receipt(actor: User, service_request: ServiceRequest, *, locale: str | None = None) -> None:
    """Send the neighbor their receipt by email (after the commit), if they consented.

    Only the liaison who filed the request may; the audit event never holds the address.
    """
    if actor.role is not Role.LIAISON or service_request.liaison_id != actor.id:
        raise NotFound(_l("We could not find that request."))
    if not can_email_receipt(service_request):
        raise ValidationFailed(
            _l("This neighbor did not agree to be contacted or gave no email address: print the receipt instead.")
        )
    queue_mail(
        address=service_request.neighbor_email.strip(),
        template="request_receipt",
        subject=_l("Your service request #%(number)d", number=service_request.id),
        locale=locale,
        number=service_request.id,
        first_name=service_request.neighbor_first_name,
        service=service_name(service_request.service_type),
        requested_at=service_request.requested_at,
        location=public_location(service_request.address),
        zipcode=service_request.zipcode,
        status_url=status_url(service_request),
        liaison_name=actor.full_name,
    )
    db.session.add(RequestEvent(request_id=service_request.id, actor_id=actor.id, kind="receipt_emailed"))
    record_event(actor, "request.receipt_emailed", service_request)


# Exports ----------------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("number", _l("Request number")),
    ("requested_at", _l("Filed")),
    ("status", _l("Status (open/closed)")),
    ("state", _l("State")),
    ("service_code", _l("Service code")),
    ("service", _l("Service")),
    ("address", _l("Address")),
    ("zipcode", _l("ZIP code")),
    ("lat", _l("Latitude")),
    ("long", _l("Longitude")),
    ("neighborhood", _l("Neighborhood")),
    ("description", _l("Description")),
    ("attributes", _l("Attributes")),
    ("status_note", _l("Status note")),
    ("needs_review", _l("Needs review")),
    ("review_reason", _l("Review reason")),
    ("duplicate_of", _l("Possible duplicate of")),
    ("external_id", _l("311 id")),
    ("batch_id", _l("Batch")),
    ("liaison", _l("Liaison")),
    ("updated_at", _l("Last update")),
    ("closed_at", _l("Closed")),
)
CONTACT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("neighbor_first_name", _l("Neighbor first name")),
    ("neighbor_last_name", _l("Neighbor last name")),
    ("neighbor_phone", _l("Neighbor phone")),
    ("neighbor_email", _l("Neighbor email")),
    ("contact_consent", _l("Agreed to be contacted")),
)


@dataclass(frozen=True)
class Export:
    """An export's header, rows and size."""

    header: list[str]
    rows: list[list[Any]]
    count: int


def export_requests(
    actor: User, filters: RequestFilters, *, include_contact: bool, max_rows: int | None = None
) -> Export:
    """The filtered requests as spreadsheet rows (newest first), with neighbor contact if asked.

    At most `max_rows` (EXPORT_MAX_ROWS by default) rows: a larger list is refused, never cut.
    An export with personal data writes the audit event `requests.exported_personal_data`
    (filters and row count).
    """
    limit = EXPORT_MAX_ROWS if max_rows is None else max_rows
    if actor.role is not Role.COORDINATOR:
        raise NotFound(_l("We could not find that request."))
    ordered = filtered_requests(filters).subquery()
    count = db.session.scalar(select(func.count()).select_from(ordered)) or 0
    if count > limit:
        raise ValidationFailed(
            _l(
                "This list has %(count)s requests; an export holds at most %(max)s. "
                "Narrow the filters (for example a date range) and export again.",
                count=f"{count:,}",
                max=f"{limit:,}",
            )
        )
    sr = ServiceRequest
    columns = [
        sr.id,
        sr.requested_at,
        sr.state,
        ServiceType.code,
        ServiceType.name,
        sr.address,
        sr.zipcode,
        sr.lat,
        sr.long,
        sr.neighborhood,
        sr.description,
        sr.attributes,
        sr.status_note,
        sr.needs_review,
        sr.review_reason,
        sr.duplicate_of_id,
        sr.external_id,
        sr.batch_id,
        User.full_name,
        sr.updated_at,
        sr.closed_at,
    ]
    if include_contact:
        columns += [
            sr.neighbor_first_name,
            sr.neighbor_last_name,
            sr.neighbor_phone,
            sr.neighbor_email,
            sr.contact_consent,
        ]
    query = (
        filtered_requests(filters)
        .with_only_columns(*columns, maintain_column_froms=True)
        .join(ServiceType, ServiceType.id == sr.service_type_id)
        .outerjoin(User, User.id == sr.liaison_id)
    )
    yes, no = str(_l("yes")), str(_l("no"))
    labels = {state: state_label(state) for state in RequestState}
    names: dict[str, str] = {}
    rows = []
    for row in db.session.execute(query):
        state = RequestState(row[2])
        line = [
            row[0],
            row[1],
            "open" if state in OPEN_STATES else "closed",
            labels[state],
            row[3],
            names.get(row[3]) or names.setdefault(row[3], localized(row[4])),
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            json.dumps(row[11], ensure_ascii=False, sort_keys=True) if row[11] else "",
            row[12],
            yes if row[13] else no,
            row[14],
            row[15],
            row[16],
            row[17],
            row[18] or "",
            row[19],
            row[20],
        ]
        if include_contact:
            line += [row[21], row[22], row[23], row[24], yes if row[25] else no]
        rows.append(line)
    header = [str(label) for _key, label in EXPORT_COLUMNS]
    if include_contact:
        header += [str(label) for _key, label in CONTACT_COLUMNS]
        record_event(
            actor,
            "requests.exported_personal_data",
            subject_type="service_request",
            filters=filters.described(),
            count=len(rows),
        )
    return Export(header, rows, len(rows))
