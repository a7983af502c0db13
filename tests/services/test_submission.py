"""Submitting a batch: all or nothing, exactly once, only while the filing gate allows it."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time

import pytest
from sqlalchemy import delete, func, insert, select, update

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests.duplicates import set_duplicate_decision
from liaison.service_requests.models import (
    BatchRow,
    BatchStatus,
    Neighborhood,
    RequestBatch,
    RequestEvent,
    ServiceRequest,
)
from liaison.service_requests.submission import submit_batch, timed_submit
from tests import factories

KEY = "0f4c7b0e-8a51-4bd3-9d1e-6c1f3f0b2a11"


def row(address: str = "1200 Cedar Ave", **extra: str) -> dict[str, str]:
    values = {"service_code": "SR-PH", "address": address, "zipcode": "19143", "description": "Pothole by the school"}
    values.update(extra)
    return values


@pytest.fixture
def pothole(app_ctx):
    return factories.make_service_type("SR-PH", name="Pothole")


@pytest.fixture
def liaison(app_ctx, pothole):
    return factories.make_certified_liaison()


def requests_of(batch_id: int) -> list[ServiceRequest]:
    return list(
        db.session.scalars(
            select(ServiceRequest).where(ServiceRequest.batch_id == batch_id).order_by(ServiceRequest.batch_position)
        )
    )


def count_requests(batch_id: int) -> int:
    return db.session.scalar(select(func.count()).where(ServiceRequest.batch_id == batch_id))


def submit(liaison, batch, key=KEY, revision=None):
    return submit_batch(
        liaison, batch.id, idempotency_key=key, revision=batch.revision if revision is None else revision
    )


def big_batch(liaison: User, rows: int) -> int:
    """A committed draft batch of `rows` distinct valid rows (rows written with one Core insert)."""
    batch = factories.make_batch(liaison, title=f"{rows} rows")
    db.session.execute(
        insert(BatchRow.__table__),
        [
            {
                "batch_id": batch.id,
                "position": position,
                "values": row(f"{position} Cedar Ave", neighbor_first_name="Ana", contact_consent="yes"),
                "errors": {},
                "updated_at": batch.created_at,
            }
            for position in range(1, rows + 1)
        ],
    )
    batch.row_count = rows
    db.session.commit()
    return batch.id


def test_every_row_becomes_a_request_with_its_history(liaison):
    batch = factories.make_batch(
        liaison, rows=[row(), row("55 Spruce St", neighbor_first_name="Ana", contact_consent="yes")]
    )
    result = submit(liaison, batch)
    db.session.commit()
    assert (result.filed, result.dropped, result.replayed) == (2, 0, False)
    filed = requests_of(batch.id)
    assert [(r.batch_position, r.address, r.normalized_address) for r in filed] == [
        (1, "1200 Cedar Ave", "1200 cedar ave"),
        (2, "55 Spruce St", "55 spruce st"),
    ]
    assert filed[1].neighbor_first_name == "Ana"
    assert filed[1].contact_consent is True
    assert all(r.liaison_id == liaison.id and len(r.public_token) >= 20 for r in filed)
    assert [[(e.kind, e.to_state, e.actor_id) for e in r.events] for r in filed] == [
        [("filed", "submitted", liaison.id)]
    ] * 2
    stored = db.session.get(RequestBatch, batch.id)
    assert (stored.status, stored.idempotency_key, stored.submitted_revision) == (
        BatchStatus.SUBMITTED,
        KEY,
        batch.revision,
    )
    assert stored.submitted_at is not None


def test_the_audit_event_has_counts_and_no_personal_data(liaison):
    batch = factories.make_batch(liaison, rows=[row(neighbor_first_name="Zelda", contact_consent="yes")])
    submit(liaison, batch)
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "batch.submitted"))
    assert event.subject_id == str(batch.id)
    assert event.details["filed"] == 1
    assert "Zelda" not in repr(event.details)
    assert "Cedar" not in repr(event.details)


def test_one_invalid_row_files_nothing_and_says_how_many_need_fixing(liaison):
    batch = factories.make_batch(
        liaison, rows=[row(), row("2 Elm St", description=""), row("3 Elm St", zipcode="abc"), row("4 Elm St")]
    )
    with pytest.raises(ValidationFailed, match="2 rows need fixing"):
        submit(liaison, batch)
    db.session.rollback()
    assert count_requests(batch.id) == 0
    assert db.session.get(RequestBatch, batch.id).status == BatchStatus.DRAFT


def test_a_catalog_change_since_the_rows_were_checked_is_caught_at_submit(liaison, pothole):
    batch = factories.make_batch(liaison, rows=[row()])
    pothole.active = False
    db.session.commit()
    with pytest.raises(ValidationFailed, match="1 row needs fixing"):
        submit(liaison, batch)


def test_a_liaison_without_a_valid_certificate_is_refused_with_the_reason(app_ctx, pothole):
    uncertified = factories.make_liaison()
    batch = factories.make_batch(uncertified, rows=[row()])
    with pytest.raises(NotAllowed, match="not in an active cohort"):
        submit(uncertified, batch)
    db.session.rollback()
    assert count_requests(batch.id) == 0


def test_a_revoked_certificate_stops_the_submit(liaison):
    from liaison.certificates.models import Certificate, CertificateStatus

    batch = factories.make_batch(liaison, rows=[row()])
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == liaison.id))
    certificate.status = CertificateStatus.REVOKED
    db.session.commit()
    with pytest.raises(NotAllowed, match="revoked"):
        submit(liaison, batch)


def test_another_liaisons_batch_is_not_found(liaison):
    other = factories.make_certified_liaison()
    batch = factories.make_batch(other, rows=[row()])
    with pytest.raises(NotFound):
        submit(liaison, batch)
    with pytest.raises(NotFound):
        submit_batch(liaison, 987654, idempotency_key=KEY, revision=0)


def test_a_batch_changed_since_the_review_is_refused(liaison):
    batch = factories.make_batch(liaison, rows=[row()])
    with pytest.raises(Conflict, match="changed since you reviewed it"):
        submit(liaison, batch, revision=batch.revision + 1)
    db.session.rollback()
    assert count_requests(batch.id) == 0


def test_the_same_submit_twice_files_the_batch_once(liaison):
    batch = factories.make_batch(liaison, rows=[row(), row("2 Elm St")])
    first = submit(liaison, batch)
    db.session.commit()
    again = submit(liaison, batch, revision=first and 0)
    db.session.commit()
    assert (again.filed, again.replayed, again.same_key) == (2, True, True)
    assert count_requests(batch.id) == 2
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "batch.submitted")) == 1


def test_a_second_tab_submitting_with_another_key_files_nothing_more(liaison):
    batch = factories.make_batch(liaison, rows=[row()])
    submit(liaison, batch)
    db.session.commit()
    other_tab = submit(liaison, batch, key="a-different-key-from-another-tab")
    assert (other_tab.replayed, other_tab.same_key, other_tab.filed) == (True, False, 1)
    assert count_requests(batch.id) == 1


def test_a_key_already_used_for_another_batch_is_refused(liaison):
    first = factories.make_batch(liaison, rows=[row()])
    second = factories.make_batch(liaison, rows=[row("2 Elm St")])
    submit(liaison, first)
    db.session.commit()
    with pytest.raises(Conflict, match="another batch"):
        submit(liaison, second)
    db.session.rollback()
    assert count_requests(second.id) == 0


def test_a_malformed_key_is_refused(liaison):
    batch = factories.make_batch(liaison, rows=[row()])
    for key in ("", "short", "x" * 65, "has spaces in it"):
        with pytest.raises(ValidationFailed):
            submit(liaison, batch, key=key)


def test_dropped_duplicates_are_not_filed_and_kept_ones_point_to_the_open_request(liaison, pothole):
    existing = factories.make_service_request(liaison, pothole, normalized_address="9 elm st")
    batch = factories.make_batch(
        liaison,
        rows=[row(), row("1200 Cedar Avenue", description=""), row("9 Elm Street"), row("70 Oak St")],
    )
    # Row 2 repeats row 1 and is invalid, but dropped rows are not checked: they are not filed.
    set_duplicate_decision(liaison, batch, batch.rows[1].id, "drop")
    set_duplicate_decision(liaison, batch, batch.rows[2].id, "keep")
    db.session.commit()
    result = submit(liaison, batch)
    db.session.commit()
    assert (result.filed, result.dropped) == (3, 1)
    filed = {r.batch_position: r for r in requests_of(batch.id)}
    assert sorted(filed) == [1, 3, 4]
    assert filed[3].duplicate_of_id == existing.id
    assert filed[1].duplicate_of_id is None
    assert submit(liaison, batch).dropped == 1


def test_a_batch_whose_every_row_is_dropped_is_refused(liaison):
    batch = factories.make_batch(liaison, rows=[row(), row()])
    for batch_row in batch.rows:
        set_duplicate_decision(liaison, batch, batch_row.id, "drop")
    db.session.commit()
    with pytest.raises(ValidationFailed, match="keep at least one row"):
        submit(liaison, batch)


def test_rows_outside_the_liaisons_neighborhood_are_flagged_for_review_not_refused(liaison):
    db.session.add_all(
        [Neighborhood(name="Cedar Park", zipcodes=["19143"]), Neighborhood(name="Spruce Hill", zipcodes=["19104"])]
    )
    db.session.commit()
    batch = factories.make_batch(
        liaison,
        rows=[row(), row("2 Elm St", zipcode="19104"), row("3 Elm St", zipcode=""), row("4 Elm St", zipcode="19999")],
    )
    result = submit(liaison, batch)
    db.session.commit()
    filed = {r.batch_position: r for r in requests_of(batch.id)}
    assert result.needs_review == 2
    assert [filed[p].needs_review for p in (1, 2, 3, 4)] == [False, True, False, True]
    assert filed[2].review_reason == "ZIP code 19104 is outside the liaison's neighborhood (Cedar Park)."
    assert filed[2].neighborhood == "Spruce Hill"
    assert filed[1].neighborhood == "Cedar Park"


def test_the_batchs_neighborhood_is_used_when_the_cohorts_has_no_zip_codes(app_ctx, pothole):
    liaison = factories.make_certified_liaison(neighborhood="Unmapped Park")
    db.session.add(Neighborhood(name="Cedar Park", zipcodes=["19143"]))
    db.session.commit()
    batch = factories.make_batch(liaison, neighborhood="Cedar Park", rows=[row(), row("2 Elm St", zipcode="19104")])
    submit(liaison, batch)
    assert [r.needs_review for r in requests_of(batch.id)] == [False, True]


def test_with_no_known_zip_codes_nothing_is_flagged(liaison):
    batch = factories.make_batch(liaison, rows=[row(zipcode="19104")])
    assert submit(liaison, batch).needs_review == 0


def test_5000_rows_are_validated_and_committed_in_under_a_second(app, liaison):
    batch_id = big_batch(liaison, 5000)
    liaison_id = liaison.id
    db.session.remove()
    timing = timed_submit(liaison_id, batch_id)
    assert timing["filed"] == 5000
    assert count_requests(batch_id) == 5000
    assert db.session.scalar(select(func.count()).select_from(RequestEvent)) == 5000
    # Generous on a loaded CI machine; the benchmark reports the real figure.
    assert timing["total_ms"] < 3000, timing
    print(f"5000-row submit: {timing}")


# Crash: kill -9 in the middle of a 5,000-row submit ---------------------------------------------

CRASH_ROWS = 5000
CRASH_TRIALS = 10


def _submit_in_child(config: dict, liaison_id: int, batch_id: int, key: str, ready, writing, done) -> None:
    from liaison import create_app
    from liaison.service_requests import submission

    insert_requests = submission._insert_requests

    def announced_insert(*args, **kwargs):
        writing.set()  # the batch is claimed: from here on a kill lands inside the write
        return insert_requests(*args, **kwargs)

    submission._insert_requests = announced_insert
    app = create_app(config)
    with app.test_request_context():
        db.session.get(User, liaison_id)
        ready.set()
        timed_submit(liaison_id, batch_id, idempotency_key=key)
        done.set()
    os._exit(0)


def _reset(batch_id: int) -> None:
    db.session.execute(
        delete(RequestEvent).where(
            RequestEvent.request_id.in_(select(ServiceRequest.id).where(ServiceRequest.batch_id == batch_id))
        )
    )
    db.session.execute(delete(ServiceRequest).where(ServiceRequest.batch_id == batch_id))
    db.session.execute(
        update(RequestBatch)
        .where(RequestBatch.id == batch_id)
        .values(status=BatchStatus.DRAFT, idempotency_key=None, submitted_revision=None, submitted_at=None)
    )
    db.session.commit()


@pytest.mark.slow
def test_killing_the_server_mid_submit_never_leaves_a_partial_batch(app, app_config, liaison):
    batch_id = big_batch(liaison, CRASH_ROWS)
    liaison_id = liaison.id
    db.session.remove()
    context = multiprocessing.get_context("fork")
    randomness = random.Random(7)
    outcomes = []
    duration = None
    for trial in range(CRASH_TRIALS + 1):
        ready, writing, done = context.Event(), context.Event(), context.Event()
        child = context.Process(
            target=_submit_in_child,
            args=(app_config, liaison_id, batch_id, f"crash-trial-{trial}", ready, writing, done),
        )
        child.start()
        assert ready.wait(30), "the submitting process did not start"
        started = time.perf_counter()
        if trial == 0:
            # First a full run, to learn how long a submit takes on this machine.
            child.join(60)
            assert done.is_set()
            duration = time.perf_counter() - started
        else:
            if trial % 2:
                # Half the kills aim at the write itself: once the batch is claimed, somewhere in
                # the inserts (random times alone may all miss it on a fast or a slow machine).
                assert writing.wait(30), "the submitting process never reached the write"
                time.sleep(randomness.uniform(0.0, 0.2) * duration)
            else:
                time.sleep(randomness.uniform(0.02, 1.0) * duration)
            os.kill(child.pid, signal.SIGKILL)
            child.join(30)
        filed = count_requests(batch_id)
        events = db.session.scalar(
            select(func.count()).where(
                RequestEvent.request_id.in_(select(ServiceRequest.id).where(ServiceRequest.batch_id == batch_id))
            )
        )
        status = db.session.scalar(select(RequestBatch.status).where(RequestBatch.id == batch_id))
        outcomes.append((trial, filed, events, status, done.is_set(), writing.is_set()))
        if filed:
            _reset(batch_id)
        else:
            db.session.commit()
    partial = [
        o
        for o in outcomes
        if (o[1], o[2], o[3]) not in {(0, 0, BatchStatus.DRAFT), (5000, 5000, BatchStatus.SUBMITTED)}
    ]
    assert partial == [], outcomes
    # The kills must really land mid-submit, several of them while the requests are being written.
    interrupted = [o for o in outcomes[1:] if not o[4]]
    assert len(interrupted) >= CRASH_TRIALS // 2, outcomes
    assert sum(1 for o in interrupted if o[5]) >= 2, outcomes
    print(f"crash trials (trial, filed, events, status, finished, writing): {outcomes}")


# Concurrency: ten submits of the same batch at the same moment ----------------------------------

CONCURRENT_ROWS = 300


def _submit_concurrently(app, liaison_id: int, batch_id: int, keys: list[str]) -> list:
    barrier = threading.Barrier(len(keys))
    outcomes: list = [None] * len(keys)

    def worker(index: int) -> None:
        with app.test_request_context():
            try:
                liaison = db.session.get(User, liaison_id)
                revision = db.session.scalar(select(RequestBatch.revision).where(RequestBatch.id == batch_id))
                db.session.commit()
                barrier.wait(10)
                outcomes[index] = submit_batch(liaison, batch_id, idempotency_key=keys[index], revision=revision)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                db.session.rollback()
                outcomes[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(keys))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


@pytest.mark.slow
@pytest.mark.parametrize("same_key", [True, False], ids=["same key", "ten keys"])
def test_ten_simultaneous_submits_file_the_batch_once(app, liaison, same_key):
    batch_id = big_batch(liaison, CONCURRENT_ROWS)
    liaison_id = liaison.id
    db.session.remove()
    keys = [KEY if same_key else f"{KEY[:-2]}{index:02d}" for index in range(10)]
    outcomes = _submit_concurrently(app, liaison_id, batch_id, keys)
    assert all(not isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert sum(1 for outcome in outcomes if not outcome.replayed) == 1
    assert all(outcome.filed == CONCURRENT_ROWS for outcome in outcomes)
    assert count_requests(batch_id) == CONCURRENT_ROWS
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "batch.submitted")) == 1
    if not same_key:
        assert sum(1 for outcome in outcomes if outcome.replayed and not outcome.same_key) == 9
