"""How long neighbors' personal data is kept (SECURITY.md: data retention; `flask liaison purge-expired`).

- A closed or rejected request keeps its neighbor's name, phone and email for
  `REQUEST_RETENTION_DAYS` after it was closed, then loses them (the request itself, its place,
  description and history stay: the program's numbers do not change).
- The rows of a submitted batch are copies made for the submit; once the batch has been filed
  for `SUBMITTED_ROWS_RETENTION_DAYS` they are deleted (the requests hold what was filed).
- A draft batch nobody has touched for `DRAFT_RETENTION_DAYS` is deleted with its rows.

Each step is one UPDATE or DELETE, whatever the number of records; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch, RequestState, ServiceRequest


@dataclass(frozen=True)
class Purged:
    """How many records lost personal data or were deleted."""

    requests_anonymised: int
    submitted_rows_deleted: int
    drafts_deleted: int


def purge_personal_data(now: datetime | None = None) -> Purged:
    """Apply the retention periods above (safe to run from cron; running it twice changes nothing more)."""
    now = now or utcnow()
    config = current_app.config
    closed_before = now - timedelta(days=config["REQUEST_RETENTION_DAYS"])
    anonymised = db.session.execute(
        update(ServiceRequest)
        .where(
            ServiceRequest.state.in_([RequestState.CLOSED, RequestState.REJECTED]),
            ServiceRequest.closed_at < closed_before,
            (ServiceRequest.neighbor_first_name != "")
            | (ServiceRequest.neighbor_last_name != "")
            | (ServiceRequest.neighbor_phone != "")
            | (ServiceRequest.neighbor_email != ""),
        )
        .values(neighbor_first_name="", neighbor_last_name="", neighbor_phone="", neighbor_email="")
        .execution_options(synchronize_session=False)
    ).rowcount

    submitted_before = now - timedelta(days=config["SUBMITTED_ROWS_RETENTION_DAYS"])
    filed_batches = select(RequestBatch.id).where(
        RequestBatch.status == BatchStatus.SUBMITTED, RequestBatch.submitted_at < submitted_before
    )
    rows_deleted = db.session.execute(
        delete(BatchRow).where(BatchRow.batch_id.in_(filed_batches)).execution_options(synchronize_session=False)
    ).rowcount

    untouched_before = now - timedelta(days=config["DRAFT_RETENTION_DAYS"])
    stale_drafts = select(RequestBatch.id).where(
        RequestBatch.status == BatchStatus.DRAFT, RequestBatch.updated_at < untouched_before
    )
    stale_ids = list(db.session.scalars(stale_drafts))
    drafts_deleted = 0
    if stale_ids:
        db.session.execute(
            delete(BatchRow).where(BatchRow.batch_id.in_(stale_ids)).execution_options(synchronize_session=False)
        )
        drafts_deleted = db.session.execute(
            delete(RequestBatch).where(RequestBatch.id.in_(stale_ids)).execution_options(synchronize_session=False)
        ).rowcount
    return Purged(anonymised, rows_deleted, drafts_deleted)
