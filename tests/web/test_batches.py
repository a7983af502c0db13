"""The batch pages: the list, a new batch, the grid (htmx and plain form) and a filed batch."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from liaison.auth.models import User
from liaison.extensions import db
from liaison.service_requests import batches
from liaison.service_requests.models import (
    AttributeDatatype,
    BatchRow,
    BatchStatus,
    RequestBatch,
    RequestState,
    ServiceType,
)
from tests import factories
from tests.conftest import login

HTMX = {"HX-Request": "true"}
VALID = {
    "service_code": "SR-ST04",
    "address": "1200 Cedar Ave",
    "zipcode": "19143",
    "description": "Light out at the corner",
    "attributes": {"pole_number": "P-1"},
}


@pytest.fixture
def catalog(app):
    with app.app_context():
        factories.make_service_type(
            "SR-ST04",
            name="Street Light Outage",
            attributes=[{"code": "pole_number", "datatype": AttributeDatatype.STRING, "required": True}],
        )
        factories.make_service_type(
            "SR-PD01",
            name="Abandoned Vehicle",
            attributes=[
                {"code": "make", "datatype": AttributeDatatype.STRING},
                {
                    "code": "color",
                    "datatype": AttributeDatatype.SINGLEVALUELIST,
                    "values": [{"key": "blue", "name": {"en": "Blue", "es": "Azul"}}],
                },
            ],
        )


@pytest.fixture
def liaison(app, client, catalog):
    with app.app_context():
        user = factories.make_certified_liaison(neighborhood="Cedar Park")
        user_id, email = user.id, user.email
    assert login(client, email).status_code == 302
    return user_id


def _batch(app, liaison_id, rows=(), **kwargs):
    with app.app_context():
        user = db.session.get(User, liaison_id)
        batch = factories.make_batch(user, rows=rows, **kwargs)
        return batch.id, [row.id for row in batch.rows]


def _row(app, row_id):
    with app.app_context():
        row = db.session.get(BatchRow, row_id)
        return None if row is None else (row.position, dict(row.values), dict(row.errors))


def _batch_state(app, batch_id):
    with app.app_context():
        batch = db.session.get(RequestBatch, batch_id)
        return None if batch is None else (batch.row_count, batch.revision)


def _row_form(row_id, values):
    form = {f"rows-{row_id}-{name}": value for name, value in values.items() if name != "attributes"}
    if "service_code" in values:
        form[f"rows-{row_id}-shown_service"] = values["service_code"]
    for code, answer in values.get("attributes", {}).items():
        form[f"rows-{row_id}-attribute-{code}"] = answer
    return form


# The list and a new batch -----------------------------------------------------------------------


def test_a_liaison_sees_their_batches_but_not_anyone_elses(app, client, liaison):
    _batch(app, liaison, title="Cedar Park civic meeting")
    with app.app_context():
        other = factories.make_certified_liaison()
        factories.make_batch(other, title="Somebody else's meeting")
    html = client.get("/requests/batches/").get_data(as_text=True)
    assert "Cedar Park civic meeting" in html
    assert "Somebody else&#39;s meeting" not in html
    assert "Somebody else's meeting" not in html
    assert 'href="/requests/batches/new"' in html


def test_a_liaison_who_is_not_certified_is_told_why_and_what_to_do(client, login_as):
    login_as("liaison")
    response = client.get("/requests/batches/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You are not in an active cohort; ask your coordinator." in html
    assert "/liaison" in html  # the dashboard, where the next step is
    assert client.post("/requests/batches/new", data={"title": "March"}).status_code == 403
    listing = client.get("/requests/batches/").get_data(as_text=True)
    assert "You cannot start a new batch right now" in listing
    assert 'href="/requests/batches/new"' not in listing


def test_a_new_batch_starts_in_the_liaisons_neighborhood_and_opens_its_grid(app, client, liaison):
    page = client.get("/requests/batches/new").get_data(as_text=True)
    assert re.search(r'<option selected value="Cedar Park">|<option value="Cedar Park" selected>', page)
    response = client.post(
        "/requests/batches/new",
        data={"title": "Cedar Park civic meeting", "meeting_date": "2026-03-05", "neighborhood": "Cedar Park"},
    )
    assert response.status_code == 302
    with app.app_context():
        batch = db.session.scalar(select(RequestBatch).where(RequestBatch.liaison_id == liaison))
        assert (batch.title, str(batch.meeting_date), batch.neighborhood) == (
            "Cedar Park civic meeting",
            "2026-03-05",
            "Cedar Park",
        )
    assert response.location == f"/requests/batches/{batch.id}"
    grid = client.get(response.location).get_data(as_text=True)
    assert "Cedar Park civic meeting is started" in grid
    assert 'aria-current="step"' in grid


def test_a_new_batch_without_a_title_comes_back_with_what_was_typed(client, liaison):
    response = client.post("/requests/batches/new", data={"title": " ", "meeting_date": "2026-03-05"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the batch a title" in html
    assert 'value="2026-03-05"' in html
    assert 'aria-describedby="title-hint title-error"' in html


# The grid page ------------------------------------------------------------------------------------


def test_the_grid_shows_each_row_numbered_with_its_services_fields_and_file_line(app, client, liaison):
    batch_id, (first, second) = _batch(app, liaison, rows=[dict(VALID), {"service_code": "SR-PD01"}])
    with app.app_context():
        db.session.get(BatchRow, second).source_line = 14
        db.session.commit()
    html = client.get(f"/requests/batches/{batch_id}").get_data(as_text=True)
    assert f'id="row-{first}-number">1<' in html
    assert f'id="row-{second}-number">2<' in html
    assert "(line 14 of the file)" in html
    assert f'name="rows-{first}-attribute-pole_number"' in html
    assert 'value="P-1"' in html
    assert f'name="rows-{second}-attribute-color"' in html
    assert ">Blue<" in html
    assert f'name="rows-{first}-attribute-color"' not in html
    assert '<optgroup label="Streets">' in html
    assert f'href="/requests/batches/{batch_id}/review"' in html
    assert f'href="/requests/batches/{batch_id}/upload"' in html
    assert "2 rows" in html


def test_a_row_from_an_upload_with_an_unknown_service_keeps_what_was_typed(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{"service_code": "STREETLITE", "lat": "91"}])
    with app.test_request_context():
        user = db.session.get(User, liaison)
        batches.save_rows(user, db.session.get(RequestBatch, batch_id), {row_id: {}})
        db.session.commit()
    html = client.get(f"/requests/batches/{batch_id}").get_data(as_text=True)
    assert '<option value="STREETLITE" selected>STREETLITE (not in the list)</option>' in html
    assert f'name="rows-{row_id}-lat"' in html
    assert 'value="91"' in html
    assert "Enter a latitude between -90 and 90" in html


def test_the_filter_shows_only_the_rows_that_need_fixing(app, client, liaison):
    batch_id, (good, bad) = _batch(app, liaison, rows=[dict(VALID), {"address": "5 Elm St"}])
    with app.app_context():
        db.session.get(BatchRow, bad).errors = {"service_code": "Enter a service code or service name."}
        db.session.commit()
    html = client.get(f"/requests/batches/{batch_id}?problems=1").get_data(as_text=True)
    assert f'id="row-{bad}"' in html
    assert f'id="row-{good}"' not in html
    assert "1 needs fixing" in html


def test_a_big_batch_is_shown_a_page_of_rows_at_a_time(app, client, liaison):
    batch_id, ids = _batch(app, liaison, rows=[dict(VALID)] * 130)
    first = client.get(f"/requests/batches/{batch_id}").get_data(as_text=True)
    assert f'id="row-{ids[99]}"' in first
    assert f'id="row-{ids[100]}"' not in first
    assert f'href="/requests/batches/{batch_id}?page=2"' in first
    second = client.get(f"/requests/batches/{batch_id}?page=2").get_data(as_text=True)
    assert f'id="row-{ids[129]}-number">130<' in second
    assert "Rows 101 to 130 of 130." in second


def test_the_grid_page_runs_the_same_number_of_queries_for_10_or_300_rows(app, client, liaison, count_queries):
    counts = []
    for size in (10, 300):
        batch_id, _ids = _batch(app, liaison, rows=[dict(VALID)] * size)
        with count_queries() as queries:
            assert client.get(f"/requests/batches/{batch_id}").status_code == 200
        # The login session's own bookkeeping is not the page's work.
        counts.append(len([query for query in queries if "web_session" not in query]))
    assert counts[0] == counts[1]
    assert counts[1] <= 15


def test_a_liaison_using_another_liaisons_batch_or_row_gets_404_and_nothing_changes(app, client, liaison):
    with app.app_context():
        other = factories.make_certified_liaison()
        batch = factories.make_batch(other, rows=[dict(VALID)])
        batch_id, row_id = batch.id, batch.rows[0].id
    before = _row(app, row_id)
    assert client.get(f"/requests/batches/{batch_id}").status_code == 404
    assert (
        client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data=_row_form(row_id, {"address": "X"})).status_code
        == 404
    )
    assert client.post(f"/requests/batches/{batch_id}/rows/{row_id}/remove", headers=HTMX).status_code == 404
    assert client.post(f"/requests/batches/{batch_id}/rows/new").status_code == 404
    assert client.post(f"/requests/batches/{batch_id}/delete", data={"confirm": "y"}).status_code == 404
    assert _row(app, row_id) == before
    assert _batch_state(app, batch_id) == (1, 0)


def test_a_row_id_from_another_batch_is_not_found_in_this_one(app, client, liaison):
    mine, _ids = _batch(app, liaison, rows=[dict(VALID)])
    _other, (foreign,) = _batch(app, liaison, rows=[dict(VALID)])
    assert (
        client.post(f"/requests/batches/{mine}/rows/{foreign}", data=_row_form(foreign, {"address": "X"})).status_code
        == 404
    )
    response = client.post(
        f"/requests/batches/{mine}/rows", data={"row_ids": [foreign], **_row_form(foreign, {"address": "X"})}
    )
    assert response.status_code == 404
    assert _row(app, foreign)[1]["address"] == "1200 Cedar Ave"


# The grid with htmx -------------------------------------------------------------------------------


def test_a_row_with_a_problem_comes_back_as_a_422_fragment_with_the_message_by_the_field(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    typed = dict(VALID, zipcode="191")
    response = client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data=_row_form(row_id, typed), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in html
    assert html.lstrip().startswith("<fieldset")
    assert f'id="rows-{row_id}-zipcode-error">Enter a 5-digit ZIP code' in html
    assert f'aria-describedby="rows-{row_id}-zipcode-error" aria-invalid="true"' in html
    assert 'value="191"' in html
    assert 'id="batch-summary"' in html
    assert 'hx-swap-oob="true"' in html
    assert "Row 1 saved. 1 problem to fix." in html
    assert 'role="alert"' not in html  # the focus stays in the field the liaison moved to
    assert _row(app, row_id)[1]["zipcode"] == "191"
    assert _batch_state(app, batch_id) == (1, 1)


def test_a_complete_row_is_saved_and_marked_ready(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    response = client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data=_row_form(row_id, VALID), headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ready" in html
    assert "Row 1 saved. It is ready." in html
    assert _row(app, row_id)[2] == {}
    assert _row(app, row_id)[1]["contact_consent"] == "no"


def test_fields_not_reached_yet_are_not_flagged_while_a_row_is_typed(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    response = client.post(
        f"/requests/batches/{batch_id}/rows/{row_id}",
        data=_row_form(row_id, {"service_code": "SR-ST04", "address": "", "description": ""}),
        headers=HTMX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the address" not in html
    assert "Not finished" in html
    skipped = client.post(
        f"/requests/batches/{batch_id}/rows/{row_id}",
        data=_row_form(row_id, {"service_code": "SR-ST04", "address": "", "description": "Light out"}),
        headers=HTMX,
    ).get_data(as_text=True)
    assert "Enter the address, or both latitude and longitude." in skipped
    assert "Needs fixing" in skipped


def test_choosing_a_service_brings_its_fields_into_the_row(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    html = client.post(
        f"/requests/batches/{batch_id}/rows/{row_id}",
        data=_row_form(row_id, {"service_code": "SR-PD01"}),
        headers=HTMX,
    ).get_data(as_text=True)
    assert f'name="rows-{row_id}-attribute-make"' in html
    assert f'name="rows-{row_id}-attribute-color"' in html
    assert '<option value="SR-PD01" selected>Abandoned Vehicle</option>' in html
    assert f'name="rows-{row_id}-shown_service" value="SR-PD01"' in html


def test_adding_a_row_returns_just_the_new_numbered_row(app, client, liaison):
    batch_id, _ids = _batch(app, liaison, rows=[dict(VALID), dict(VALID)])
    response = client.post(f"/requests/batches/{batch_id}/rows/new", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    with app.app_context():
        new_id = db.session.scalar(select(BatchRow.id).where(BatchRow.batch_id == batch_id, BatchRow.position == 3))
    assert f'id="row-{new_id}-number">3<' in html
    assert "Row 3 added." in html
    assert "Enter a service" not in html  # a blank row is not told off
    assert _batch_state(app, batch_id) == (3, 1)


def test_removing_a_row_asks_first_then_renumbers_the_rows_shown_after_it(app, client, liaison):
    batch_id, ids = _batch(app, liaison, rows=[dict(VALID, address=f"{n} Elm St") for n in range(1, 5)])
    confirm = client.get(f"/requests/batches/{batch_id}/rows/{ids[1]}/remove", headers=HTMX)
    assert confirm.status_code == 200
    assert "Remove row 2?" in confirm.get_data(as_text=True)
    assert "<html" not in confirm.get_data(as_text=True)
    assert _row(app, ids[1]) is not None
    kept = client.get(f"/requests/batches/{batch_id}/rows/{ids[1]}", headers=HTMX).get_data(as_text=True)
    assert f'id="row-{ids[1]}"' in kept
    assert 'value="2 Elm St"' in kept

    removed = client.post(
        f"/requests/batches/{batch_id}/rows/{ids[1]}/remove", data={"row_ids": ids}, headers=HTMX
    ).get_data(as_text=True)
    assert f'<span id="row-{ids[2]}-number" hx-swap-oob="true">2</span>' in removed
    assert f'<span id="row-{ids[3]}-number" hx-swap-oob="true">3</span>' in removed
    assert f"row-{ids[0]}-number" not in removed
    assert "Row 2 removed." in removed
    assert _row(app, ids[1]) is None
    assert [_row(app, row_id)[0] for row_id in (ids[0], ids[2], ids[3])] == [1, 2, 3]
    assert _batch_state(app, batch_id) == (3, 1)


def test_a_row_save_without_the_csrf_token_is_refused_and_keeps_what_was_typed(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[dict(VALID)])
    app.config["WTF_CSRF_ENABLED"] = True
    typed = dict(VALID, address="77 Typed Ave")
    refused = client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data=_row_form(row_id, typed), headers=HTMX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Your session expired, so this was not saved." in html
    assert 'value="77 Typed Ave"' in html
    assert _row(app, row_id)[1]["address"] == "1200 Cedar Ave"

    page = client.get(f"/requests/batches/{batch_id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post(
        f"/requests/batches/{batch_id}/rows/{row_id}",
        data=_row_form(row_id, typed),
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert accepted.status_code == 200
    assert _row(app, row_id)[1]["address"] == "77 Typed Ave"
    assert client.post(f"/requests/batches/{batch_id}/rows/new", headers=HTMX).status_code == 400
    assert _batch_state(app, batch_id)[0] == 1


# The grid without JavaScript ----------------------------------------------------------------------


def test_the_whole_grid_form_saves_every_row_and_keeps_everything_typed_on_errors(app, client, liaison):
    batch_id, (first, second) = _batch(app, liaison, rows=[{}, {}])
    form = {"row_ids": [first, second], "page": "1", "action": "save"}
    form.update(_row_form(first, dict(VALID, neighbor_first_name="Ana", neighbor_email="ana@", contact_consent="yes")))
    form.update(_row_form(second, {"service_code": "SR-PD01", "address": "9 Elm St", "zipcode": "", "description": ""}))
    response = client.post(f"/requests/batches/{batch_id}/rows", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saved. 2 rows on this page need fixing." in html
    assert 'value="Ana"' in html
    assert 'value="ana@"' in html
    assert 'value="9 Elm St"' in html
    assert "Enter the neighbor&#39;s email address" in html or "Enter the neighbor's email address" in html
    assert "Describe the problem in the description." in html
    assert _row(app, first)[1]["neighbor_first_name"] == "Ana"
    assert _row(app, first)[1]["contact_consent"] == "yes"


def test_the_grid_form_without_problems_saves_and_returns_to_the_page(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    form = {"row_ids": [row_id], "page": "1", **_row_form(row_id, VALID)}
    response = client.post(f"/requests/batches/{batch_id}/rows", data=form)
    assert response.status_code == 302
    assert response.location == f"/requests/batches/{batch_id}"
    assert _row(app, row_id)[2] == {}


def test_the_add_row_button_saves_the_rows_and_adds_one_without_javascript(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[{}])
    form = {"row_ids": [row_id], "action": "add", **_row_form(row_id, {"service_code": "SR-ST04", "address": "3 Oak"})}
    response = client.post(f"/requests/batches/{batch_id}/rows", data=form)
    assert response.status_code == 302
    assert _row(app, row_id)[1]["address"] == "3 Oak"
    assert _batch_state(app, batch_id)[0] == 2
    assert "#row-" in response.location


def test_the_remove_button_without_javascript_saves_then_asks_on_a_page(app, client, liaison):
    batch_id, (first, second) = _batch(app, liaison, rows=[dict(VALID), dict(VALID)])
    form = {"row_ids": [first, second], "remove": str(first), **_row_form(first, dict(VALID, address="1 Kept St"))}
    response = client.post(f"/requests/batches/{batch_id}/rows", data=form)
    assert response.status_code == 302
    assert response.location == f"/requests/batches/{batch_id}/rows/{first}/remove"
    page = client.get(response.location)
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert "1 Kept St" in page.get_data(as_text=True)
    assert _row(app, first) is not None
    done = client.post(f"/requests/batches/{batch_id}/rows/{first}/remove")
    assert done.status_code == 302
    assert _row(app, first) is None
    assert _row(app, second)[0] == 1
    assert "Row 1 removed." in client.get(done.location).get_data(as_text=True)


def test_an_expired_token_on_the_grid_form_brings_back_everything_typed(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[dict(VALID)])
    app.config["WTF_CSRF_ENABLED"] = True
    form = {"row_ids": [row_id], "csrf_token": "stale", **_row_form(row_id, dict(VALID, address="55 Typed Rd"))}
    response = client.post(f"/requests/batches/{batch_id}/rows", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your session expired, so this was not saved." in html
    assert 'value="55 Typed Rd"' in html
    assert _row(app, row_id)[1]["address"] == "1200 Cedar Ave"


# Details, deleting, and a filed batch -------------------------------------------------------------


def test_the_batch_details_are_changed_on_the_batch_page(app, client, liaison):
    batch_id, _ids = _batch(app, liaison)
    refused = client.post(f"/requests/batches/{batch_id}/details", data={"title": "", "meeting_date": "2026-04-01"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Give the batch a title" in html
    assert 'id="batch-details" open' in html
    saved = client.post(
        f"/requests/batches/{batch_id}/details",
        data={"title": "April meeting", "meeting_date": "2026-04-01", "neighborhood": "Cedar Park"},
    )
    assert saved.status_code == 302
    assert "April meeting" in client.get(saved.location).get_data(as_text=True)


def test_a_draft_is_deleted_only_once_the_liaison_confirms(app, client, liaison):
    batch_id, _ids = _batch(app, liaison, rows=[dict(VALID)])
    unconfirmed = client.post(f"/requests/batches/{batch_id}/delete", data={})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm." in unconfirmed.get_data(as_text=True)
    assert _batch_state(app, batch_id) is not None
    deleted = client.post(f"/requests/batches/{batch_id}/delete", data={"confirm": "y"})
    assert deleted.status_code == 302
    assert deleted.location == "/requests/batches/"
    assert _batch_state(app, batch_id) is None


def test_a_submitted_batch_shows_its_requests_and_their_status_and_cannot_be_edited(app, client, liaison):
    batch_id, (row_id,) = _batch(app, liaison, rows=[dict(VALID)])
    with app.app_context():
        batch = db.session.get(RequestBatch, batch_id)
        batch.status = BatchStatus.SUBMITTED
        db.session.commit()
        service_type = db.session.scalar(select(ServiceType).where(ServiceType.code == "SR-ST04"))
        user = db.session.get(User, liaison)
        filed = factories.make_service_request(
            user, service_type, batch_id=batch_id, batch_position=1, state=RequestState.IN_PROGRESS
        )
        filed_id = filed.id
    html = client.get(f"/requests/batches/{batch_id}").get_data(as_text=True)
    assert f'href="/requests/{filed_id}"' in html
    assert "In progress" in html
    assert "1 request filed" in html
    assert 'id="batch-grid"' not in html
    assert client.post(f"/requests/batches/{batch_id}/rows/{row_id}", data={}, headers=HTMX).status_code == 409
    assert client.post(f"/requests/batches/{batch_id}/delete", data={"confirm": "y"}).status_code == 409


def test_coordinators_do_not_use_the_liaison_batch_pages(app, client, login_as, catalog):
    login_as("coordinator")
    assert client.get("/requests/batches/").status_code == 403
    assert client.get("/requests/batches/new").status_code == 403
