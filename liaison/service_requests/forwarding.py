"""Forwarding filed requests to the city's Open311 endpoint (`flask liaison forward`).

Forwarding is on when `OPEN311_ENDPOINT` and `OPEN311_API_KEY` are set. A worker run (cron or a
systemd timer, e.g. every minute, on any number of hosts) does this:

1. **Claim.** In one short transaction the worker picks up to `FORWARD_BATCH_SIZE` *due* requests,
   oldest first, and stamps them with its claim time (`forward_claimed_at`), then commits BEFORE
   sending anything. Due means: state submitted, no 311 id yet, not flagged for a coordinator's
   review (a request filed outside the liaison's neighborhood is held until a coordinator clears
   the flag), fewer than `FORWARD_MAX_ATTEMPTS` attempts, either never tried or its retry time
   (`forward_next_at`) has come, and not claimed by another worker, or claimed longer ago than
   `CLAIM_LEASE` (a worker that died). The candidates are read with `SELECT ... FOR UPDATE SKIP
   LOCKED` on PostgreSQL (two workers get disjoint requests and never wait for each other) and the
   claim is a conditional `UPDATE` that re-checks "not claimed"; on SQLite every write transaction
   is `BEGIN IMMEDIATE` (liaison.database), so claims are serialised. Either way two workers never
   hold the same request. No database transaction stays open while the city is being called.
2. **Send.** Each claimed request is POSTed to `{OPEN311_ENDPOINT}/requests.json`, form-encoded as
   GeoReport v2 expects: `api_key`, `service_code`, `address_string` (address and ZIP code) and/or
   `lat`/`long`, `description`, `attribute[code]=value` (a multivaluelist as
   `attribute[code][]=value` repeated), `jurisdiction_id` when set, and the neighbor's
   `first_name`, `last_name`, `phone`, `email` ONLY when the neighbor agreed to be contacted.
   Python's `urllib.request`, a timeout of `OPEN311_TIMEOUT` seconds, no redirects followed.
   Logs name request ids and HTTP statuses, never what was sent or the city's error text.
3. **Record**, each request in its own transaction:
   - 200/201 with `[{"service_request_id": ...}]`: `external_id` is that id, state forwarded,
     `forwarded_at` set, claim and error cleared, a "forwarded" history event (actor: the system).
     With only `[{"token": ...}]` the request is forwarded the same way and `external_id` is
     `"token:<token>"`: the city's id can later be read with GeoReport's `GET tokens/<token>`.
     If a coordinator changed the state while the request was in flight, the 311 id is still
     recorded and the coordinator's state is kept.
   - An answer that is not an error but names no id or token: the city may have created the
     request, so it is NOT sent again; it stops with a message for a coordinator.
   - 400, 422 and other 4xx (the city refuses this request): no more retries. The request stays
     submitted with `forward_error` (the city's description, control characters removed, cut to
     255 characters) and `forward_next_at` empty: "stopped", shown to coordinators on the
     request page so they can act (change the status by hand, or retry with
     `flask liaison forward --retry ID` once the cause is fixed).
   - 5xx, 408, 425, 429, timeouts and connection errors: retried later with exponential backoff
     (1, 2, 4 ... minutes, capped at 6 hours, minus up to 20 % jitter so workers spread out);
     after `FORWARD_MAX_ATTEMPTS` attempts it stops as above.
   - 401, 403, 404, 405, 407 and redirects mean the settings are wrong (every other request
     would fail the same way): the request is retried with backoff and the run stops, releasing
     the rest of its claims untouched.
   "Stopped" in the data: state submitted, `forward_attempts` > 0, `forward_next_at` and
   `forward_claimed_at` empty (see `forwarding_stopped`).

Exactly-once, honestly: the claim makes sure two live workers never send the same request. The
one window left is a worker that dies (or hangs past `CLAIM_LEASE`) after the city accepted a
request and before the commit that records the answer: once the lease runs out another run
claims it again and it is sent a second time. A worker stops sending from a claim well before its
lease ends (`CLAIM_LEASE` minus twice the timeout), so a merely slow run does not open the window,
and a late answer is recorded only on a request that has no 311 id yet (a second id is logged as
a warning, by request id, so it can be reconciled). GeoReport v2 has no idempotency key, so this
window cannot be closed from our side.

Unlike services, `forward_due` commits: the claim must be visible to other workers before sending.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import joinedload

from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import RequestEvent, RequestState, ServiceRequest

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died; its requests are claimed again.
CLAIM_LEASE = timedelta(minutes=10)
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
# The city's answer is read up to this many bytes (an id, a token or an error list is tiny).
MAX_ANSWER_BYTES = 64 * 1024
ERROR_MAX_LENGTH = 255
EXTERNAL_ID_MAX_LENGTH = 64
TOKEN_PREFIX = "token:"  # noqa: S105 - marks an Open311 token, not a secret

# Statuses that say the settings are wrong, not the request: retry later and stop this run.
SETTINGS_STATUSES = frozenset({401, 403, 404, 405, 407})
# Client errors that are worth retrying.
RETRY_STATUSES = frozenset({408, 425, 429})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class ForwardSettings:
    """Where and how requests are forwarded (from the app config)."""

    endpoint: str
    api_key: str
    jurisdiction_id: str = ""
    timeout: float = 10.0
    max_attempts: int = 8
    batch_size: int = 100
    lease: timedelta = CLAIM_LEASE

    @property
    def requests_url(self) -> str:
        return self.endpoint.rstrip("/") + "/requests.json"


def forwarding_settings(config: Mapping[str, Any]) -> ForwardSettings | None:
    """The forwarding settings, or None when forwarding is off (endpoint or key not set)."""
    endpoint = str(config.get("OPEN311_ENDPOINT") or "").strip()
    api_key = str(config.get("OPEN311_API_KEY") or "").strip()
    if not endpoint or not api_key:
        return None
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise ValueError("OPEN311_ENDPOINT must be an http:// or https:// URL.")
    timeout = float(config.get("OPEN311_TIMEOUT", 10))
    return ForwardSettings(
        endpoint=endpoint,
        api_key=api_key,
        jurisdiction_id=str(config.get("OPEN311_JURISDICTION_ID") or "").strip(),
        timeout=timeout,
        # A long timeout stretches the lease, so a claim always outlives a few sends.
        lease=max(CLAIM_LEASE, timedelta(seconds=4 * timeout + 60)),
        max_attempts=int(config.get("FORWARD_MAX_ATTEMPTS", 8)),
        batch_size=int(config.get("FORWARD_BATCH_SIZE", 100)),
    )


def forwarding_stopped(service_request: ServiceRequest) -> bool:
    """True when forwarding gave up on this request and a coordinator has to act."""
    return (
        service_request.state is RequestState.SUBMITTED
        and not service_request.external_id
        and service_request.forward_attempts > 0
        and service_request.forward_next_at is None
        and service_request.forward_claimed_at is None
    )


# Claim ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed request, ready to send: plain values only (no session needed while sending)."""

    request_id: int
    claim: datetime
    attempts: int
    fields: list[tuple[str, str]]


def _unclaimed(now: datetime, settings: ForwardSettings) -> Any:
    return or_(ServiceRequest.forward_claimed_at.is_(None), ServiceRequest.forward_claimed_at < now - settings.lease)


def _due(now: datetime, settings: ForwardSettings) -> list[Any]:
    return [
        ServiceRequest.state == RequestState.SUBMITTED,
        ServiceRequest.external_id == "",
        ServiceRequest.needs_review.is_(False),
        ServiceRequest.forward_attempts < settings.max_attempts,
        or_(
            and_(ServiceRequest.forward_next_at.is_(None), ServiceRequest.forward_attempts == 0),
            ServiceRequest.forward_next_at <= now,
        ),
        _unclaimed(now, settings),
    ]


def claim_due(settings: ForwardSettings, *, now: datetime, limit: int) -> list[Outgoing]:
    """Claim up to `limit` due requests and commit the claim; return what to send (3 queries)."""
    db.session.rollback()  # start a fresh (on SQLite: immediate) transaction
    candidates = db.session.execute(
        select(ServiceRequest.id, ServiceRequest.forward_claimed_at)
        .where(*_due(now, settings))
        .order_by(ServiceRequest.requested_at, ServiceRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        db.session.rollback()
        return []
    ids = db.session.scalars(
        update(ServiceRequest)
        .where(ServiceRequest.id.in_([row.id for row in candidates]), _unclaimed(now, settings))
        .values(forward_claimed_at=now)
        .returning(ServiceRequest.id)
        .execution_options(synchronize_session=False)
    ).all()
    for row in candidates:
        if row.forward_claimed_at is not None and row.id in ids:
            logger.warning(
                "request %s: a claim from %s ran out; if that worker had sent it, it is sent a second time",
                row.id,
                row.forward_claimed_at.isoformat(),
            )
    requests = db.session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.id.in_(ids))
        .options(joinedload(ServiceRequest.service_type))
        .order_by(ServiceRequest.requested_at, ServiceRequest.id)
        .execution_options(populate_existing=True)
    ).all()
    outgoing = [Outgoing(sr.id, now, sr.forward_attempts, request_fields(sr, settings)) for sr in requests]
    db.session.commit()
    return outgoing


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def request_fields(service_request: ServiceRequest, settings: ForwardSettings) -> list[tuple[str, str]]:
    """The GeoReport v2 form fields for one request (contact details only with consent)."""
    sr = service_request
    fields: list[tuple[str, str]] = [("api_key", settings.api_key)]
    if settings.jurisdiction_id:
        fields.append(("jurisdiction_id", settings.jurisdiction_id))
    fields.append(("service_code", sr.service_type.code))
    address = sr.address.strip()
    if address:
        if sr.zipcode and sr.zipcode not in address:
            address = f"{address}, {sr.zipcode}"
        fields.append(("address_string", address))
    if sr.lat is not None and sr.long is not None:
        fields += [("lat", repr(sr.lat)), ("long", repr(sr.long))]
    if sr.description:
        fields.append(("description", sr.description))
    for code, value in (sr.attributes or {}).items():
        if isinstance(value, list | tuple):
            fields += [(f"attribute[{code}][]", _text(item)) for item in value]
        elif value is not None and value != "":
            fields.append((f"attribute[{code}]", _text(value)))
    if sr.contact_consent:
        for name, value in (
            ("first_name", sr.neighbor_first_name),
            ("last_name", sr.neighbor_last_name),
            ("phone", sr.neighbor_phone),
            ("email", sr.neighbor_email),
        ):
            if value:
                fields.append((name, value))
    return fields


# Send -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the city's answer means for one request."""

    outcome: str  # "forwarded", "retry" or "stopped"
    external_id: str = ""
    error: str = ""
    # The settings look wrong: stop this run after recording this answer.
    halt: bool = False
    status: int | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (the endpoint is wrong), never a second POST elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def clean_error(text: str) -> str:
    """An error text safe to store and show: no control characters, at most 255 characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= ERROR_MAX_LENGTH else text[: ERROR_MAX_LENGTH - 1] + "…"


def _error_description(body: bytes) -> str:
    """The descriptions of a GeoReport error list (`[{"code": 400, "description": "..."}]`)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    items = data if isinstance(data, list) else [data]
    return "; ".join(str(item["description"]) for item in items if isinstance(item, dict) and item.get("description"))


def _success(body: bytes, status: int) -> Answer:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict):
        request_id = first.get("service_request_id")
        token = first.get("token")
        external_id = ""
        if request_id not in (None, ""):
            external_id = str(request_id).strip()
        elif token not in (None, ""):
            external_id = TOKEN_PREFIX + str(token).strip()
        if external_id and len(external_id) <= EXTERNAL_ID_MAX_LENGTH and not _CONTROL.search(external_id):
            return Answer("forwarded", external_id=external_id, status=status)
    # Possibly created on the city's side: never send it again automatically.
    return Answer(
        "stopped",
        error=clean_error(
            f"The city's 311 service answered HTTP {status} without a usable request id or token; "
            "check with 311 whether it received this request."
        ),
        status=status,
    )


def interpret(status: int, body: bytes) -> Answer:
    """What an HTTP status and body from `POST requests.json` mean."""
    if status in (200, 201, 202):
        return _success(body, status)
    description = clean_error(_error_description(body))
    said = f"HTTP {status}" + (f": {description}" if description else "")
    if status in SETTINGS_STATUSES or 300 <= status < 400:
        return Answer(
            "retry",
            error=clean_error(
                f"The city's 311 service refused the connection settings ({said}). Check "
                "OPEN311_ENDPOINT and OPEN311_API_KEY."
            ),
            halt=True,
            status=status,
        )
    if 400 <= status < 500 and status not in RETRY_STATUSES:
        return Answer(
            "stopped", error=clean_error(f"The city's 311 service refused this request ({said})."), status=status
        )
    return Answer("retry", error=clean_error(f"The city's 311 service is not available ({said})."), status=status)


def post_request(settings: ForwardSettings, fields: list[tuple[str, str]]) -> Answer:
    """POST one request to the city's endpoint and interpret the answer."""
    data = urlencode(fields).encode("utf-8")
    outgoing = urllib.request.Request(  # noqa: S310 - the scheme is checked in forwarding_settings
        settings.requests_url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "liaison-forwarder/1",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(outgoing, timeout=settings.timeout) as response:
            return interpret(response.status, response.read(MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as error:
        try:
            body = error.read(MAX_ANSWER_BYTES)
        except (OSError, HTTPException):
            body = b""
        finally:
            error.close()
        return interpret(error.code, body)
    except TimeoutError:
        return Answer("retry", error=f"No answer from the city's 311 service within {settings.timeout:g} seconds.")
    except (urllib.error.URLError, OSError, HTTPException) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            return Answer("retry", error=f"No answer from the city's 311 service within {settings.timeout:g} seconds.")
        return Answer("retry", error=clean_error(f"Could not reach the city's 311 service ({type(reason).__name__})."))


# Record -----------------------------------------------------------------------------------------


def backoff(attempts: int, *, jitter: float) -> timedelta:
    """The wait before the next try after `attempts` failed tries (1, 2, 4 ... min, cap 6 h).

    `jitter` in [0, 1) takes up to 20 % off, so workers that failed together do not retry together.
    """
    base = min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return base * (1 - 0.2 * jitter)


def record_answer(
    settings: ForwardSettings, outgoing: Outgoing, answer: Answer, *, now: datetime, jitter: float
) -> None:
    """Store the outcome of one send and commit."""
    attempts = outgoing.attempts + 1
    if answer.outcome == "forwarded":
        _record_forwarded(outgoing, answer.external_id, attempts, now)
    else:
        stopped = answer.outcome == "stopped" or attempts >= settings.max_attempts
        next_at = None if stopped else now + backoff(attempts, jitter=jitter)
        result = db.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == outgoing.request_id, ServiceRequest.forward_claimed_at == outgoing.claim)
            .values(
                forward_attempts=attempts,
                forward_error=answer.error,
                forward_next_at=next_at,
                forward_claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            logger.warning("request %s: claim lost before the failed attempt was recorded", outgoing.request_id)
        logger.warning(
            "request %s: forwarding %s (HTTP %s, attempt %d)",
            outgoing.request_id,
            "stopped" if stopped else "will be retried",
            answer.status or "-",
            attempts,
        )
    db.session.commit()


def _record_forwarded(outgoing: Outgoing, external_id: str, attempts: int, now: datetime) -> None:
    values = {
        "external_id": external_id,
        "forwarded_at": now,
        "forward_attempts": attempts,
        "forward_claimed_at": None,
        "forward_next_at": None,
        "forward_error": "",
        "updated_at": now,
    }
    not_recorded = (ServiceRequest.id == outgoing.request_id, ServiceRequest.external_id == "")
    moved = db.session.execute(
        update(ServiceRequest)
        .where(*not_recorded, ServiceRequest.state == RequestState.SUBMITTED)
        .values(state=RequestState.FORWARDED, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    recorded = moved or (
        db.session.execute(
            update(ServiceRequest).where(*not_recorded).values(**values).execution_options(synchronize_session=False)
        ).rowcount
    )
    if not recorded:
        logger.warning(
            "request %s: the city answered with a second id %s; it was already recorded (sent twice)",
            outgoing.request_id,
            external_id,
        )
        return
    db.session.execute(
        insert(RequestEvent).values(
            request_id=outgoing.request_id,
            occurred_at=now,
            actor_id=None,
            kind="forwarded",
            from_state=RequestState.SUBMITTED.value if moved else None,
            to_state=RequestState.FORWARDED.value if moved else None,
            note=external_id,
        )
    )
    logger.info("request %s forwarded to 311 as %s", outgoing.request_id, external_id)


def release_claims(outgoing: list[Outgoing]) -> None:
    """Give back claims that were not used (they are due again at once) and commit."""
    for item in outgoing:
        db.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == item.request_id, ServiceRequest.forward_claimed_at == item.claim)
            .values(forward_claimed_at=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


# The worker -------------------------------------------------------------------------------------


@dataclass
class ForwardRun:
    """What one run did (counts only)."""

    claimed: int = 0
    forwarded: int = 0
    retrying: int = 0
    stopped: int = 0
    released: int = 0
    halted: str = ""
    outcomes: dict[int, str] = field(default_factory=dict)

    def add(self, other: ForwardRun) -> None:
        """Add another round's counts to these."""
        self.claimed += other.claimed
        self.forwarded += other.forwarded
        self.retrying += other.retrying
        self.stopped += other.stopped
        self.released += other.released
        self.halted = self.halted or other.halted
        self.outcomes.update(other.outcomes)


Sender = Callable[[ForwardSettings, list[tuple[str, str]]], Answer]


def forward_due(
    settings: ForwardSettings,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    sender: Sender = post_request,
    jitter: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> ForwardRun:
    """Claim, send and record one round of due requests (at most `limit` or the batch size)."""
    size = min(limit, settings.batch_size) if limit is not None else settings.batch_size
    run = ForwardRun()
    if size <= 0:
        return run
    claim_time = now or utcnow()
    started = clock()
    outgoing = claim_due(settings, now=claim_time, limit=size)
    run.claimed = len(outgoing)
    # Stop sending well before the lease ends, so no other worker can have re-claimed a request.
    send_until = started + max(settings.lease.total_seconds() - 2 * settings.timeout - 5, 0)
    for index, item in enumerate(outgoing):
        if run.halted or (index and clock() > send_until):
            rest = outgoing[index:]
            release_claims(rest)
            run.released = len(rest)
            if not run.halted:
                logger.warning("forwarding released %d claims: the run took too long", len(rest))
            break
        answer = sender(settings, item.fields)
        record_answer(settings, item, answer, now=now or utcnow(), jitter=jitter())
        if answer.outcome == "forwarded":
            run.forwarded += 1
        elif answer.outcome == "stopped" or item.attempts + 1 >= settings.max_attempts:
            run.stopped += 1
        else:
            run.retrying += 1
        run.outcomes[item.request_id] = answer.outcome
        if answer.halt:
            run.halted = answer.error
    return run


def forward_all(
    settings: ForwardSettings, *, limit: int | None = None, once: bool = False, **options: Any
) -> ForwardRun:
    """Run rounds until nothing is due, `limit` requests were claimed, or the settings look wrong."""
    total = ForwardRun()
    while True:
        remaining = None if limit is None else limit - total.claimed
        if remaining is not None and remaining <= 0:
            break
        run = forward_due(settings, limit=remaining, **options)
        total.add(run)
        if once or not run.claimed or run.halted or run.released:
            break
    return total


def retry_forwarding(request_id: int) -> bool:
    """Make a stopped request due again (attempts reset); False when it is not stopped."""
    service_request = db.session.get(ServiceRequest, request_id)
    if service_request is None or not forwarding_stopped(service_request):
        return False
    service_request.forward_attempts = 0
    service_request.forward_error = ""
    return True
