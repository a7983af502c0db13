"""Issue #7's journeys in a real browser: a liaison on a phone types a batch in the grid (with a
correction and a removed row), reloads to find everything kept and files it once; on a laptop a
liaison uploads a file with bad rows, fixes them in the browser, drops a duplicate of an open
request and files the rest; a coordinator moves filed requests along with a note and the liaison,
and a stranger on the public page, see it. axe checks every page and the larger htmx swaps.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from liaison.auth.services import find_user_by_email
from liaison.demo import DEMO_PASSWORD
from liaison.extensions import db
from liaison.service_requests import batches, submission
from liaison.service_requests.models import BatchStatus, RequestBatch, ServiceRequest, ServiceType
from liaison.service_requests.validation import normalize_address
from tests import factories

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

AssertAccessible = Callable[[Page], None]


def log_in(page: Page, live_server: str, email: str) -> None:
    page.goto(live_server + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(coordinator|liaison)$"))


def row_id(row: Locator) -> int:
    return int((row.get_attribute("id") or "").removeprefix("row-"))


def add_row(page: Page) -> Locator:
    """Press "Add row" and return the new row (htmx appends it without a reload)."""
    rows = page.locator("#batch-rows > fieldset.liaison-grid-row")
    count = rows.count()
    page.locator("#grid-add").click()
    expect(rows).to_have_count(count + 1)
    row = page.locator(f"#{rows.nth(count).get_attribute('id')}")
    # Focus moves to the new row's first field once htmx has settled it (and bound its triggers);
    # a person cannot choose faster than that, a test can.
    expect(row.get_by_label("Service")).to_be_focused()
    return row


def choose_service(row: Locator, name: str, first_question: str) -> None:
    """Choose a service: the row saves itself and comes back with that service's questions."""
    row.get_by_label("Service").select_option(label=name)
    expect(row.get_by_label(first_question)).to_be_visible()


def commit(field: Locator, value: str) -> None:
    """Type into a field and leave it, the way a person does: that change saves the row."""
    field.fill(value)
    field.press("Tab")


def batch_count(app: Flask, batch_id: int) -> tuple[str, int]:
    with app.app_context():
        batch = db.session.get(RequestBatch, batch_id)
        filed = db.session.query(ServiceRequest).filter_by(batch_id=batch_id).count()
        return str(batch.status), filed


def test_on_a_phone_a_liaison_types_rows_fixes_a_zip_removes_a_row_and_files_the_batch_once(
    page: Page, live_server: str, app: Flask, certified_demo_liaison: str, assert_accessible: AssertAccessible
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, live_server, certified_demo_liaison)
    page.goto(live_server + "/requests/batches/")
    assert_accessible(page)
    page.get_by_role("link", name="New batch").click()
    page.get_by_label("Title").fill("Osage Ave porch meeting")
    page.get_by_label("Meeting date").fill("2026-11-19")
    assert_accessible(page)
    page.get_by_role("button", name="Start the batch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Osage Ave porch meeting")
    batch_id = int(re.search(r"/requests/batches/(\d+)", page.url).group(1))
    assert_accessible(page)

    # Row 1: choosing the service brings its questions; a 4-digit ZIP is refused next to the field.
    first = add_row(page)
    first_id = row_id(first)
    choose_service(first, "Street Defect", "What kind of damage is it?")
    first.get_by_label("What kind of damage is it?").select_option(label="Pothole")
    first.get_by_label("Is it a danger to people or cars right now?").select_option(label="Yes")
    first.get_by_label("Address").fill("4630 Osage Ave")
    first.get_by_label("ZIP code").fill("1914")
    commit(first.get_by_label("Description"), "Pothole by the fire hydrant")
    zip_error = page.locator(f"#rows-{first_id}-zipcode-error")
    expect(zip_error).to_contain_text("Enter a 5-digit ZIP code")
    expect(first.get_by_label("ZIP code")).to_have_attribute("aria-invalid", "true")
    expect(first.locator(f"#row-{first_id}-state")).to_contain_text("Needs fixing")
    expect(page.locator("#batch-summary-problems")).to_have_text("1 needs fixing")
    assert_accessible(page)
    commit(first.get_by_label("ZIP code"), "19143")
    expect(zip_error).to_have_count(0)
    expect(first.locator(f"#row-{first_id}-state")).to_contain_text("Ready")
    # The neighbor's contact, with consent, on the phone too.
    first.get_by_text("Neighbor's contact (optional)").click()
    first.get_by_label("First name").fill("Rosalind")
    first.get_by_label("Phone").fill("215-555-0199")
    # USWDS draws its own box: the person taps the label.
    first.locator("label", has_text="The neighbor agrees to be contacted").click()
    expect(first.get_by_label("The neighbor agrees to be contacted about this request")).to_be_checked()
    expect(first.locator(f"#row-{first_id}-state")).to_contain_text("Ready")

    # Row 2, which will be removed, and row 3.
    second = add_row(page)
    second_id = row_id(second)
    choose_service(second, "Graffiti Removal", "What is the graffiti on?")
    second.get_by_label("What is the graffiti on?").select_option(label="Brick or stone")
    second.get_by_label("Is it offensive or hateful?").select_option(label="No")
    second.get_by_label("Address").fill("4700 Osage Ave")
    commit(second.get_by_label("Description"), "Tags on the side wall")
    expect(second.locator(f"#row-{second_id}-state")).to_contain_text("Ready")
    third = add_row(page)
    third_id = row_id(third)
    choose_service(third, "Street Light Outage", "What is wrong with the light?")
    third.get_by_label("What is wrong with the light?").select_option(label="It flickers")
    third.get_by_label("Address").fill("4651 Osage Ave")
    third.get_by_label("ZIP code").fill("19143")
    commit(third.get_by_label("Description"), "Light flickers all night")
    expect(third.locator(f"#row-{third_id}-state")).to_contain_text("Ready")
    expect(page.locator("#batch-summary-rows")).to_have_text("3 rows")
    assert_accessible(page)

    second.get_by_role("button", name="Remove row 2").click()
    page.get_by_role("button", name="Yes, remove row 2").click()
    expect(page.locator(f"#row-{second_id}")).to_have_count(0)
    expect(page.locator(f"#row-{third_id}-number")).to_have_text("2")
    expect(page.locator("#batch-summary-rows")).to_have_text("2 rows")
    assert_accessible(page)

    # Everything was saved as it was typed: a reload shows the same two rows.
    page.reload()
    expect(page.locator("#batch-rows > fieldset.liaison-grid-row")).to_have_count(2)
    kept = page.locator(f"#row-{first_id}")
    expect(kept.get_by_label("Address")).to_have_value("4630 Osage Ave")
    expect(kept.get_by_label("ZIP code")).to_have_value("19143")
    expect(kept.get_by_label("First name")).to_have_value("Rosalind")
    expect(kept.get_by_label("What kind of damage is it?")).to_have_value("pothole")
    expect(page.locator(f"#row-{third_id}").get_by_label("Address")).to_have_value("4651 Osage Ave")
    expect(page.locator("#batch-summary-ready")).to_have_text("2 ready")

    page.locator("#batch-summary").get_by_role("link", name="Review and submit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review and submit")
    expect(page.locator("#review-to-file")).to_have_text("2 requests to file")
    assert_accessible(page)
    form = page.locator("form[data-submit-once]")
    replay = {
        name: form.locator(f"input[name={name}]").input_value()
        for name in ("csrf_token", "idempotency_key", "revision")
    }
    submit_url = live_server + form.get_attribute("action")
    page.get_by_role("button", name="File 2 requests").click()
    expect(page.locator("#filed-summary")).to_contain_text("2 requests filed")
    expect(page.locator("#filed-requests tbody tr")).to_have_count(2)
    expect(page.locator("#filed-requests")).to_contain_text("4630 Osage Ave")
    assert_accessible(page)

    # The same submit again (a double tap or a retry on a flaky connection) files nothing twice.
    again = page.request.post(submit_url, form=replay)
    assert again.ok
    assert "Nothing was filed twice." in again.text()
    assert batch_count(app, batch_id) == (BatchStatus.SUBMITTED, 2)
    page.reload()
    expect(page.locator("#filed-requests tbody tr")).to_have_count(2)


UPLOAD = (
    "service_code,address,zipcode,description,attribute:defect_type,attribute:hazard_now,"
    "attribute:light_issue,neighbor_first_name,contact_consent\n"
    "SR-ST01,4610 Springfield Ave,19143,Pothole at the bus stop,pothole,yes,,,\n"
    "SR-ST04,4622 Springfield Ave,191,Light out over the crosswalk,,,out,,\n"
    "SR-ST04,4701 Springfield Ave,19143,Light flickers,,,flickering,,\n"
    "SR-XX99,4705 Springfield Ave,19143,Broken bench at the corner,,,,,\n"
    "SR-ST01,4800 Springfield Ave,19143,Sinking utility cover,utility_cover,no,,Hector,yes\n"
    "SR-ST04,4810 Springfield Ave,19143,Pole leaning after a crash,,,damaged_pole,,\n"
)


def prepare_upload(app: Flask, email: str) -> tuple[int, int]:
    """A draft batch of the liaison, and an open request (another liaison's, filed days ago) at
    the address of the upload's first row: (batch id, open request id)."""
    with app.test_request_context():
        liaison = find_user_by_email(email)
        batch = batches.start_batch(liaison, batches.BatchInput(title="Springfield Ave cleanup day"))
        db.session.commit()
        street_defect = db.session.query(ServiceType).filter_by(code="SR-ST01").one()
        neighbor_liaison = find_user_by_email("thuy.nguyen@example.org")
        existing = factories.make_service_request(
            neighbor_liaison,
            street_defect,
            address="4610 Springfield Avenue",
            normalized_address=normalize_address("4610 Springfield Avenue"),
            description="Pothole reported at the church meeting",
        )
        return batch.id, existing.id


def test_on_a_laptop_a_liaison_uploads_a_file_fixes_its_bad_rows_drops_a_duplicate_and_files_the_rest(
    page: Page, live_server: str, app: Flask, certified_demo_liaison: str, assert_accessible: AssertAccessible
) -> None:
    batch_id, existing_id = prepare_upload(app, certified_demo_liaison)
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server, certified_demo_liaison)
    page.goto(f"{live_server}/requests/batches/{batch_id}")
    page.locator("#batch-summary").get_by_role("link", name="Upload a file of rows").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Upload requests")
    assert_accessible(page)
    page.locator("#upload-section input[type=file]").set_input_files(
        {"name": "springfield.csv", "mimeType": "text/csv", "buffer": UPLOAD.encode()}
    )
    page.get_by_role("button", name="Upload and check").click()
    report = page.locator("#upload-report")
    expect(report).to_contain_text("6 rows imported from springfield.csv")
    expect(report).to_contain_text("2 rows have problems")
    problems = page.locator("#row-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("3")
    expect(problems.nth(0)).to_contain_text("Enter a 5-digit ZIP code")
    expect(problems.nth(1)).to_contain_text("5")
    assert_accessible(page)

    # On the batch page, only the two rows that need fixing; fix both in the browser.
    page.get_by_role("link", name="Go to the batch and fix rows").click()
    expect(page.locator("#batch-summary-problems")).to_have_text("2 need fixing")
    page.locator("#batch-summary").get_by_role("link", name="Show only the rows that need fixing").click()
    bad = page.locator("#batch-rows > fieldset.liaison-grid-row")
    expect(bad).to_have_count(2)
    assert_accessible(page)
    zip_row = page.locator(f"#{bad.nth(0).get_attribute('id')}")
    service_row = page.locator(f"#{bad.nth(1).get_attribute('id')}")
    expect(zip_row).to_contain_text("line 3 of the file")
    commit(zip_row.get_by_label("ZIP code"), "19143")
    expect(zip_row.get_by_text("Ready")).to_be_visible()
    expect(service_row.get_by_label("Service")).to_have_attribute("aria-invalid", "true")
    choose_service(service_row, "Street Defect", "What kind of damage is it?")
    service_row.get_by_label("What kind of damage is it?").select_option(label="Buckled or raised pavement")
    service_row.get_by_label("Is it a danger to people or cars right now?").select_option(label="No")
    expect(service_row.get_by_text("Ready")).to_be_visible()
    expect(page.locator("#batch-summary-problems")).to_have_text("0 need fixing")
    assert_accessible(page)

    # Review: the first row repeats the open request, shown beside it; the liaison drops it.
    page.locator("#batch-summary").get_by_role("link", name="Review and submit").click()
    flag = page.locator(".liaison-flag")
    expect(flag).to_have_count(1)
    expect(flag).to_contain_text("Row 1")
    expect(flag).to_contain_text("4610 Springfield Ave")
    expect(flag).to_contain_text(f"Request #{existing_id}")
    expect(flag).to_contain_text("Submitted")
    expect(flag).to_contain_text("filed today")
    expect(page.locator("#review-to-file")).to_have_text("6 requests to file")
    assert_accessible(page)
    flag.locator("label", has_text="Drop: do not file it").click()
    expect(page.locator(".liaison-flag")).to_contain_text("Dropped")
    expect(page.locator("#review-to-file")).to_have_text("5 requests to file")
    expect(page.locator("#review-dropped")).to_have_text("1 row dropped as a duplicate")
    assert_accessible(page)
    page.get_by_role("button", name="File 5 requests").click()
    expect(page.locator("#filed-summary")).to_contain_text("5 requests filed")
    expect(page.locator("#filed-requests")).not_to_contain_text("4610 Springfield")
    assert_accessible(page)
    assert batch_count(app, batch_id) == (BatchStatus.SUBMITTED, 5)


def file_a_batch(app: Flask, email: str) -> tuple[int, list[tuple[int, str]]]:
    """Three requests filed by the liaison through the services, one with a neighbor's contact:
    the batch id and each request's (id, public token), in row order."""
    rows = [
        {
            "service_code": "SR-PR08",
            "address": "5210 Walnut St",
            "zipcode": "19143",
            "description": "Dead tree leaning over the playground",
            "attributes": {"tree_issue": "dead"},
            "neighbor_first_name": "Ophelia",
            "neighbor_phone": "215-555-0123",
            "contact_consent": "yes",
        },
        {
            "service_code": "SR-PR08",
            "address": "5222 Walnut St",
            "description": "Roots lifting the sidewalk",
            "attributes": {"tree_issue": "roots"},
        },
        {
            "service_code": "SR-CL02",
            "address": "5300 Walnut St",
            "description": "Lot full of trash",
            "attributes": {"lot_conditions": ["trash"]},
        },
    ]
    with app.test_request_context():
        liaison = find_user_by_email(email)
        batch = batches.start_batch(liaison, batches.BatchInput(title="Walnut St tree walk"))
        for values in rows:
            batches.add_row(liaison, batch, values)
        submission.submit_batch(liaison, batch.id, idempotency_key="journey-walnut-1", revision=batch.revision)
        db.session.commit()
        filed = db.session.query(ServiceRequest).filter_by(batch_id=batch.id).order_by(ServiceRequest.batch_position)
        return batch.id, [(request.id, request.public_token) for request in filed]


def test_a_coordinator_moves_filed_requests_along_and_the_liaison_and_a_stranger_see_the_new_status(
    page: Page,
    browser: Browser,
    live_server: str,
    app: Flask,
    certified_demo_liaison: str,
    assert_accessible: AssertAccessible,
) -> None:
    batch_id, filed = file_a_batch(app, certified_demo_liaison)
    (tree_id, tree_token), (roots_id, _), (lot_id, _) = filed

    context = browser.new_context()
    try:
        coordinator = context.new_page()
        coordinator.set_default_timeout(20_000)
        log_in(coordinator, live_server, COORDINATOR)
        coordinator.get_by_role("link", name="Requests", exact=True).click()
        coordinator.get_by_label("Batch number").fill(str(batch_id))
        coordinator.get_by_label("Batch number").press("Enter")
        expect(coordinator.locator("#request-results")).to_contain_text("3 requests")
        coordinator.locator("#state").select_option("open")
        expect(coordinator.locator("#request-results")).to_contain_text("3 requests")
        assert_accessible(coordinator)
        for request_id in (tree_id, roots_id):
            coordinator.locator(f"label[for=select-{request_id}]").click()
            expect(coordinator.locator(f"#select-{request_id}")).to_be_checked()
        coordinator.get_by_label("New status").select_option("in_progress")
        coordinator.locator("#bulk-note").fill("Tree crew booked for Thursday")
        coordinator.get_by_role("button", name="Change the status of the selected requests").click()
        expect(coordinator.locator("#request-results")).to_contain_text("2 requests moved to “In progress”.")
        expect(coordinator.locator(f"#request-{tree_id}")).to_contain_text("In progress")
        expect(coordinator.locator(f"#request-{lot_id}")).to_contain_text("Submitted")
        assert_accessible(coordinator)
    finally:
        context.close()

    # The liaison sees the new statuses on the batch and the note in the request's history.
    log_in(page, live_server, certified_demo_liaison)
    page.get_by_role("link", name="My requests").click()
    page.get_by_role("link", name="Walnut St tree walk").click()
    expect(page.locator(f"#request-{tree_id}")).to_contain_text("In progress")
    expect(page.locator(f"#request-{lot_id}")).to_contain_text("Submitted")
    assert_accessible(page)
    page.get_by_role("link", name=f"Request #{tree_id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("In progress")
    expect(page.locator("#request-history")).to_contain_text("Tree crew booked for Thursday")
    expect(page.locator("#request-history")).to_contain_text("In progress")
    assert_accessible(page)
    status_link = page.locator(f"a[href$='/status/{tree_token}']")
    expect(status_link).to_be_visible()
    status_url = status_link.get_attribute("href")

    # A stranger opens the public page from that link: the status, and nothing personal.
    stranger_context = browser.new_context()
    try:
        stranger = stranger_context.new_page()
        stranger.set_default_timeout(20_000)
        stranger.goto(status_url if status_url.startswith("http") else live_server + status_url)
        expect(stranger.locator("#request-state")).to_contain_text("In progress")
        html = stranger.content()
        for private in ("Ophelia", "215-555-0123", "5210 Walnut"):
            assert private not in html
        assert_accessible(stranger)
    finally:
        stranger_context.close()
