"""A certified liaison's request batches: start one, keep its rows as typed, see what was filed.

Rows are stored exactly as typed (strings) with the problems `validation.validate_row` finds,
so a draft never loses anything. Every change to a draft's rows takes the batch row lock, bumps
`revision` (a submit names the revision the liaison reviewed) and keeps `row_count` equal to the
number of rows, numbered 1..n by `position`. Services never commit; the view does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Text, and_, case, cast, delete, func, select, update
from sqlalchemy.orm import joinedload

from liaison.auth.models import Role, User
from liaison.certificates.services import filing_gate
from liaison.enrollment.services import active_membership
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.models import (
    ROW_FIELDS,
    BatchRow,
    BatchStatus,
    Neighborhood,
    RequestBatch,
    RequestState,
    ServiceRequest,
)
from liaison.service_requests.validation import Catalog, load_catalog, validate_row

logger = logging.getLogger(__name__)

# The grid shows this many rows per page (uploads can bring thousands).
GRID_PER_PAGE = 100
LIST_PER_PAGE = 25
FILED_PER_PAGE = 50
TITLE_MAX_LENGTH = 200

# A row holds errors as {} when it has none; older writers may have left SQL or JSON null.
_HAS_PROBLEMS = and_(BatchRow.errors.is_not(None), cast(BatchRow.errors, Text).not_in(["{}", "null"]))


@dataclass
class BatchInput:
    """What a liaison enters to start a batch or change its details."""

    title: str
    meeting_date: date | None = None
    # Empty: the liaison's cohort neighborhood.
    neighborhood: str = ""


@dataclass(frozen=True)
class BatchSummary:
    """How many rows a batch has and how many still need fixing."""

    rows: int
    with_problems: int

    @property
    def valid(self) -> int:
        return self.rows - self.with_problems


# Neighborhoods ----------------------------------------------------------------------------------


def home_neighborhood(liaison: User) -> str:
    """The neighborhood of the liaison's active cohort ("" when none)."""
    membership = active_membership(liaison.id)
    return membership.cohort.neighborhood if membership is not None else ""


def neighborhood_choices(liaison: User, current: str = "") -> list[str]:
    """The neighborhoods a batch may name: the known ones, the liaison's own and the current one."""
    names = list(db.session.scalars(select(Neighborhood.name).order_by(Neighborhood.name)))
    for extra in (home_neighborhood(liaison), current):
        if extra and extra not in names:
            names.append(extra)
    return names


# Batches ----------------------------------------------------------------------------------------


def _apply_details(liaison: User, batch: RequestBatch, data: BatchInput) -> None:
    title = " ".join((data.title or "").replace("\x00", "").split())
    if not title:
        raise ValidationFailed(_l("Give the batch a title, like the meeting's name."), field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationFailed(_l("The title can be at most 200 characters."), field="title")
    if data.meeting_date is not None and not 2000 <= data.meeting_date.year <= 2100:
        raise ValidationFailed(_l("Enter a date between 2000 and 2100."), field="meeting_date")
    neighborhood = (data.neighborhood or "").strip() or home_neighborhood(liaison)
    if neighborhood and neighborhood not in neighborhood_choices(liaison, batch.neighborhood or ""):
        raise ValidationFailed(_l("Choose a neighborhood from the list."), field="neighborhood")
    batch.title = title
    batch.meeting_date = data.meeting_date
    batch.neighborhood = neighborhood


def start_batch(liaison: User, data: BatchInput) -> RequestBatch:
    """Open a draft batch for a certified liaison (the filing gate must allow it)."""
    decision = filing_gate(liaison)
    if not decision.allowed:
        raise NotAllowed(decision.reason)
    batch = RequestBatch(liaison_id=liaison.id, status=BatchStatus.DRAFT, revision=0, row_count=0)
    _apply_details(liaison, batch, data)
    db.session.add(batch)
    db.session.flush()
    logger.info("batch %s started by user %s", batch.id, liaison.id)
    return batch


def update_batch_details(liaison: User, batch: RequestBatch, data: BatchInput) -> RequestBatch:
    """Change a draft batch's title, meeting date or neighborhood."""
    _require_own(liaison, batch)
    ensure_draft(batch)
    _apply_details(liaison, batch, data)
    db.session.flush()
    return batch


def delete_batch(liaison: User, batch: RequestBatch) -> None:
    """Delete one of the liaison's draft batches and all its rows."""
    batch = get_own_batch(liaison, batch.id, for_update=True)
    ensure_draft(batch)
    batch_id = batch.id
    db.session.execute(delete(BatchRow).where(BatchRow.batch_id == batch_id))
    db.session.execute(delete(RequestBatch).where(RequestBatch.id == batch_id))
    db.session.expunge(batch)
    logger.info("draft batch %s deleted by user %s", batch_id, liaison.id)


def get_own_batch(liaison: User, batch_id: int, *, for_update: bool = False) -> RequestBatch:
    """The liaison's batch; another liaison's batch is a 404 like a missing one."""
    query = select(RequestBatch).where(RequestBatch.id == batch_id, RequestBatch.liaison_id == liaison.id)
    if for_update:
        # Serialises row changes with each other and with a submit of the same batch (PostgreSQL).
        query = query.with_for_update().execution_options(populate_existing=True)
    batch = db.session.scalar(query)
    if batch is None:
        raise NotFound(_l("There is no such batch."))
    return batch


def read_batch(viewer: User, batch_id: int) -> RequestBatch:
    """A batch for reading: coordinators may read any, a liaison only their own."""
    if viewer.role is Role.COORDINATOR:
        batch = db.session.get(RequestBatch, batch_id)
        if batch is None:
            raise NotFound(_l("There is no such batch."))
        return batch
    return get_own_batch(viewer, batch_id)


def list_batches(liaison: User, page: int = 1) -> Pagination:
    """The liaison's batches, newest first, one page (two queries)."""
    query = (
        select(RequestBatch)
        .where(RequestBatch.liaison_id == liaison.id)
        .order_by(RequestBatch.created_at.desc(), RequestBatch.id.desc())
    )
    return db.paginate(query, page=max(page, 1), per_page=LIST_PER_PAGE, error_out=False)


def _require_own(liaison: User, batch: RequestBatch) -> None:
    if batch.liaison_id != liaison.id:
        raise NotFound(_l("There is no such batch."))


def ensure_draft(batch: RequestBatch) -> None:
    """Refuse (409) any change to a batch that has been submitted."""
    if batch.status is not BatchStatus.DRAFT:
        raise Conflict(_l("This batch has been submitted, so it can no longer be changed."))


def _locked_draft(liaison: User, batch: RequestBatch) -> RequestBatch:
    _require_own(liaison, batch)
    locked = get_own_batch(liaison, batch.id, for_update=True)
    ensure_draft(locked)
    return locked


def _changed(batch: RequestBatch) -> None:
    batch.revision = (batch.revision or 0) + 1


# Rows -------------------------------------------------------------------------------------------


def get_row(batch: RequestBatch, row_id: int) -> BatchRow:
    """A row of this batch; a row of any other batch is a 404."""
    row = db.session.scalar(select(BatchRow).where(BatchRow.id == row_id, BatchRow.batch_id == batch.id))
    if row is None:
        raise NotFound(_l("There is no such row in this batch."))
    return row


def merge_values(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The row's values with what was just typed on top; fields not sent are kept as they were.

    Attribute answers are merged by code, so answers for another service (or from an upload)
    are kept until the liaison changes them.
    """
    merged: dict[str, Any] = dict(old or {})
    for name in ROW_FIELDS:
        if name in new:
            merged[name] = _typed(new[name])
    if "attributes" in new:
        attributes = dict(merged.get("attributes") or {})
        for code, answer in (new["attributes"] or {}).items():
            attributes[str(code)] = [_typed(item) for item in answer] if isinstance(answer, list) else _typed(answer)
        merged["attributes"] = attributes
    return merged


def _typed(value: Any) -> str:
    # Stored as typed; NUL is the one character no person types and PostgreSQL cannot keep.
    return ("" if value is None else str(value)).replace("\x00", "")


def _check(row: BatchRow, catalog: Catalog) -> None:
    row.errors = dict(validate_row(row.values or {}, catalog).errors)


def add_row(
    liaison: User, batch: RequestBatch, values: Mapping[str, Any] | None = None, *, catalog: Catalog | None = None
) -> BatchRow:
    """Append a row (blank unless `values` are given) at the end of a draft batch."""
    batch = _locked_draft(liaison, batch)
    limit = current_app.config["BULK_MAX_ROWS"]
    if batch.row_count >= limit:
        raise Conflict(
            ngettext(
                "A batch holds at most %(num)d row. Start another batch for the rest.",
                "A batch holds at most %(num)d rows. Start another batch for the rest.",
                limit,
            )
        )
    row = BatchRow(batch_id=batch.id, position=batch.row_count + 1, values=merge_values({}, values or {}))
    _check(row, catalog or load_catalog())
    db.session.add(row)
    batch.row_count += 1
    _changed(batch)
    db.session.flush()
    return row


def save_row(
    liaison: User,
    batch: RequestBatch,
    row_id: int,
    values: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
) -> BatchRow:
    """Store what was typed in one row, as typed, with the problems found in it."""
    batch = _locked_draft(liaison, batch)
    row = get_row(batch, row_id)
    row.values = merge_values(row.values, values)
    _check(row, catalog or load_catalog())
    _changed(batch)
    db.session.flush()
    return row


def save_rows(
    liaison: User,
    batch: RequestBatch,
    rows: Mapping[int, Mapping[str, Any]],
    *,
    catalog: Catalog | None = None,
) -> list[BatchRow]:
    """Store many rows at once (the grid sent as one form), in position order."""
    batch = _locked_draft(liaison, batch)
    if not rows:
        return []
    ids = list(rows)
    stored = list(
        db.session.scalars(
            select(BatchRow).where(BatchRow.batch_id == batch.id, BatchRow.id.in_(ids)).order_by(BatchRow.position)
        )
    )
    if len(stored) != len(set(ids)):
        raise NotFound(_l("There is no such row in this batch."))
    catalog = catalog or load_catalog()
    for row in stored:
        row.values = merge_values(row.values, rows[row.id])
        _check(row, catalog)
    _changed(batch)
    db.session.flush()
    return stored


def delete_row(liaison: User, batch: RequestBatch, row_id: int) -> int:
    """Remove a row from a draft batch and renumber the rows after it; returns its position."""
    batch = _locked_draft(liaison, batch)
    row = get_row(batch, row_id)
    position = row.position
    db.session.delete(row)
    db.session.flush()
    # Two steps through negative numbers: (batch_id, position) is unique at every moment.
    db.session.execute(
        update(BatchRow)
        .where(BatchRow.batch_id == batch.id, BatchRow.position > position)
        .values(position=-(BatchRow.position - 1))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(BatchRow)
        .where(BatchRow.batch_id == batch.id, BatchRow.position < 0)
        .values(position=-BatchRow.position)
        .execution_options(synchronize_session=False)
    )
    for held in list(db.session.identity_map.values()):
        if isinstance(held, BatchRow) and held.batch_id == batch.id:
            db.session.expire(held, ["position"])
    batch.row_count = max(0, batch.row_count - 1)
    _changed(batch)
    db.session.flush()
    return position


def batch_rows(batch: RequestBatch, page: int = 1, *, problems_only: bool = False) -> Pagination:
    """One page of the batch's rows in order, optionally only those that need fixing (two queries)."""
    query = select(BatchRow).where(BatchRow.batch_id == batch.id)
    if problems_only:
        query = query.where(_HAS_PROBLEMS)
    query = query.order_by(BatchRow.position)
    return db.paginate(query, page=max(page, 1), per_page=GRID_PER_PAGE, error_out=False)


def rows_at(batch: RequestBatch, row_ids: list[int], after_position: int) -> list[tuple[int, int]]:
    """(id, position) of the given rows of the batch that come after a position (one query)."""
    if not row_ids:
        return []
    return [
        (row_id, position)
        for row_id, position in db.session.execute(
            select(BatchRow.id, BatchRow.position)
            .where(BatchRow.batch_id == batch.id, BatchRow.id.in_(row_ids), BatchRow.position > after_position)
            .order_by(BatchRow.position)
        )
    ]


def page_of_position(position: int) -> int:
    """The grid page a row at `position` is on."""
    return max(1, math.ceil(position / GRID_PER_PAGE))


def batch_summary(batch: RequestBatch) -> BatchSummary:
    """Rows in the batch and how many need fixing (one query)."""
    rows, with_problems = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((_HAS_PROBLEMS, 1), else_=0)), 0)).where(
            BatchRow.batch_id == batch.id
        )
    ).one()
    return BatchSummary(rows=int(rows), with_problems=int(with_problems))


def is_blank(values: Mapping[str, Any] | None) -> bool:
    """True when nothing has been typed in the row yet (consent "no" counts as nothing)."""
    if not values:
        return True
    for name in ROW_FIELDS:
        text = str(values.get(name) or "").strip()
        if text and not (name == "contact_consent" and text.lower() == "no"):
            return False
    for answer in (values.get("attributes") or {}).values():
        items = answer if isinstance(answer, list) else [answer]
        if any(str(item or "").strip() for item in items):
            return False
    return True


# What a submitted batch filed -------------------------------------------------------------------


def filed_requests(batch: RequestBatch, page: int = 1) -> Pagination:
    """One page of the requests a submitted batch filed, in row order, with their service (two queries)."""
    query = (
        select(ServiceRequest)
        .where(ServiceRequest.batch_id == batch.id)
        .options(joinedload(ServiceRequest.service_type))
        .order_by(ServiceRequest.batch_position, ServiceRequest.id)
    )
    return db.paginate(query, page=max(page, 1), per_page=FILED_PER_PAGE, error_out=False)


def filed_states(batch: RequestBatch) -> dict[RequestState, int]:
    """How many of the batch's requests are in each state (one query)."""
    counts = db.session.execute(
        select(ServiceRequest.state, func.count())
        .where(ServiceRequest.batch_id == batch.id)
        .group_by(ServiceRequest.state)
    )
    return {RequestState(state): int(count) for state, count in counts}


def needs_review_count(batch: RequestBatch) -> int:
    """How many of the batch's requests were flagged for a coordinator's review (one query)."""
    return int(
        db.session.scalar(
            select(func.count()).where(ServiceRequest.batch_id == batch.id, ServiceRequest.needs_review.is_(True))
        )
        or 0
    )
