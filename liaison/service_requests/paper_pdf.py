"""The intake sheet and the meeting packet as PDFs (WeasyPrint, US Letter landscape, tagged).

Rendering reuses the certificate's deny-by-default URL fetcher and shared fonts
(`liaison.certificates.pdf.html_to_pdf`, which writes tagged PDFs for screen readers) and its QR
helper: nothing is fetched from the network or from the disk outside the static folder. The
templates are `.html`, so every value (a batch title, a neighborhood, an address) is autoescaped.
The bar chart is inline SVG built from numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import format_date, format_decimal

from liaison.certificates.pdf import html_to_pdf, qr_svg
from liaison.service_requests.paper import IntakeSheet, MeetingPacket
from liaison.service_requests.tracking import STATE_LABELS, state_label
from liaison.templating import program_name

# The chart's geometry, in SVG user units (1 unit = 1 pt when printed at the template's width).
CHART_LABEL_WIDTH = 190
CHART_BAR_WIDTH = 300
CHART_ROW_HEIGHT = 18
CHART_BAR_HEIGHT = 12


def intake_sheet_html(sheet: IntakeSheet) -> str:
    """The intake sheet as HTML (autoescaped template), ready for WeasyPrint."""
    batch = sheet.batch
    return render_template(
        "service_requests/paper/intake_sheet_pdf.html",
        sheet=sheet,
        program=program_name(),
        title=batch.title,
        meeting_date=format_date(batch.meeting_date, "long") if batch.meeting_date else "",
        neighborhood=batch.neighborhood,
        qr_code=qr_svg(sheet.batch_url),
        language=sheet.language,
    )


def render_intake_sheet_pdf(sheet: IntakeSheet, *, base_url: str) -> bytes:
    """The intake sheet as PDF bytes; `base_url` is the app's root URL (e.g. request.url_root)."""
    return html_to_pdf(intake_sheet_html(sheet), base_url=base_url)


@dataclass(frozen=True)
class ChartBar:
    """One service's bar: its label and the widths of its open, closed and rejected parts."""

    label: str
    y: float
    open_width: float
    closed_width: float
    rejected_width: float
    total: int
    text_x: float


@dataclass(frozen=True)
class Chart:
    """The bar chart's bars and size, all numbers (the template draws them)."""

    bars: list[ChartBar]
    width: int
    height: int
    label_width: int
    bar_height: int


def packet_chart(packet: MeetingPacket) -> Chart:
    """Bars of the requests filed by service, split into open, closed and rejected."""
    lines = packet.chart_services
    largest = max((line.filed for line in lines), default=0) or 1
    scale = CHART_BAR_WIDTH / largest
    bars = []
    for index, line in enumerate(lines):
        open_width = line.open * scale
        closed_width = line.closed * scale
        rejected_width = line.rejected * scale
        label = line.name if len(line.name) <= 34 else line.name[:33] + "…"
        bars.append(
            ChartBar(
                label=label,
                y=index * CHART_ROW_HEIGHT,
                open_width=round(open_width, 2),
                closed_width=round(closed_width, 2),
                rejected_width=round(rejected_width, 2),
                total=line.filed,
                text_x=round(CHART_LABEL_WIDTH + open_width + closed_width + rejected_width + 4, 2),
            )
        )
    return Chart(
        bars=bars,
        width=CHART_LABEL_WIDTH + CHART_BAR_WIDTH + 40,
        height=max(len(bars), 1) * CHART_ROW_HEIGHT,
        label_width=CHART_LABEL_WIDTH,
        bar_height=CHART_BAR_HEIGHT,
    )


def days_text(days: float | None) -> str:
    """A number of days with one decimal in the current language, or a dash."""
    return format_decimal(round(days, 1), format="#,##0.#") if days is not None else "–"


def meeting_packet_html(packet: MeetingPacket) -> str:
    """The meeting packet as HTML (autoescaped template), ready for WeasyPrint."""
    return render_template(
        "service_requests/paper/meeting_packet_pdf.html",
        packet=packet,
        program=program_name(),
        chart=packet_chart(packet),
        days_text=days_text,
        state_label=state_label,
        state_labels=STATE_LABELS,
        since=format_date(packet.since, "long"),
        until=format_date(packet.generated_at, "long"),
        language=packet.language,
    )


def render_meeting_packet_pdf(packet: MeetingPacket, *, base_url: str) -> bytes:
    """The meeting packet as PDF bytes; `base_url` is the app's root URL."""
    return html_to_pdf(meeting_packet_html(packet), base_url=base_url)
