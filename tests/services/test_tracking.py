"""Following requests: filters and search, status transitions, history, audit, exports, receipts."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pypdf
import pytest
import segno
from openpyxl import load_workbook
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.certificates.pdf import QR_MASK
from liaison.db_types import utcnow
from liaison.errors import NotFound, ValidationFailed
from liaison.exports import xlsx_bytes
from liaison.extensions import db
from liaison.service_requests import receipt, tracking
from liaison.service_requests.models import RequestEvent, RequestState, ServiceRequest
from liaison.service_requests.tracking import RequestFilters
from tests import factories
from tests.services.test_certificate_pdf import Canary, canary, embedded_files, pdf_text, svg_modules  # noqa: F401

NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


@pytest.fixture
def people(app_ctx):
    liaison = factories.make_certified_liaison()
    other = factories.make_certified_liaison()
    coordinator = factories.make_coordinator()
    pothole = factories.make_service_type("SR-ST01", name="Street Defect")
    light = factories.make_service_type(
        "SR-ST04",
        name="Street Light Outage",
        attributes=[
            {
                "code": "pole_number",
                "datatype": "string",
                "description": {"en": "Pole number", "es": "Número de poste"},
            },
            {
                "code": "light_color",
                "datatype": "singlevaluelist",
                "description": {"en": "Light color"},
                "values": [{"key": "amber", "name": {"en": "Amber", "es": "Ámbar"}}],
            },
        ],
    )
    return {"liaison": liaison, "other": other, "coordinator": coordinator, "pothole": pothole, "light": light}


def ids(query) -> list[int]:
    return [service_request.id for service_request in db.session.scalars(query)]


# Lists, filters and search ------------------------------------------------------------------------


def test_a_liaison_lists_only_their_own_requests_newest_first(people):
    mine_old = factories.make_service_request(
        people["liaison"], people["pothole"], requested_at=utcnow() - timedelta(days=3)
    )
    mine_new = factories.make_service_request(people["liaison"], people["pothole"])
    factories.make_service_request(people["other"], people["pothole"])

    listed = ids(tracking.filtered_requests(RequestFilters(), liaison_id=people["liaison"].id))

    assert listed == [mine_new.id, mine_old.id]


def test_requests_filed_in_the_same_instant_keep_a_stable_order(people):
    now = utcnow()
    made = [factories.make_service_request(people["liaison"], people["pothole"], requested_at=now) for _ in range(4)]

    listed = ids(tracking.filtered_requests(RequestFilters(), liaison_id=people["liaison"].id))

    assert listed == sorted((r.id for r in made), reverse=True)


def test_filters_by_open_closed_and_internal_state(people):
    submitted = factories.make_service_request(people["liaison"], people["pothole"])
    working = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.IN_PROGRESS)
    closed = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.CLOSED)
    rejected = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.REJECTED)

    assert set(ids(tracking.filtered_requests(RequestFilters(state="open")))) == {submitted.id, working.id}
    assert set(ids(tracking.filtered_requests(RequestFilters(state="closed")))) == {closed.id, rejected.id}
    assert ids(tracking.filtered_requests(RequestFilters(state="in_progress"))) == [working.id]
    # An unknown state narrows nothing rather than failing.
    assert len(ids(tracking.filtered_requests(RequestFilters(state="bogus")))) == 4


def test_filters_by_service_neighborhood_liaison_batch_review_and_dates(people):
    batch = factories.make_batch(people["liaison"])
    light = factories.make_service_request(
        people["liaison"], people["light"], neighborhood="Mill Creek", batch_id=batch.id, batch_position=1
    )
    flagged = factories.make_service_request(people["other"], people["pothole"], needs_review=True)
    old = factories.make_service_request(people["other"], people["pothole"], requested_at=utcnow() - timedelta(days=40))

    assert ids(tracking.filtered_requests(RequestFilters(service_type_id=people["light"].id))) == [light.id]
    assert ids(tracking.filtered_requests(RequestFilters(neighborhood="Mill Creek"))) == [light.id]
    assert set(ids(tracking.filtered_requests(RequestFilters(liaison_id=people["other"].id)))) == {flagged.id, old.id}
    assert ids(tracking.filtered_requests(RequestFilters(batch_id=batch.id))) == [light.id]
    assert ids(tracking.filtered_requests(RequestFilters(needs_review=True))) == [flagged.id]
    today = utcnow().date()
    recent = RequestFilters(requested_from=today - timedelta(days=7), requested_to=today + timedelta(days=1))
    assert old.id not in ids(tracking.filtered_requests(recent))
    earlier = RequestFilters(requested_to=today - timedelta(days=30))
    assert ids(tracking.filtered_requests(earlier)) == [old.id]


def test_search_finds_words_in_the_address_or_description_and_the_request_number(people):
    cedar = factories.make_service_request(people["liaison"], people["pothole"], address="1200 Cedar Ave")
    school = factories.make_service_request(
        people["liaison"], people["pothole"], address="5 Oak St", description="Deep hole near the SCHOOL gate"
    )

    assert ids(tracking.filtered_requests(RequestFilters(search="cedar"))) == [cedar.id]
    assert ids(tracking.filtered_requests(RequestFilters(search="GATE"))) == [school.id]
    assert ids(tracking.filtered_requests(RequestFilters(search=f"#{school.id}"))) == [school.id]


def test_search_takes_like_wildcards_literally(people):
    percent = factories.make_service_request(people["liaison"], people["pothole"], description="Sidewalk 50% broken")
    underscore = factories.make_service_request(people["liaison"], people["pothole"], description="sign_post down")
    factories.make_service_request(people["liaison"], people["pothole"], description="Signpost fine, 50 broken")

    assert ids(tracking.filtered_requests(RequestFilters(search="50%"))) == [percent.id]
    assert ids(tracking.filtered_requests(RequestFilters(search="%"))) == [percent.id]
    assert ids(tracking.filtered_requests(RequestFilters(search="n_p"))) == [underscore.id]
    assert ids(tracking.filtered_requests(RequestFilters(search="\\"))) == []


def test_a_liaison_cannot_open_another_liaisons_request_but_a_coordinator_can(people):
    theirs = factories.make_service_request(people["other"], people["pothole"])

    with pytest.raises(NotFound):
        tracking.get_request_for(people["liaison"], theirs.id)
    assert tracking.get_request_for(people["coordinator"], theirs.id).id == theirs.id
    assert tracking.get_request_for(people["other"], theirs.id).id == theirs.id


def test_attribute_values_come_with_their_labels_and_list_names(people):
    request = factories.make_service_request(
        people["liaison"], people["light"], attributes={"pole_number": "PL-2231", "light_color": "amber", "old": "x"}
    )

    lines = tracking.attribute_lines(tracking.get_request_for(people["liaison"], request.id))

    assert [(line.label, line.value) for line in lines] == [
        ("Pole number", "PL-2231"),
        ("Light color", "Amber"),
        ("old", "x"),
    ]


# Status changes ---------------------------------------------------------------------------------


def test_transitions_follow_the_workflow_and_closed_requests_stay_closed():
    assert RequestState.FORWARDED in tracking.TRANSITIONS[RequestState.SUBMITTED]
    assert RequestState.SUBMITTED not in tracking.TRANSITIONS[RequestState.IN_PROGRESS]
    assert tracking.TRANSITIONS[RequestState.CLOSED] == ()
    assert tracking.TRANSITIONS[RequestState.REJECTED] == ()
    assert tracking.allowed_targets([RequestState.SUBMITTED, RequestState.IN_PROGRESS]) == [
        RequestState.CLOSED,
        RequestState.REJECTED,
    ]


def test_a_bulk_change_moves_every_request_writes_its_history_and_one_audit_event(people):
    first = factories.make_service_request(people["liaison"], people["pothole"], **NEIGHBOR)
    second = factories.make_service_request(people["other"], people["pothole"], state=RequestState.FORWARDED)

    change = tracking.change_status(
        people["coordinator"], [first.id, second.id], "in_progress", "Crew scheduled for Tuesday"
    )
    db.session.commit()

    assert change.request_ids == sorted([first.id, second.id])
    for request in (first, second):
        stored = db.session.get(ServiceRequest, request.id)
        assert stored.state is RequestState.IN_PROGRESS
        assert stored.status_note == "Crew scheduled for Tuesday"
        assert stored.closed_at is None
    events = db.session.scalars(
        select(RequestEvent).where(RequestEvent.kind == "status_changed").order_by(RequestEvent.request_id)
    ).all()
    assert [(e.request_id, e.from_state, e.to_state, e.actor_id) for e in events] == [
        (first.id, "submitted", "in_progress", people["coordinator"].id),
        (second.id, "forwarded", "in_progress", people["coordinator"].id),
    ]
    audits = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "requests.status_changed")).all()
    assert len(audits) == 1
    assert audits[0].details["ids"] == sorted([first.id, second.id])
    assert audits[0].details["count"] == 2
    assert audits[0].details["from_states"] == {"submitted": 1, "forwarded": 1}
    assert audits[0].details["to"] == "in_progress"
    # No neighbor data, and not the free-text note either.
    blob = json.dumps(audits[0].details)
    for value in ("Rosalind", "Quintanilla", "555-0199", "rosalind.qb", "Crew scheduled"):
        assert value not in blob


def test_the_liaison_sees_the_coordinators_change_in_the_history(people):
    request = factories.make_service_request(people["liaison"], people["pothole"])
    tracking.change_status(people["coordinator"], [request.id], "closed", "Repaired")
    db.session.commit()

    history = tracking.history(tracking.get_request_for(people["liaison"], request.id))

    assert [(event.kind, event.to_state, event.note) for event in history] == [
        ("filed", "submitted", ""),
        ("status_changed", "closed", "Repaired"),
    ]
    assert history[1].actor.id == people["coordinator"].id


def test_closing_or_rejecting_sets_the_closing_time(people):
    closing = factories.make_service_request(people["liaison"], people["pothole"])
    rejecting = factories.make_service_request(people["liaison"], people["pothole"])

    tracking.change_status(people["coordinator"], [closing.id], RequestState.CLOSED)
    tracking.change_status(people["coordinator"], [rejecting.id], RequestState.REJECTED, "Private property")
    db.session.commit()

    assert db.session.get(ServiceRequest, closing.id).closed_at is not None
    assert db.session.get(ServiceRequest, rejecting.id).closed_at is not None
    assert db.session.get(ServiceRequest, closing.id).open311_status == "closed"


def test_an_invalid_move_for_some_rows_changes_nothing_and_names_them(people):
    fine = factories.make_service_request(people["liaison"], people["pothole"])
    closed = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.CLOSED)
    rejected = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.REJECTED)

    with pytest.raises(ValidationFailed) as refused:
        tracking.change_status(people["coordinator"], [fine.id, closed.id, rejected.id], "in_progress")
    db.session.rollback()

    message = str(refused.value.message)
    assert f"#{closed.id}" in message
    assert f"#{rejected.id}" in message
    assert f"#{fine.id}" not in message
    assert "Nothing was changed" in message
    assert db.session.get(ServiceRequest, fine.id).state is RequestState.SUBMITTED
    assert db.session.scalar(select(func.count()).select_from(RequestEvent).where(RequestEvent.kind != "filed")) == 0


def test_a_request_cannot_go_back_to_submitted_nor_to_an_unknown_state(people):
    request = factories.make_service_request(people["liaison"], people["pothole"], state=RequestState.FORWARDED)

    with pytest.raises(ValidationFailed):
        tracking.change_status(people["coordinator"], [request.id], "submitted")
    with pytest.raises(ValidationFailed, match="Choose the new status"):
        tracking.change_status(people["coordinator"], [request.id], "fixed")


def test_missing_requests_and_empty_selections_are_refused(people):
    with pytest.raises(ValidationFailed, match="Select at least one"):
        tracking.change_status(people["coordinator"], [], "closed")
    with pytest.raises(ValidationFailed, match="#999999 no longer exists"):
        tracking.change_status(people["coordinator"], [999999], "closed")


def test_only_coordinators_change_statuses(people):
    request = factories.make_service_request(people["liaison"], people["pothole"])

    with pytest.raises(NotFound):
        tracking.change_status(people["liaison"], [request.id], "closed")


def test_clearing_the_review_flag_is_recorded_in_history_and_audit(people):
    flagged = factories.make_service_request(
        people["liaison"], people["pothole"], needs_review=True, review_reason="Outside Cedar Park"
    )
    plain = factories.make_service_request(people["liaison"], people["pothole"])

    cleared = tracking.clear_review(people["coordinator"], [flagged.id, plain.id])
    db.session.commit()

    assert cleared == [flagged.id]
    assert db.session.get(ServiceRequest, flagged.id).needs_review is False
    assert [e.kind for e in tracking.history(db.session.get(ServiceRequest, flagged.id))] == ["filed", "review_cleared"]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "requests.review_cleared"))
    assert audit.details == {"ids": [flagged.id], "count": 1}
    with pytest.raises(ValidationFailed, match="None of the selected"):
        tracking.clear_review(people["coordinator"], [plain.id])


# Public view ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("1234 Cedar Ave", "1200 block of Cedar Ave"),
        ("1234 Cedar Ave, Apt 2, Philadelphia PA", "1200 block of Cedar Ave"),
        ("56 Oak St #3", "0 block of Oak St"),
        ("4501-03 Baltimore Ave Unit 5", "4500 block of Baltimore Ave"),
        ("5th St & Cedar Ave", "5th St & Cedar Ave"),
        ("Behind Maria Lopez's house", ""),
        ("", ""),
    ],
)
def test_the_public_place_is_a_block_a_corner_or_nothing(app_ctx, address, shown):
    assert tracking.public_location(address) == shown


def test_the_public_status_holds_no_personal_data(people):
    request = factories.make_service_request(
        people["liaison"], people["pothole"], description="Rosalind's driveway", lat=39.95, long=-75.2, **NEIGHBOR
    )
    tracking.change_status(people["coordinator"], [request.id], "forwarded", "Sent to Streets")
    db.session.commit()

    status = tracking.public_status(tracking.get_by_token(request.public_token))

    blob = repr(status)
    for private in (
        "Rosalind",
        "Quintanilla",
        "555-0199",
        "rosalind.qb",
        "driveway",
        "39.95",
        people["liaison"].full_name,
    ):
        assert private not in blob
    assert status.location == "1200 block of Cedar Ave"
    assert [note.note for note in status.notes] == ["Sent to Streets"]


def test_an_unknown_token_is_not_found(app_ctx):
    with pytest.raises(NotFound):
        tracking.get_by_token("nope")
    with pytest.raises(NotFound):
        tracking.get_by_token("x" * 500)


def test_the_status_url_uses_the_public_base_url_when_set(people):
    request = factories.make_service_request(people["liaison"], people["pothole"])

    assert tracking.status_url(request) == f"http://localhost/status/{request.public_token}"
    from flask import current_app

    current_app.config["PUBLIC_BASE_URL"] = "https://liaison.example.gov/"
    assert tracking.status_url(request) == f"https://liaison.example.gov/status/{request.public_token}"


# Receipts ---------------------------------------------------------------------------------------


def test_the_receipt_pdf_has_the_number_service_date_status_link_and_first_name_only(people):
    request = factories.make_service_request(people["liaison"], people["pothole"], **NEIGHBOR)

    data = receipt.render_receipt_pdf(request, base_url="http://localhost/")

    text = pdf_text(data)
    squeezed = re.sub(r"\s+", "", text)
    assert f"#{request.id}" in text
    assert "Street Defect" in text
    assert "NEIGHBORHOOD LIAISON PROGRAM" in text.upper()
    assert re.sub(r"\s+", "", tracking.status_url(request)) in squeezed
    assert "Rosalind" in text
    for private in ("Quintanilla", "555-0199", "rosalind.qb", "Pothole in front"):
        assert private not in text
    assert embedded_files(data) == []


def test_the_receipt_leaves_out_the_first_name_without_consent(people):
    request = factories.make_service_request(
        people["liaison"], people["pothole"], **{**NEIGHBOR, "contact_consent": False}
    )

    assert "Rosalind" not in pdf_text(receipt.render_receipt_pdf(request, base_url="http://localhost/"))


def test_the_receipt_qr_code_encodes_the_public_status_url(people):
    request = factories.make_service_request(people["liaison"], people["pothole"])

    html = receipt.receipt_html(request)

    embedded = re.search(r"<svg\b.*?</svg>", html, re.S)[0]
    expected = segno.make_qr(tracking.status_url(request), error="m", mask=QR_MASK)
    from liaison.certificates.pdf import QR_BORDER

    assert svg_modules(embedded) == [[int(bool(m)) for m in row] for row in expected.matrix_iter(border=QR_BORDER)]


def test_a_hostile_address_fetches_nothing_and_embeds_nothing(people, canary):  # noqa: F811
    request = factories.make_service_request(
        people["liaison"],
        people["pothole"],
        address=f'12 <img src="{canary.url("/img")}"> & <link rel=attachment href=file:///etc/passwd> St',
        neighbor_first_name=f"<img src={canary.url('/name')}>",
        contact_consent=True,
    )

    data = receipt.render_receipt_pdf(request, base_url="http://localhost/")

    assert canary.requests == []
    assert embedded_files(data) == []
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) >= 1


def test_emailing_the_receipt_needs_consent_and_an_email(people, outbox):
    without = factories.make_service_request(
        people["liaison"], people["pothole"], **{**NEIGHBOR, "contact_consent": False}
    )

    with pytest.raises(ValidationFailed):
        tracking.email_receipt(people["liaison"], without)
    with pytest.raises(NotFound):
        tracking.email_receipt(people["other"], without)


def test_the_receipt_email_goes_after_commit_and_the_audit_has_no_address(people, outbox):
    request = factories.make_service_request(people["liaison"], people["pothole"], **NEIGHBOR)

    tracking.email_receipt(people["liaison"], request)
    assert outbox() == []
    db.session.commit()

    [message] = outbox()
    assert message["To"] == NEIGHBOR["neighbor_email"]
    body = message.get_content()
    assert f"#{request.id}" in body
    assert tracking.status_url(request) in body
    assert "Hello Rosalind" in body
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "request.receipt_emailed"))
    assert "rosalind" not in json.dumps(audit.details).lower()
    assert audit.subject_id == str(request.id)


# Exports ----------------------------------------------------------------------------------------


def test_an_export_without_contact_details_has_none_and_is_not_audited(people):
    factories.make_service_request(people["liaison"], people["pothole"], **NEIGHBOR)

    export = tracking.export_requests(people["coordinator"], RequestFilters(), include_contact=False)

    blob = json.dumps(export.rows, default=str) + json.dumps(export.header)
    assert export.count == 1
    assert "Rosalind" not in blob
    assert "555-0199" not in blob
    assert "Neighbor email" not in blob
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("requests.%"))) == 0
    )


def test_an_export_with_contact_details_is_audited_with_filters_and_count_only(people):
    factories.make_service_request(people["liaison"], people["pothole"], **NEIGHBOR)
    factories.make_service_request(people["liaison"], people["light"], **NEIGHBOR)

    export = tracking.export_requests(
        people["coordinator"], RequestFilters(state="open", service_type_id=people["pothole"].id), include_contact=True
    )
    db.session.commit()

    assert export.count == 1
    row = dict(zip(export.header, export.rows[0], strict=True))
    assert row["Neighbor first name"] == "Rosalind"
    assert row["Neighbor email"] == "rosalind.qb@example.org"
    assert row["Service code"] == "SR-ST01"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "requests.exported_personal_data"))
    assert audit.details == {"filters": {"state": "open", "service_type_id": people["pothole"].id}, "count": 1}


def test_exported_cells_that_look_like_formulas_stay_text(people):
    factories.make_service_request(
        people["liaison"], people["pothole"], description='=HYPERLINK("http://evil")', address="\t+1 Main St"
    )
    export = tracking.export_requests(people["coordinator"], RequestFilters(), include_contact=False)

    sheet = load_workbook(io.BytesIO(xlsx_bytes(export.header, export.rows))).active
    values = [cell.value for cell in sheet[2]]

    assert '\'=HYPERLINK("http://evil")' in values
    assert any(isinstance(value, str) and value.startswith("'") and "+1 Main St" in value for value in values)


def test_an_export_larger_than_the_cap_is_refused_not_cut(people, monkeypatch):
    for _ in range(3):
        factories.make_service_request(people["liaison"], people["pothole"])
    monkeypatch.setattr(tracking, "EXPORT_MAX_ROWS", 2)

    with pytest.raises(ValidationFailed, match="Narrow the filters"):
        tracking.export_requests(people["coordinator"], RequestFilters(), include_contact=True)
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("requests.%"))) == 0
    )


# Query counts -----------------------------------------------------------------------------------


def _fill(people, count: int) -> None:
    now = utcnow()
    for number in range(count):
        db.session.add(
            ServiceRequest(
                public_token=f"tok-{count}-{number}",
                liaison_id=people["liaison"].id,
                service_type_id=(people["pothole"] if number % 2 else people["light"]).id,
                address=f"{number} Cedar Ave",
                requested_at=now - timedelta(minutes=number),
                updated_at=now,
            )
        )
    db.session.commit()


@pytest.mark.parametrize("count", [5, 60])
def test_listing_a_page_takes_the_same_queries_for_5_or_60_requests(people, count_queries, count):
    _fill(people, count)
    db.session.expire_all()

    with count_queries() as queries:
        page = db.paginate(
            tracking.with_list_columns(tracking.filtered_requests(RequestFilters()), with_liaison=True),
            page=1,
            per_page=tracking.PER_PAGE,
            error_out=False,
        )
        names = [(tracking.service_name(item.service_type), item.liaison.full_name) for item in page.items]

    assert len(names) == min(count, tracking.PER_PAGE)
    assert len(queries) == 2, queries  # the page and its total
