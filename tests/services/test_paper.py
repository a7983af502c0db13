"""Paper for meetings: the intake sheet of a draft batch and the meeting packet of an area."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
import segno
from flask_babel import force_locale
from sqlalchemy import insert

from liaison.certificates.pdf import QR_BORDER, QR_MASK
from liaison.db_types import utcnow
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.service_requests import paper, paper_pdf
from liaison.service_requests.models import BatchStatus, RequestState, ServiceRequest
from tests import factories
from tests.services.test_certificate_pdf import Canary, canary, embedded_files, pdf_text, svg_modules  # noqa: F401

BASE_URL = "http://localhost/"
NEIGHBOR = {
    "neighbor_first_name": "Rosalind",
    "neighbor_last_name": "Quintanilla-Brooks",
    "neighbor_phone": "215-555-0199",
    "neighbor_email": "rosalind.qb@example.org",
    "contact_consent": True,
}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def people(app_ctx):
    liaison = factories.make_certified_liaison(full_name="Lena Liaison")
    other = factories.make_certified_liaison(full_name="Octavia Otherliaison")
    pothole = factories.make_service_type("SR-ST01", name="Street Defect")
    light = factories.make_service_type(
        "SR-ST04",
        name="Street Light Outage",
        attributes=[
            {
                "code": "pole_number",
                "datatype": "string",
                "required": True,
                "description": {"en": "Pole number", "es": "Número de poste"},
            },
            {"code": "light_color", "datatype": "string", "description": {"en": "Light color"}},
        ],
    )
    return {"liaison": liaison, "other": other, "pothole": pothole, "light": light}


def sheet_pdf(liaison, batch, options=None, language="en"):
    options = options or paper.SheetOptions(language=language)
    with force_locale(options.language):
        sheet = paper.intake_sheet(liaison, batch.id, options)
        return sheet, paper_pdf.render_intake_sheet_pdf(sheet, base_url=BASE_URL)


# Intake sheet -----------------------------------------------------------------------------------


def test_the_sheet_numbers_its_rows_after_the_rows_already_in_the_batch(people):
    batch = factories.make_batch(people["liaison"], rows=[{"service_code": "SR-ST01"}] * 3)

    sheet, data = sheet_pdf(people["liaison"], batch, paper.SheetOptions(rows=5))

    assert sheet.row_numbers == [4, 5, 6, 7, 8]
    # The numbers printed in the first column, after the table's header on each page.
    printed = " ".join(re.findall(r"OK to contact((?: \d+(?![\d.]))+)", pdf_text(data))).split()
    assert printed == ["4", "5", "6", "7", "8"]


def test_the_sheet_has_the_title_date_neighborhood_program_and_the_batch_address(people):
    from datetime import date

    batch = factories.make_batch(
        people["liaison"], title="Cedar Park civic meeting, March", meeting_date=date(2031, 3, 14)
    )

    _sheet, data = sheet_pdf(people["liaison"], batch)

    text = pdf_text(data)
    assert "Cedar Park civic meeting, March" in text
    assert "March 14, 2031" in text
    assert "Cedar Park" in text
    assert "Neighborhood Liaison Program".upper() in text.upper()
    assert f"http://localhost/requests/batches/{batch.id}" in squeeze(text)
    assert "OK to contact" in text
    assert text.count("agree that the program may call or email you") == 1


def test_the_qr_code_of_the_sheet_encodes_the_batch_page_at_the_public_address(people, app_ctx):
    app_ctx.config["PUBLIC_BASE_URL"] = "https://liaison.example.org"
    batch = factories.make_batch(people["liaison"])

    with force_locale("en"):
        sheet = paper.intake_sheet(people["liaison"], batch.id, paper.SheetOptions())
        html = paper_pdf.intake_sheet_html(sheet)

    expected = f"https://liaison.example.org/requests/batches/{batch.id}"
    assert sheet.batch_url == expected
    embedded = re.search(r"<svg\b.*?</svg>", html, re.S)[0]
    reference = segno.make_qr(expected, error="m", mask=QR_MASK)
    assert svg_modules(embedded) == [[int(bool(m)) for m in row] for row in reference.matrix_iter(border=QR_BORDER)]


def test_the_sheet_lists_every_active_service_with_its_code_and_what_else_to_write(people):
    retired = factories.make_service_type("SR-OLD1", name="Retired service", active=False)
    batch = factories.make_batch(people["liaison"])

    _sheet, data = sheet_pdf(people["liaison"], batch)

    text = pdf_text(data)
    assert "SR-ST01 Street Defect" in text
    assert "SR-ST04 Street Light Outage" in text
    assert "Pole number" in text
    assert "Light color (if known)" in text
    assert retired.code not in text


def test_the_sheet_in_spanish_names_the_services_in_spanish(people):
    spanish = factories.make_service_type("SR-CL01", name="Graffiti Removal")
    spanish.name = {"en": "Graffiti Removal", "es": "Eliminación de grafiti"}
    db.session.commit()
    batch = factories.make_batch(people["liaison"])

    _sheet, data = sheet_pdf(people["liaison"], batch, language="es")

    text = pdf_text(data)
    assert "Eliminación de grafiti" in text
    assert "Número de poste" in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert str(reader.trailer["/Root"]["/Lang"]).startswith("es")


def test_the_sheet_is_landscape_letter_tagged_and_a_long_sheet_runs_onto_more_pages(people):
    batch = factories.make_batch(people["liaison"])

    _sheet, short = sheet_pdf(people["liaison"], batch, paper.SheetOptions(rows=5))
    _sheet, long = sheet_pdf(people["liaison"], batch, paper.SheetOptions(rows=40))

    reader = pypdf.PdfReader(io.BytesIO(short))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (792, 612)  # 11 x 8.5 inches
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert len(pypdf.PdfReader(io.BytesIO(long)).pages) > len(reader.pages)
    assert "40" in pdf_text(long)


def test_another_liaisons_batch_has_no_sheet_and_a_submitted_batch_is_refused(people):
    theirs = factories.make_batch(people["other"])
    mine = factories.make_batch(people["liaison"], status=BatchStatus.SUBMITTED)

    with pytest.raises(NotFound):
        paper.intake_sheet(people["liaison"], theirs.id, paper.SheetOptions())
    with pytest.raises(Conflict):
        paper.intake_sheet(people["liaison"], mine.id, paper.SheetOptions())


@pytest.mark.parametrize(
    ("args", "field"),
    [({"rows": "4"}, "rows"), ({"rows": "41"}, "rows"), ({"rows": "ten"}, "rows"), ({"language": "fr"}, "language")],
)
def test_sheet_options_out_of_range_are_refused_by_field(app_ctx, args, field):
    with pytest.raises(ValidationFailed) as refused:
        paper.sheet_options(args, "en")

    assert refused.value.field == field


def test_sheet_options_default_to_fifteen_rows_in_the_users_language(app_ctx):
    assert paper.sheet_options({}, "es") == paper.SheetOptions(rows=15, language="es")
    assert paper.sheet_options({"rows": "40", "language": "en"}, "es") == paper.SheetOptions(rows=40, language="en")


def test_a_hostile_batch_title_fetches_nothing_embeds_nothing_and_is_printed_as_typed(people, canary):  # noqa: F811
    title = f"<link rel=attachment href=file:///etc/passwd><img src={canary.url('/img')}>"
    batch = factories.make_batch(people["liaison"], title=title)

    _sheet, data = sheet_pdf(people["liaison"], batch)

    assert canary.requests == []
    assert embedded_files(data) == []
    assert squeeze(title) in squeeze(pdf_text(data))


def test_the_sheet_takes_the_same_queries_whatever_the_batch_size(people, count_queries):
    small = factories.make_batch(people["liaison"], rows=[{"service_code": "SR-ST01"}])
    large = factories.make_batch(people["liaison"], rows=[{"service_code": "SR-ST01"}] * 300)

    ids = [small.id, large.id]
    counts = []
    for batch_id in ids:
        db.session.expire_all()
        assert people["liaison"].id  # loads the user before counting
        with count_queries() as queries:
            sheet = paper.intake_sheet(people["liaison"], batch_id, paper.SheetOptions())
        counts.append(len(queries))
    assert counts[0] == counts[1] == 4
    assert sheet.row_numbers[0] == 301


# Meeting packet ---------------------------------------------------------------------------------


def filed(liaison, service_type, *, days_ago=5, state=RequestState.SUBMITTED, closed_after=None, **fields):
    now = utcnow()
    requested_at = now - timedelta(days=days_ago)
    closed_at = requested_at + timedelta(days=closed_after) if closed_after is not None else None
    return factories.make_service_request(
        liaison, service_type, state=state, requested_at=requested_at, closed_at=closed_at, **fields
    )


def packet_of(liaison, **options):
    options.setdefault("language", "en")
    with force_locale(options["language"]):
        packet = paper.meeting_packet(liaison, paper.PacketOptions(**options))
        return packet, paper_pdf.render_meeting_packet_pdf(packet, base_url=BASE_URL)


def test_the_packet_counts_open_closed_and_rejected_by_service_in_the_area_and_period(people):
    me, other, pothole, light = people["liaison"], people["other"], people["pothole"], people["light"]
    filed(me, pothole)
    filed(other, pothole, state=RequestState.IN_PROGRESS)
    filed(me, pothole, state=RequestState.CLOSED, days_ago=20, closed_after=2)
    filed(other, light, state=RequestState.REJECTED, days_ago=10, closed_after=1)
    filed(me, light, days_ago=120)  # before the period
    filed(me, light, neighborhood="Elsewhere")  # another area

    packet, data = packet_of(me, period_days=90, neighborhood="Cedar Park")

    by_code = {line.code: line for line in packet.services}
    assert (by_code["SR-ST01"].filed, by_code["SR-ST01"].open, by_code["SR-ST01"].closed) == (3, 2, 1)
    assert (by_code["SR-ST04"].filed, by_code["SR-ST04"].rejected) == (1, 1)
    assert (packet.totals.filed, packet.totals.open, packet.totals.closed, packet.totals.rejected) == (4, 2, 1, 1)
    text = pdf_text(data)
    assert "Meeting packet: Cedar Park" in text
    assert "Street Defect SR-ST01 3 2 1 0" in text
    assert "All services 4 2 1 1" in text


def test_the_median_days_to_close_counts_requests_closed_in_the_period(people):
    me, pothole, light = people["liaison"], people["pothole"], people["light"]
    for days in (2, 4, 10):
        filed(me, pothole, state=RequestState.CLOSED, days_ago=25, closed_after=days)
    filed(me, light, state=RequestState.CLOSED, days_ago=40, closed_after=30)
    filed(me, light, state=RequestState.CLOSED, days_ago=300, closed_after=1)  # closed long ago
    filed(me, light, state=RequestState.REJECTED, days_ago=20, closed_after=1)  # not a fix

    packet, data = packet_of(me, period_days=90)

    by_code = {line.code: line for line in packet.services}
    assert by_code["SR-ST01"].median_days == pytest.approx(4, abs=0.01)
    assert by_code["SR-ST04"].median_days == pytest.approx(30, abs=0.01)
    assert packet.median_days == pytest.approx(7, abs=0.01)
    assert packet.closed_in_period == 4
    text = pdf_text(data)
    assert "Median days to close 7 " in text
    assert "over the 4 requests closed in the period" in text


def test_overdue_items_are_open_requests_older_than_the_limit_filed_at_any_time_oldest_first(people):
    me, other, pothole = people["liaison"], people["other"], people["pothole"]
    old = filed(other, pothole, days_ago=200, address="1234 Cedar Ave, Apt 2")
    newer = filed(me, pothole, days_ago=paper.OVERDUE_DAYS + 2)
    filed(me, pothole, days_ago=paper.OVERDUE_DAYS - 2)  # not overdue yet
    filed(me, pothole, days_ago=200, state=RequestState.CLOSED, closed_after=3)

    packet, data = packet_of(me, period_days=30)

    assert [item.number for item in packet.overdue] == [old.id, newer.id]
    assert packet.overdue_total == 2
    assert packet.overdue[0].age_days == 200
    text = pdf_text(data)
    assert f"#{old.id} Street Defect 1200 block of Cedar Ave" in text
    assert "1234" not in text
    assert "Apt 2" not in text


def test_the_overdue_list_stops_at_its_cap_and_says_how_many_more(people, monkeypatch):
    monkeypatch.setattr(paper, "OVERDUE_LIST_MAX", 3)
    for _ in range(5):
        filed(people["other"], people["pothole"], days_ago=60)

    packet, data = packet_of(people["liaison"], period_days=30)

    assert len(packet.overdue) == 3
    assert packet.overdue_total == 5
    assert "and 2 more requests open this long" in pdf_text(data)


def test_the_packet_shows_no_neighbor_data_no_descriptions_and_no_liaison_names(people):
    me, other, pothole = people["liaison"], people["other"], people["pothole"]
    filed(other, pothole, description="Mrs Haverford-Lutz says the hole is deep", **NEIGHBOR)
    filed(me, pothole, days_ago=60, **NEIGHBOR)

    _packet, data = packet_of(me, period_days=90)

    text = pdf_text(data)
    for private in (*NEIGHBOR.values(), "Haverford", "Lena Liaison", "Octavia Otherliaison"):
        if isinstance(private, str):
            assert private not in text
    assert "215" not in text
    assert embedded_files(data) == []


def test_a_liaison_may_report_on_their_cohort_area_and_areas_they_filed_in_only(people):
    me, other, pothole = people["liaison"], people["other"], people["pothole"]
    filed(me, pothole, neighborhood="Walnut Hill")
    filed(other, pothole, neighborhood="Kingsessing")

    assert paper.packet_neighborhoods(me) == ["Cedar Park", "Walnut Hill"]
    packet, _data = packet_of(me, neighborhood="Walnut Hill")
    assert packet.totals.filed == 1
    with pytest.raises(ValidationFailed) as refused:
        paper.meeting_packet(me, paper.PacketOptions(neighborhood="Kingsessing"))
    assert refused.value.field == "neighborhood"


def test_the_packet_defaults_to_the_cohort_area_and_refuses_other_periods(people):
    assert paper.check_packet_options(paper.PacketOptions(), ["Cedar Park"]).neighborhood == "Cedar Park"
    with pytest.raises(ValidationFailed) as refused:
        paper.check_packet_options(paper.PacketOptions(period_days=60), ["Cedar Park"])
    assert refused.value.field == "period"


def test_a_liaison_without_cohort_or_requests_has_no_area_to_report_on(app_ctx):
    liaison = factories.make_liaison()

    assert paper.packet_neighborhoods(liaison) == []
    with pytest.raises(ValidationFailed) as refused:
        paper.meeting_packet(liaison, paper.PacketOptions())
    assert "no area to report on" in str(refused.value.message)


def test_an_empty_area_gets_a_packet_that_says_so(people):
    _packet, data = packet_of(people["liaison"])

    text = pdf_text(data)
    assert "No requests were filed in this area in the period." in text
    assert "No request in this area has been open that long." in text


def bulk_insert(liaison, service_types, count, *, neighborhood="Cedar Park"):
    """`count` requests spread over a year, a third closed, through one Core insert."""
    now = utcnow()
    rows = []
    for index in range(count):
        requested_at = now - timedelta(days=index % 365, minutes=index)
        closed = index % 3 == 0
        rows.append(
            {
                "public_token": f"bulk{index:08d}{liaison.id:04d}",
                "liaison_id": liaison.id,
                "service_type_id": service_types[index % len(service_types)].id,
                "address": f"{100 + index % 900} Cedar Ave",
                "normalized_address": f"{100 + index % 900} cedar ave",
                "zipcode": "19143",
                "description": "x",
                "neighborhood": neighborhood,
                "state": RequestState.CLOSED if closed else RequestState.SUBMITTED,
                "requested_at": requested_at,
                "updated_at": requested_at,
                "closed_at": requested_at + timedelta(days=index % 17) if closed else None,
                "neighbor_first_name": "Rosalind",
                "contact_consent": False,
                "attributes": {},
            }
        )
    db.session.execute(insert(ServiceRequest), rows)
    db.session.commit()


def test_the_packet_takes_the_same_queries_whatever_the_number_of_requests(people, count_queries):
    me, services = people["liaison"], [people["pothole"], people["light"]]
    filed(me, people["pothole"])

    assert me.id  # loads the user before counting
    with count_queries() as few:
        packet_of(me)
    bulk_insert(me, services, 600)
    assert me.id
    with count_queries() as many:
        packet, _data = packet_of(me)

    assert len(few) == len(many) == 8
    assert packet.totals.filed > 100


def test_a_packet_of_ten_thousand_requests_caps_its_lists(people):
    me, services = people["liaison"], [people["pothole"], people["light"]]
    bulk_insert(me, services, 10_000)
    db.session.expire_all()

    packet, data = packet_of(me, period_days=90)

    assert len(packet.overdue) == paper.OVERDUE_LIST_MAX
    assert packet.overdue_total > paper.OVERDUE_LIST_MAX
    assert packet.totals.filed > 2000
    assert f"and {packet.overdue_more} more requests open this long" in pdf_text(data)
