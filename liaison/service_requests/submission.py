"""Submitting a draft batch: every kept row becomes a ServiceRequest, all at once, exactly once.

- All or nothing: every row that is not dropped is re-validated against the current catalog;
  one invalid row refuses the whole submit and nothing is written. The caller commits once.
- Exactly once: the batch is claimed by one conditional UPDATE (draft, and the revision the
  liaison reviewed); its row count decides who files. Another submit of the same batch, with
  the same idempotency key (double click, retry) or another one (second tab), files nothing
  and gets the first submit's result. The unique `idempotency_key` column refuses a key reused
  for another batch.
- Fast: requests and their "filed" events are written with two Core executemany inserts.

Out-of-area rule (flags rows for a coordinator, never refuses them): the liaison's home ZIP
codes are those of the Neighborhood named like their active cohort's neighborhood; when that
neighborhood is unknown or lists no ZIP codes, those of the batch's neighborhood. A row whose
ZIP code is given and is not among them gets `needs_review`. With no ZIP codes known at all,
nothing is flagged (there is nothing to compare with). A filed request's `neighborhood` is the
one whose ZIP codes contain the row's ZIP, else the batch's.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Table, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.certificates.services import filing_gate
from liaison.db_types import utcnow
from liaison.enrollment.models import Cohort, Membership, MembershipStatus
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.duplicates import DuplicateReport, find_duplicates
from liaison.service_requests.models import (
    BatchRow,
    BatchStatus,
    Neighborhood,
    RequestBatch,
    RequestEvent,
    RequestState,
    ServiceRequest,
)
from liaison.service_requests.validation import load_catalog, validate_row
from liaison.training.content import localized

logger = logging.getLogger(__name__)

# A key is made by the review page (uuid4); anything else of a sane shape is accepted too.
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
_CLEANED_FIELDS = (
    "service_type_id",
    "address",
    "normalized_address",
    "zipcode",
    "lat",
    "long",
    "description",
    "attributes",
    "neighbor_first_name",
    "neighbor_last_name",
    "neighbor_phone",
    "neighbor_email",
    "contact_consent",
)


@dataclass(frozen=True)
class SubmitResult:
    """What a submit did, or what the submit that filed the batch did."""

    batch_id: int
    filed: int
    dropped: int
    needs_review: int
    # True when this call filed nothing because the batch was already submitted.
    replayed: bool = False
    # For a replay: True when it was the same submit again (same key), False for another one.
    same_key: bool = True


@dataclass
class Timings:
    """Milliseconds spent in each phase of a submit (for the benchmark)."""

    phases: dict[str, float] = field(default_factory=dict)
    _started: float = field(default_factory=time.perf_counter)

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round((now - self._started) * 1000, 1)
        self._started = now

    @property
    def total_ms(self) -> float:
        return round(sum(self.phases.values()), 1)


def _load_own_batch(liaison: User, batch_id: int) -> RequestBatch:
    batch = db.session.get(RequestBatch, batch_id)
    if batch is None or batch.liaison_id != liaison.id:
        raise NotFound(_l("There is no such batch."))
    return batch


def filed_result(batch: RequestBatch, *, same_key: bool = True) -> SubmitResult:
    """The outcome of the submit that filed `batch` (one query)."""
    filed, flagged = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((ServiceRequest.needs_review.is_(True), 1), else_=0)), 0))
        .select_from(ServiceRequest)
        .where(ServiceRequest.batch_id == batch.id)
    ).one()
    return SubmitResult(
        batch_id=batch.id,
        filed=filed,
        dropped=max(0, batch.row_count - filed),
        needs_review=int(flagged),
        replayed=True,
        same_key=same_key,
    )


def _key_used_elsewhere(batch: RequestBatch, key: str) -> bool:
    other = db.session.scalar(
        select(RequestBatch.id).where(RequestBatch.idempotency_key == key, RequestBatch.id != batch.id)
    )
    return other is not None


@dataclass(frozen=True)
class AreaRule:
    """The liaison's home ZIP codes and every known ZIP's neighborhood."""

    home_zipcodes: frozenset[str]
    home_name: str
    neighborhood_of_zip: dict[str, str]


def area_rule(liaison: User, batch: RequestBatch) -> AreaRule:
    """The out-of-area rule for this liaison and batch (two queries, see the module docstring)."""
    cohort_neighborhood = db.session.scalar(
        select(Cohort.neighborhood)
        .join(Membership, Membership.cohort_id == Cohort.id)
        .where(Membership.user_id == liaison.id, Membership.status == MembershipStatus.ACTIVE)
        .limit(1)
    )
    neighborhoods = db.session.execute(select(Neighborhood.name, Neighborhood.zipcodes).order_by(Neighborhood.name))
    zips_by_name: dict[str, list[str]] = {}
    neighborhood_of_zip: dict[str, str] = {}
    for name, zipcodes in neighborhoods:
        codes = [str(code).strip()[:5] for code in zipcodes or [] if str(code).strip()]
        zips_by_name[name.strip().casefold()] = codes
        for code in codes:
            neighborhood_of_zip.setdefault(code, name)
    for candidate in (cohort_neighborhood, batch.neighborhood):
        codes = zips_by_name.get((candidate or "").strip().casefold())
        if codes:
            return AreaRule(frozenset(codes), candidate or "", neighborhood_of_zip)
    return AreaRule(frozenset(), cohort_neighborhood or batch.neighborhood or "", neighborhood_of_zip)


@contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a large batch is filed.

    Measured: a full collection in a running app takes 120-180 ms and one or two of them land in
    a 5,000-row submit (rows, checks and insert parameters are many small objects), nearly
    doubling its time. Reference counting still frees everything; cycles wait until after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def submit_batch(
    liaison: User,
    batch_id: int,
    *,
    idempotency_key: str,
    revision: int,
    now: datetime | None = None,
    timings: Timings | None = None,
) -> SubmitResult:
    """File every kept row of the liaison's draft batch as a request, once (see the module docstring).

    Never commits; on any DomainError the caller rolls back (nothing has been written then).
    """
    with _without_gc_pauses():
        return _submit_batch(liaison, batch_id, idempotency_key, revision, now, timings)


def _submit_batch(
    liaison: User,
    batch_id: int,
    idempotency_key: str,
    revision: int,
    now: datetime | None,
    timings: Timings | None,
) -> SubmitResult:
    mark: Callable[[str], None] = timings.mark if timings is not None else (lambda _phase: None)
    key = (idempotency_key or "").strip()
    if not _KEY.match(key):
        raise ValidationFailed(_l("This page is out of date. Reload it and submit again."))
    batch = _load_own_batch(liaison, batch_id)

    # A submit seen before files nothing and answers like the first one did.
    if batch.status == BatchStatus.SUBMITTED:
        if batch.idempotency_key != key and _key_used_elsewhere(batch, key):
            raise Conflict(_l("This submission was already used for another batch. Reload the page."))
        return filed_result(batch, same_key=batch.idempotency_key == key)
    if _key_used_elsewhere(batch, key):
        raise Conflict(_l("This submission was already used for another batch. Reload the page."))

    decision = filing_gate(liaison, now)
    if not decision.allowed:
        raise NotAllowed(decision.reason)
    if batch.revision != revision:
        raise Conflict(_l("The batch changed since you reviewed it; review it again."))
    mark("checks")

    catalog = load_catalog()
    # Plain rows, not ORM objects: building 5,000 BatchRow instances costs more than checking them.
    rows = db.session.execute(
        select(BatchRow.id, BatchRow.position, BatchRow.values, BatchRow.duplicate_decision)
        .where(BatchRow.batch_id == batch.id)
        .order_by(BatchRow.position)
    ).all()
    if not rows:
        raise ValidationFailed(_l("This batch has no rows to file."))
    report = find_duplicates(batch, catalog, now, rows=rows)
    dropped = report.dropped_row_ids
    kept = [row for row in rows if row.id not in dropped]
    checks = [validate_row(row.values or {}, catalog) for row in kept]
    invalid = sum(1 for check in checks if check.errors)
    mark("validate")
    if invalid:
        raise ValidationFailed(
            ngettext(
                "%(num)d row needs fixing before the batch can be filed.",
                "%(num)d rows need fixing before the batch can be filed.",
                invalid,
            )
        )
    if not kept:
        raise ValidationFailed(_l("Every row is dropped: keep at least one row to file the batch."))

    now = now or utcnow()
    result = _claim(batch, key, revision, now)
    if result is not None:
        return result
    mark("claim")

    filed = _insert_requests(liaison, batch, kept, checks, report, now)
    mark("insert")
    record_event(
        liaison,
        "batch.submitted",
        batch,
        rows=len(rows),
        filed=filed.filed,
        dropped=len(rows) - len(kept),
        needs_review=filed.needs_review,
        possible_duplicates_kept=filed.duplicates_kept,
    )
    logger.info("batch %s submitted by user %s: %s requests filed", batch.id, liaison.id, filed.filed)
    return SubmitResult(
        batch_id=batch.id, filed=filed.filed, dropped=len(rows) - len(kept), needs_review=filed.needs_review
    )


def _claim(batch: RequestBatch, key: str, revision: int, now: datetime) -> SubmitResult | None:
    """Take the batch for this submit; None when taken, else the answer for a submit that lost."""
    claim = (
        update(RequestBatch)
        .where(
            RequestBatch.id == batch.id,
            RequestBatch.status == BatchStatus.DRAFT,
            RequestBatch.revision == revision,
        )
        .values(
            status=BatchStatus.SUBMITTED,
            idempotency_key=key,
            submitted_revision=revision,
            submitted_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        with db.session.begin_nested():
            claimed = db.session.execute(claim).rowcount
    except IntegrityError:
        # Another batch took this key at the same moment (unique constraint).
        raise Conflict(_l("This submission was already used for another batch. Reload the page.")) from None
    db.session.refresh(batch)
    if claimed == 1:
        return None
    # Someone else claimed it (or changed it) between our read and our UPDATE.
    if batch.status == BatchStatus.SUBMITTED:
        return filed_result(batch, same_key=batch.idempotency_key == key)
    raise Conflict(_l("The batch changed since you reviewed it; review it again."))


@dataclass(frozen=True)
class _Filed:
    filed: int
    needs_review: int
    duplicates_kept: int


def _bulk_insert(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, else one executemany.

    Measured for 5,000 requests: a Core executemany took 350-430 ms on PostgreSQL (psycopg
    sends them in batches of 1,000 with 25 columns each), COPY 140 ms. Values must already be
    what the column stores (enum values, JSON-serialisable data, aware datetimes).
    """
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        db.session.execute(insert(table), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    json_columns = {column.name for column in table.columns if isinstance(column.type, JSON)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    driver_connection = connection.connection.driver_connection
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(row[name]) if name in json_columns else row[name] for name in columns])


def _insert_requests(
    liaison: User,
    batch: RequestBatch,
    kept: list[Any],
    checks: list[Any],
    report: DuplicateReport,
    now: datetime,
) -> _Filed:
    area = area_rule(liaison, batch)
    outside_reason_cache: dict[str, str] = {}
    parameters: list[dict[str, Any]] = []
    needs_review = duplicates_kept = 0
    for row, check in zip(kept, checks, strict=True):
        cleaned = check.cleaned
        zipcode = (cleaned.get("zipcode") or "")[:5]
        reason = ""
        if area.home_zipcodes and zipcode and zipcode not in area.home_zipcodes:
            reason = outside_reason_cache.get(zipcode) or outside_reason_cache.setdefault(
                zipcode,
                gettext(
                    "ZIP code %(zipcode)s is outside the liaison's neighborhood (%(neighborhood)s).",
                    zipcode=zipcode,
                    neighborhood=area.home_name,
                ),
            )
            needs_review += 1
        flag = report.flag_for(row.id)
        duplicate_of = flag.duplicate_of_id if flag is not None else None
        if duplicate_of is not None:
            duplicates_kept += 1
        parameters.append(
            {
                **{name: cleaned.get(name) for name in _CLEANED_FIELDS},
                "public_token": secrets.token_urlsafe(16),
                "batch_id": batch.id,
                "batch_position": row.position,
                "liaison_id": liaison.id,
                "neighborhood": area.neighborhood_of_zip.get(zipcode) or batch.neighborhood or area.home_name,
                "state": RequestState.SUBMITTED.value,
                "status_note": "",
                "needs_review": bool(reason),
                "review_reason": reason,
                "duplicate_of_id": duplicate_of,
                "external_id": "",
                "requested_at": now,
                "updated_at": now,
                "closed_at": None,
            }
        )
    _bulk_insert(ServiceRequest.__table__, parameters)
    request_ids = db.session.scalars(select(ServiceRequest.id).where(ServiceRequest.batch_id == batch.id)).all()
    _bulk_insert(
        RequestEvent.__table__,
        [
            {
                "request_id": request_id,
                "occurred_at": now,
                "actor_id": liaison.id,
                "kind": "filed",
                "from_state": None,
                "to_state": RequestState.SUBMITTED.value,
                "note": "",
            }
            for request_id in request_ids
        ],
    )
    return _Filed(filed=len(parameters), needs_review=needs_review, duplicates_kept=duplicates_kept)


def timed_submit(liaison_id: int, batch_id: int, *, idempotency_key: str | None = None) -> dict[str, Any]:
    """Submit and commit a batch as the web does, timing each phase (for benchmarks and checks).

    Returns {"filed": n, "phases_ms": {...}, "commit_ms": x, "total_ms": y}. Needs an app context.
    """
    liaison = db.session.get(User, liaison_id)
    batch = db.session.get(RequestBatch, batch_id)
    if liaison is None or batch is None:
        raise NotFound(_l("There is no such batch."))
    timings = Timings()
    started = time.perf_counter()
    result = submit_batch(
        liaison,
        batch_id,
        idempotency_key=idempotency_key or secrets.token_hex(16),
        revision=batch.revision,
        timings=timings,
    )
    db.session.commit()
    timings.mark("commit")
    return {
        "filed": result.filed,
        "phases_ms": dict(timings.phases),
        "total_ms": round((time.perf_counter() - started) * 1000, 1),
    }


# The review page ------------------------------------------------------------------------------


@dataclass
class Review:
    """What the review page shows: the duplicate report and what a submit would do now."""

    batch: RequestBatch
    report: DuplicateReport
    total: int
    dropped: int
    need_fixing: int
    service_names: dict[int, str]

    @property
    def to_file(self) -> int:
        return self.total - self.dropped

    @property
    def ready(self) -> bool:
        return self.to_file > 0 and self.need_fixing == 0


def review_batch(liaison: User, batch: RequestBatch) -> Review:
    """Check every row as a submit would and report duplicates (a fixed number of queries)."""
    if batch.liaison_id != liaison.id:
        raise NotFound(_l("There is no such batch."))
    with _without_gc_pauses():
        catalog = load_catalog()
        rows = db.session.execute(
            select(BatchRow.id, BatchRow.position, BatchRow.values, BatchRow.duplicate_decision)
            .where(BatchRow.batch_id == batch.id)
            .order_by(BatchRow.position)
        ).all()
        report = find_duplicates(batch, catalog, rows=rows)
        dropped = report.dropped_row_ids
        need_fixing = sum(1 for row in rows if row.id not in dropped and validate_row(row.values or {}, catalog).errors)
    names = {service_type.id: localized(service_type.name) for service_type in catalog.types}
    return Review(
        batch=batch,
        report=report,
        total=len(rows),
        dropped=len(dropped),
        need_fixing=need_fixing,
        service_names=names,
    )
