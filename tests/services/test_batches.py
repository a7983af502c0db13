"""Batches and their rows: started behind the filing gate, rows kept as typed, numbered 1..n."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from liaison.auth.models import Role
from liaison.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests import batches
from liaison.service_requests.batches import BatchInput
from liaison.service_requests.models import (
    AttributeDatatype,
    BatchRow,
    BatchStatus,
    Neighborhood,
    RequestBatch,
    RequestState,
)
from tests import factories

VALID = {
    "service_code": "SR-ST01",
    "address": "1200 Cedar Ave",
    "zipcode": "19143",
    "description": "Pothole in front of the school",
}


@pytest.fixture
def liaison(app_ctx):
    return factories.make_certified_liaison(neighborhood="Cedar Park")


@pytest.fixture
def street_defect(app_ctx):
    return factories.make_service_type(
        "SR-ST01",
        name="Street Defect",
        attributes=[
            {"code": "depth", "datatype": AttributeDatatype.NUMBER, "required": True},
            {
                "code": "lanes",
                "datatype": AttributeDatatype.MULTIVALUELIST,
                "values": [{"key": "left", "name": {"en": "Left"}}, {"key": "right", "name": {"en": "Right"}}],
            },
        ],
    )


def _positions(batch):
    return list(
        db.session.execute(
            select(BatchRow.position, BatchRow.values["address"].as_string())
            .where(BatchRow.batch_id == batch.id)
            .order_by(BatchRow.position)
        )
    )


# Starting a batch --------------------------------------------------------------------------------


def test_a_certified_liaison_starts_a_batch_in_their_cohort_neighborhood(liaison):
    batch = batches.start_batch(
        liaison, BatchInput(title="  Cedar Park   civic meeting ", meeting_date=date(2026, 3, 5))
    )
    db.session.commit()
    assert batch.title == "Cedar Park civic meeting"
    assert batch.neighborhood == "Cedar Park"
    assert batch.status is BatchStatus.DRAFT
    assert (batch.row_count, batch.revision) == (0, 0)
    assert batch.liaison_id == liaison.id


def test_a_liaison_who_is_not_certified_is_refused_with_the_reason(app_ctx):
    not_certified = factories.make_user(Role.LIAISON)
    with pytest.raises(NotAllowed) as refused:
        batches.start_batch(not_certified, BatchInput(title="March meeting"))
    assert "not in an active cohort" in str(refused.value.message)
    assert db.session.scalar(select(RequestBatch.id)) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (BatchInput(title="   "), "title"),
        (BatchInput(title="x" * 201), "title"),
        (BatchInput(title="March", meeting_date=date(1900, 1, 1)), "meeting_date"),
        (BatchInput(title="March", neighborhood="Somewhere else"), "neighborhood"),
    ],
)
def test_a_batch_needs_a_title_a_sensible_date_and_a_known_neighborhood(liaison, data, field):
    with pytest.raises(ValidationFailed) as refused:
        batches.start_batch(liaison, data)
    assert refused.value.field == field


def test_a_batch_may_name_any_known_neighborhood(liaison):
    db.session.add(Neighborhood(name="Kingsessing", zipcodes=["19143"]))
    db.session.commit()
    assert batches.neighborhood_choices(liaison) == ["Kingsessing", "Cedar Park"]
    batch = batches.start_batch(liaison, BatchInput(title="Joint meeting", neighborhood="Kingsessing"))
    assert batch.neighborhood == "Kingsessing"


def test_details_of_a_draft_change_but_a_submitted_batch_is_left_alone(liaison):
    batch = factories.make_batch(liaison)
    batches.update_batch_details(liaison, batch, BatchInput(title="April meeting", meeting_date=date(2026, 4, 2)))
    db.session.commit()
    assert (batch.title, batch.meeting_date) == ("April meeting", date(2026, 4, 2))
    batch.status = BatchStatus.SUBMITTED
    db.session.commit()
    with pytest.raises(Conflict):
        batches.update_batch_details(liaison, batch, BatchInput(title="Changed"))


# Whose batch ------------------------------------------------------------------------------------


def test_another_liaisons_batch_is_not_found_but_a_coordinator_may_read_it(liaison, make_user):
    other = factories.make_certified_liaison()
    batch = factories.make_batch(other)
    with pytest.raises(NotFound):
        batches.get_own_batch(liaison, batch.id)
    with pytest.raises(NotFound):
        batches.read_batch(liaison, batch.id)
    coordinator = factories.make_user(Role.COORDINATOR)
    assert batches.read_batch(coordinator, batch.id).id == batch.id
    assert batches.read_batch(other, batch.id).id == batch.id


def test_another_liaison_cannot_change_a_batch_they_hold_an_object_of(liaison, street_defect):
    other = factories.make_certified_liaison()
    batch = factories.make_batch(other, rows=[dict(VALID)])
    row_id = batch.rows[0].id
    with pytest.raises(NotFound):
        batches.save_row(liaison, batch, row_id, {"address": "9 Elsewhere St"})
    with pytest.raises(NotFound):
        batches.delete_row(liaison, batch, row_id)
    with pytest.raises(NotFound):
        batches.add_row(liaison, batch)
    db.session.rollback()
    assert db.session.get(BatchRow, row_id).values["address"] == "1200 Cedar Ave"
    assert db.session.get(RequestBatch, batch.id).revision == 0


def test_a_row_of_another_batch_is_not_found_and_nothing_changes(liaison, street_defect):
    mine = factories.make_batch(liaison, rows=[dict(VALID)])
    other = factories.make_batch(liaison, title="Other", rows=[dict(VALID)])
    foreign_row = other.rows[0].id
    with pytest.raises(NotFound):
        batches.save_row(liaison, mine, foreign_row, {"address": "Changed"})
    with pytest.raises(NotFound):
        batches.save_rows(liaison, mine, {mine.rows[0].id: {"address": "Changed"}, foreign_row: {"address": "X"}})
    db.session.rollback()
    assert db.session.get(BatchRow, foreign_row).values["address"] == "1200 Cedar Ave"
    assert db.session.get(BatchRow, mine.rows[0].id).values["address"] == "1200 Cedar Ave"


# Rows ---------------------------------------------------------------------------------------------


def test_a_row_is_stored_exactly_as_typed_with_the_problems_found(liaison, street_defect):
    batch = factories.make_batch(liaison)
    row = batches.add_row(liaison, batch)
    typed = {"service_code": "SR-ST01", "address": "  1200 cedar ave.  ", "zipcode": "1914", "description": "Hole"}
    saved = batches.save_row(liaison, batch, row.id, typed)
    db.session.commit()
    assert saved.values["address"] == "  1200 cedar ave.  "
    assert saved.values["zipcode"] == "1914"
    assert set(saved.errors) == {"zipcode", "attribute:depth"}
    assert "5-digit ZIP code" in saved.errors["zipcode"]
    fixed = batches.save_row(liaison, batch, row.id, {"zipcode": "19143", "attributes": {"depth": "4"}})
    assert fixed.errors == {}
    assert fixed.values["address"] == "  1200 cedar ave.  "


def test_a_blank_row_is_added_at_the_end_and_counts_as_needing_fixing(liaison, street_defect):
    batch = factories.make_batch(liaison, rows=[dict(VALID, attributes={"depth": "2"})])
    row = batches.add_row(liaison, batch)
    db.session.commit()
    assert row.position == 2
    assert batch.row_count == 2
    assert "service_code" in row.errors
    assert batches.batch_summary(batch) == batches.BatchSummary(rows=2, with_problems=1)


def test_every_row_change_bumps_the_revision(liaison, street_defect):
    batch = factories.make_batch(liaison)
    revisions = [batch.revision]
    row = batches.add_row(liaison, batch)
    revisions.append(batch.revision)
    batches.save_row(liaison, batch, row.id, dict(VALID))
    revisions.append(batch.revision)
    batches.save_rows(liaison, batch, {row.id: {"description": "Deep hole"}})
    revisions.append(batch.revision)
    batches.delete_row(liaison, batch, row.id)
    revisions.append(batch.revision)
    db.session.commit()
    assert revisions == [0, 1, 2, 3, 4]
    assert db.session.get(RequestBatch, batch.id).revision == 4


def test_removing_a_row_renumbers_the_rest_one_to_n(liaison, street_defect):
    rows = [dict(VALID, address=f"{number} Cedar Ave") for number in range(1, 6)]
    batch = factories.make_batch(liaison, rows=rows)
    third = batch.rows[2].id
    position = batches.delete_row(liaison, batch, third)
    db.session.commit()
    assert position == 3
    assert _positions(batch) == [(1, "1 Cedar Ave"), (2, "2 Cedar Ave"), (3, "4 Cedar Ave"), (4, "5 Cedar Ave")]
    assert db.session.get(RequestBatch, batch.id).row_count == 4
    assert db.session.get(BatchRow, third) is None
    batches.delete_row(liaison, batch, batch.rows[0].id)
    db.session.commit()
    assert [position for position, _address in _positions(batch)] == [1, 2, 3]


def test_the_rows_of_a_submitted_batch_cannot_change(liaison, street_defect):
    batch = factories.make_batch(liaison, rows=[dict(VALID)])
    row_id = batch.rows[0].id
    batch.status = BatchStatus.SUBMITTED
    db.session.commit()
    for change in (
        lambda: batches.add_row(liaison, batch),
        lambda: batches.save_row(liaison, batch, row_id, {"address": "X"}),
        lambda: batches.save_rows(liaison, batch, {row_id: {"address": "X"}}),
        lambda: batches.delete_row(liaison, batch, row_id),
        lambda: batches.delete_batch(liaison, batch),
    ):
        with pytest.raises(Conflict):
            change()
        db.session.rollback()
    assert db.session.get(BatchRow, row_id).values["address"] == "1200 Cedar Ave"


def test_a_batch_holds_at_most_the_configured_number_of_rows(app, liaison, street_defect):
    app.config["BULK_MAX_ROWS"] = 2
    batch = factories.make_batch(liaison, rows=[dict(VALID), dict(VALID)])
    with pytest.raises(Conflict) as refused:
        batches.add_row(liaison, batch)
    assert "at most 2 rows" in str(refused.value.message)


def test_many_rows_are_saved_at_once_each_with_its_own_problems(liaison, street_defect):
    batch = factories.make_batch(liaison, rows=[{}, {}, {}])
    first, second, third = (row.id for row in batch.rows)
    saved = batches.save_rows(
        liaison,
        batch,
        {
            second: dict(VALID, attributes={"depth": "3"}),
            first: dict(VALID, neighbor_email="not an email", attributes={"depth": "3"}),
        },
    )
    db.session.commit()
    assert [row.id for row in saved] == [first, second]
    assert set(db.session.get(BatchRow, first).errors) == {"neighbor_email", "contact_consent"}
    assert db.session.get(BatchRow, second).errors == {}
    assert db.session.get(BatchRow, third).values == {}


def test_answers_for_another_service_are_kept_when_the_service_changes(liaison, street_defect):
    lights = factories.make_service_type("SR-ST04", attributes=[{"code": "pole_number", "datatype": "string"}])
    batch = factories.make_batch(liaison, rows=[{}])
    row_id = batch.rows[0].id
    batches.save_row(liaison, batch, row_id, dict(VALID, service_code=lights.code, attributes={"pole_number": "P-7"}))
    row = batches.save_row(
        liaison, batch, row_id, {"service_code": "SR-ST01", "attributes": {"depth": "2", "lanes": ["left", "right"]}}
    )
    assert row.values["attributes"] == {"pole_number": "P-7", "depth": "2", "lanes": ["left", "right"]}
    assert row.errors == {}


def test_a_nul_character_never_reaches_the_database(liaison, street_defect):
    batch = factories.make_batch(liaison, rows=[{}])
    row = batches.save_row(liaison, batch, batch.rows[0].id, dict(VALID, description="Hole\x00 here"))
    db.session.commit()
    assert db.session.get(BatchRow, row.id).values["description"] == "Hole here"


# Lists, pages and counts ---------------------------------------------------------------------


def test_the_grid_pages_rows_in_order_and_can_show_only_those_needing_fixing(liaison, street_defect):
    rows = [dict(VALID, attributes={"depth": "1"}) if number % 3 else {"address": "?"} for number in range(250)]
    batch = factories.make_batch(liaison, rows=rows)
    batches.save_rows(liaison, batch, {row.id: {} for row in batch.rows})
    db.session.commit()
    first = batches.batch_rows(batch, 1)
    assert (first.total, first.pages) == (250, 3)
    assert [row.position for row in first.items][:3] == [1, 2, 3]
    assert batches.batch_rows(batch, 3).items[-1].position == 250
    problems = batches.batch_rows(batch, 1, problems_only=True)
    assert problems.total == 84
    assert all(row.errors for row in problems.items)
    assert batches.batch_summary(batch) == batches.BatchSummary(rows=250, with_problems=84)


def test_a_liaison_lists_only_their_own_batches_newest_first(liaison):
    other = factories.make_certified_liaison()
    factories.make_batch(other, title="Not mine")
    for number in range(30):
        factories.make_batch(liaison, title=f"Meeting {number}")
    page = batches.list_batches(liaison, 1)
    assert page.total == 30
    assert len(page.items) == batches.LIST_PER_PAGE
    assert page.items[0].title == "Meeting 29"
    assert "Not mine" not in {batch.title for batch in batches.list_batches(liaison, 2).items}


def test_deleting_a_draft_removes_it_and_all_its_rows(liaison, street_defect):
    batch = factories.make_batch(liaison, rows=[dict(VALID)] * 3)
    batch_id = batch.id
    other = factories.make_certified_liaison()
    with pytest.raises(NotFound):
        batches.delete_batch(other, batch)
    db.session.rollback()
    batches.delete_batch(liaison, db.session.get(RequestBatch, batch_id))
    db.session.commit()
    assert db.session.get(RequestBatch, batch_id) is None
    assert db.session.scalar(select(BatchRow.id).where(BatchRow.batch_id == batch_id)) is None


def test_a_submitted_batch_lists_its_requests_in_row_order_with_their_state(liaison, street_defect):
    batch = factories.make_batch(liaison)
    batch.status = BatchStatus.SUBMITTED
    db.session.commit()
    for position in (3, 1, 2):
        state = RequestState.CLOSED if position == 2 else RequestState.SUBMITTED
        factories.make_service_request(liaison, street_defect, batch_id=batch.id, batch_position=position, state=state)
    factories.make_service_request(liaison, street_defect)  # not from this batch
    filed = batches.filed_requests(batch, 1)
    assert [request.batch_position for request in filed.items] == [1, 2, 3]
    assert filed.items[0].service_type.code == "SR-ST01"
    assert batches.filed_states(batch) == {RequestState.SUBMITTED: 2, RequestState.CLOSED: 1}


def test_the_grid_page_costs_the_same_queries_for_10_or_300_rows(liaison, street_defect, count_queries):
    counts = []
    for size in (10, 300):
        batch = factories.make_batch(liaison, rows=[dict(VALID)] * size)
        db.session.expire_all()
        with count_queries() as queries:
            page = batches.batch_rows(batch, 1)
            rows = [(row.position, row.values, row.errors) for row in page.items]
            batches.batch_summary(batch)
        assert len(rows) == min(size, batches.GRID_PER_PAGE)
        counts.append(len(queries))
    assert counts[0] == counts[1]
