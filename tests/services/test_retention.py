"""Neighbors' personal data is kept only as long as the retention settings say."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch, RequestState, ServiceRequest
from liaison.service_requests.retention import purge_personal_data
from tests import factories

NEIGHBOR = {
    "neighbor_first_name": "Ana",
    "neighbor_last_name": "Ruiz",
    "neighbor_phone": "215-555-0134",
    "neighbor_email": "ana@example.org",
    "contact_consent": True,
}


@pytest.fixture
def filer(app_ctx):
    return factories.make_certified_liaison()


@pytest.fixture
def service_type(app_ctx):
    return factories.make_service_type()


def test_a_request_closed_longer_than_the_retention_period_loses_the_neighbors_contact_details(filer, service_type):
    now = utcnow()
    old = factories.make_service_request(
        filer, service_type, state=RequestState.CLOSED, closed_at=now - timedelta(days=400), **NEIGHBOR
    )
    recent = factories.make_service_request(
        filer, service_type, state=RequestState.REJECTED, closed_at=now - timedelta(days=10), **NEIGHBOR
    )
    still_open = factories.make_service_request(filer, service_type, **NEIGHBOR)

    purged = purge_personal_data(now)
    db.session.commit()

    assert purged.requests_anonymised == 1
    db.session.expire_all()
    assert (old.neighbor_first_name, old.neighbor_phone, old.neighbor_email) == ("", "", "")
    assert old.address == "1200 Cedar Ave"  # the request itself stays
    assert old.description
    assert recent.neighbor_email == "ana@example.org"
    assert still_open.neighbor_phone == "215-555-0134"
    assert purge_personal_data(now).requests_anonymised == 0  # running it again changes nothing


def test_rows_of_a_filed_batch_go_after_a_week_and_abandoned_drafts_after_half_a_year(filer):
    now = utcnow()
    filed = factories.make_batch(filer, rows=[{"neighbor_first_name": "Ana"}, {"address": "1 Main St"}])
    filed.status = BatchStatus.SUBMITTED
    filed.submitted_at = now - timedelta(days=8)
    fresh = factories.make_batch(filer, rows=[{"neighbor_first_name": "Luis"}])
    fresh.status = BatchStatus.SUBMITTED
    fresh.submitted_at = now - timedelta(days=1)
    abandoned = factories.make_batch(filer, rows=[{"neighbor_phone": "215-555-0100"}])
    abandoned.updated_at = now - timedelta(days=200)
    working = factories.make_batch(filer, rows=[{"neighbor_phone": "215-555-0199"}])
    db.session.commit()
    filed_id, fresh_id, abandoned_id, working_id = filed.id, fresh.id, abandoned.id, working.id

    purged = purge_personal_data(now)
    db.session.commit()

    assert (purged.submitted_rows_deleted, purged.drafts_deleted) == (2, 1)

    def rows(batch_id: int) -> int:
        return db.session.scalar(select(func.count()).select_from(BatchRow).where(BatchRow.batch_id == batch_id))

    assert rows(filed_id) == 0
    assert db.session.get(RequestBatch, filed_id).row_count == 2  # the batch page still says how many were filed
    assert rows(fresh_id) == 1
    assert db.session.get(RequestBatch, abandoned_id) is None
    assert rows(working_id) == 1


def test_the_retention_periods_come_from_the_settings(app, filer, service_type):
    app.config["REQUEST_RETENTION_DAYS"] = 5
    now = utcnow()
    closed = factories.make_service_request(
        filer, service_type, state=RequestState.CLOSED, closed_at=now - timedelta(days=6), **NEIGHBOR
    )

    assert purge_personal_data(now).requests_anonymised == 1
    db.session.commit()
    assert db.session.get(ServiceRequest, closed.id).neighbor_last_name == ""


def test_the_purge_runs_the_same_few_statements_whatever_the_number_of_records(filer, service_type, count_queries):
    now = utcnow()
    for _ in range(30):
        factories.make_service_request(
            filer, service_type, state=RequestState.CLOSED, closed_at=now - timedelta(days=400), **NEIGHBOR
        )
    with count_queries() as statements:
        purge_personal_data(now)
    assert len(statements) <= 4
