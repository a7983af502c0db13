"""Printable paper: a batch's meeting intake sheet and the meeting packet of a liaison's area.

Both are for liaisons only (coordinators get 403): the sheet belongs to the liaison's own draft
batch (another liaison's batch is a 404, a submitted batch a 409 page: nothing is left to write
down for it); the packet covers the liaison's cohort neighborhood or one they have filed in,
certified or not. Nothing here changes data, so there is nothing to commit.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale, get_locale

from liaison.errors import DomainError
from liaison.forms import apply_domain_error
from liaison.permissions import acting_user, liaison_required
from liaison.service_requests import paper
from liaison.service_requests.paper_forms import PacketForm
from liaison.service_requests.paper_pdf import render_intake_sheet_pdf, render_meeting_packet_pdf

bp = Blueprint("paper", __name__)


def _language() -> str:
    locale = get_locale()
    language = locale.language if locale is not None else ""
    return language if language in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/batches/<int:batch_id>/intake-sheet.pdf")
@liaison_required
def intake_sheet(batch_id: int) -> Any:
    options = paper.sheet_options(request.args, _language())
    with force_locale(options.language):
        sheet = paper.intake_sheet(acting_user(), batch_id, options)
        data = render_intake_sheet_pdf(sheet, base_url=request.url_root)
    return _pdf(data, f"batch-{batch_id}-intake-sheet.pdf")


def _packet_page(form: PacketForm, choices: list[str], status: int = 200) -> Any:
    form.set_choices(choices, current_app.config["LANGUAGES"])
    if not form.neighborhood.data and choices:
        form.neighborhood.data = choices[0]
    return render_template(
        "service_requests/paper/packet_form.html",
        form=form,
        has_area=bool(choices),
        overdue_days=paper.OVERDUE_DAYS,
        overdue_max=paper.OVERDUE_LIST_MAX,
    ), status


@bp.get("/meeting-packet")
@liaison_required
def packet_form() -> Any:
    form = PacketForm(request.args)
    if not request.args.get("language"):
        form.language.data = _language()
    return _packet_page(form, paper.packet_neighborhoods(acting_user()))


@bp.get("/meeting-packet.pdf")
@liaison_required
def meeting_packet() -> Any:
    me = acting_user()
    form = PacketForm(request.args)
    options = form.to_options(_language())
    languages = current_app.config["LANGUAGES"]
    try:
        with force_locale(options.language if options.language in languages else _language()):
            packet = paper.meeting_packet(me, options)
            data = render_meeting_packet_pdf(packet, base_url=request.url_root)
    except DomainError as error:
        apply_domain_error(form, error)
        return _packet_page(form, paper.packet_neighborhoods(me), error.status_code)
    return _pdf(data, f"meeting-packet-{packet.generated_at:%Y-%m-%d}.pdf")
