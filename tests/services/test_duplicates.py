"""Possible duplicates in a draft batch: repeated rows, open requests at the same address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liaison.db_types import utcnow
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.duplicates import find_duplicates, set_duplicate_decision
from liaison.service_requests.models import (
    BatchRow,
    BatchStatus,
    DuplicateDecision,
    RequestBatch,
    RequestState,
)
from tests import factories


def row(code: str = "SR-PH", address: str = "1200 Cedar Ave", **extra: str) -> dict[str, str]:
    values = {"service_code": code, "address": address, "zipcode": "19143", "description": "Pothole by the school"}
    values.update(extra)
    return values


@pytest.fixture
def liaison(app_ctx):
    return factories.make_certified_liaison()


@pytest.fixture
def pothole(app_ctx):
    return factories.make_service_type("SR-PH", name="Pothole")


@pytest.fixture
def graffiti(app_ctx):
    return factories.make_service_type("SR-GR", name="Graffiti")


def positions(rows) -> list[int]:
    return [r.position for r in rows]


def test_rows_asking_for_the_same_service_at_the_same_address_are_grouped(liaison, pothole, graffiti):
    batch = factories.make_batch(
        liaison,
        rows=[
            row(address="1200 Cedar Avenue"),
            row(code="SR-GR", address="1200 Cedar Ave"),
            row(address="1200 cedar ave."),
            row(address="55 Spruce St"),
            row(code="pothole", address="1200 CEDAR AVE"),
        ],
    )
    report = find_duplicates(batch)
    assert [positions(group) for group in report.groups] == [[1, 3, 5]]
    assert sorted(r.position for r in (flag.row for flag in report.flagged)) == [1, 3, 5]
    first = report.flag_for(batch.rows[0].id)
    assert positions(first.repeats) == [3, 5]
    assert first.matches == []


def test_a_row_matching_an_open_request_shows_its_id_status_and_age(liaison, pothole):
    now = utcnow()
    older = factories.make_service_request(
        liaison, pothole, normalized_address="1200 cedar ave", requested_at=now - timedelta(days=12)
    )
    newer = factories.make_service_request(
        liaison,
        pothole,
        normalized_address="1200 cedar ave",
        requested_at=now - timedelta(days=3),
        state=RequestState.IN_PROGRESS,
    )
    batch = factories.make_batch(liaison, rows=[row(address="1200 Cedar Avenue"), row(address="9 Elm St")])
    report = find_duplicates(batch, now=now)
    flag = report.flag_for(batch.rows[0].id)
    assert [(m.request_id, m.state, m.age_days) for m in flag.matches] == [
        (newer.id, RequestState.IN_PROGRESS, 3),
        (older.id, RequestState.SUBMITTED, 12),
    ]
    assert flag.duplicate_of_id == newer.id
    assert report.flag_for(batch.rows[1].id) is None
    assert report.groups == []


def test_closed_old_and_other_service_requests_are_not_matched(app, liaison, pothole, graffiti):
    now = utcnow()
    window = app.config["DUPLICATE_WINDOW_DAYS"]
    for state in (RequestState.CLOSED, RequestState.REJECTED):
        factories.make_service_request(liaison, pothole, normalized_address="1200 cedar ave", state=state)
    factories.make_service_request(
        liaison, pothole, normalized_address="1200 cedar ave", requested_at=now - timedelta(days=window, hours=1)
    )
    factories.make_service_request(liaison, graffiti, normalized_address="1200 cedar ave")
    factories.make_service_request(liaison, pothole, normalized_address="1201 cedar ave")
    batch = factories.make_batch(liaison, rows=[row()])
    assert find_duplicates(batch, now=now).flags == {}


def test_a_request_just_inside_the_window_is_matched(app, liaison, pothole):
    now = utcnow()
    window = app.config["DUPLICATE_WINDOW_DAYS"]
    match = factories.make_service_request(
        liaison, pothole, normalized_address="1200 cedar ave", requested_at=now - timedelta(days=window - 1)
    )
    batch = factories.make_batch(liaison, rows=[row()])
    assert find_duplicates(batch, now=now).flag_for(batch.rows[0].id).duplicate_of_id == match.id


def test_rows_without_a_known_service_or_an_address_are_never_flagged(liaison, pothole):
    batch = factories.make_batch(
        liaison, rows=[row(code="SR-NOPE"), row(code="SR-NOPE"), row(address=""), row(address="  ")]
    )
    assert find_duplicates(batch).flags == {}


def test_the_check_runs_the_same_number_of_queries_for_10_or_500_rows(app, liaison, pothole, count_queries):
    for index in range(20):
        factories.make_service_request(liaison, pothole, normalized_address=f"{index} cedar ave")
    small = factories.make_batch(liaison, rows=[row(address=f"{i} Cedar Ave") for i in range(10)])
    large = factories.make_batch(liaison, rows=[row(address=f"{i % 250} Cedar Ave") for i in range(500)])
    counts = []
    for batch_id in (small.id, large.id):
        db.session.expunge_all()
        batch = db.session.get(RequestBatch, batch_id)
        with count_queries() as queries:
            report = find_duplicates(batch)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4
    assert len(report.flags) == 500
    assert len(report.groups) == 250


def test_dropping_a_flagged_row_is_stored_and_counts_as_a_change(liaison, pothole):
    batch = factories.make_batch(liaison, rows=[row(), row()])
    revision = batch.revision
    flag, report = set_duplicate_decision(liaison, batch, batch.rows[1].id, "drop")
    db.session.commit()
    assert db.session.get(BatchRow, batch.rows[1].id).duplicate_decision == DuplicateDecision.DROP
    assert batch.revision == revision + 1
    assert report.dropped_row_ids == {batch.rows[1].id}
    assert flag.dropped


def test_a_row_that_is_not_a_possible_duplicate_takes_no_decision(liaison, pothole):
    batch = factories.make_batch(liaison, rows=[row(), row(address="9 Elm St")])
    with pytest.raises(ValidationFailed):
        set_duplicate_decision(liaison, batch, batch.rows[1].id, "drop")
    assert db.session.get(BatchRow, batch.rows[1].id).duplicate_decision is None


def test_a_decision_must_be_keep_or_drop(liaison, pothole):
    batch = factories.make_batch(liaison, rows=[row(), row()])
    with pytest.raises(ValidationFailed):
        set_duplicate_decision(liaison, batch, batch.rows[0].id, "maybe")


def test_another_liaisons_batch_or_row_is_not_found(liaison, pothole):
    other = factories.make_certified_liaison()
    theirs = factories.make_batch(other, rows=[row(), row()])
    mine = factories.make_batch(liaison, rows=[row(), row()])
    with pytest.raises(NotFound):
        set_duplicate_decision(liaison, theirs, theirs.rows[0].id, "drop")
    with pytest.raises(NotFound):
        set_duplicate_decision(liaison, mine, theirs.rows[0].id, "drop")
    assert db.session.get(BatchRow, theirs.rows[0].id).duplicate_decision is None


def test_a_submitted_batch_takes_no_more_decisions(liaison, pothole):
    batch = factories.make_batch(liaison, rows=[row(), row()])
    batch.status = BatchStatus.SUBMITTED
    db.session.commit()
    with pytest.raises(Conflict):
        set_duplicate_decision(liaison, batch, batch.rows[0].id, "keep")
