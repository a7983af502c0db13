"""The coordinators' request queue: filters, bulk status changes, exports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from liaison.audit import record_event
from liaison.errors import DomainError
from liaison.exports import csv_response, xlsx_response
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, coordinator_required
from liaison.service_requests import forwarding, tracking
from liaison.service_requests.models import ServiceRequest
from liaison.service_requests.tracking_forms import (
    BulkStatusForm,
    ConfirmForm,
    ExportForm,
    QueueFilterForm,
    StatusForm,
    target_choices,
)
from liaison.urls import safe_next_url

bp = Blueprint("request_queue", __name__)
# Pages and their htmx fragments share URLs.
bp.after_request(add_vary_header)
MAX_PAGE = 1_000_000


def _filter_args() -> dict[str, list[str]]:
    # url_for treats names starting with "_" as its own options (_external, _scheme): drop them;
    # "select" and "page" only shape one page view.
    return {key: values for key, values in request.args.lists() if not key.startswith("_") and key != "select"}


# The list ---------------------------------------------------------------------------------------


def _render_queue(
    *,
    bulk_form: BulkStatusForm | None = None,
    export_form: ExportForm | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    filters = QueueFilterForm(request.args)
    if not filters.validate():
        status = 422 if status == 200 else status
    number = request.args.get("page", 1, type=int) or 1
    query = tracking.with_list_columns(tracking.filtered_requests(filters.to_filters()), with_liaison=True)
    page = db.paginate(
        query, page=number if 1 <= number <= MAX_PAGE else 1, per_page=tracking.PER_PAGE, error_out=False
    )
    if bulk_form is None:
        bulk_form = BulkStatusForm(formdata=None)
    if request.args.get("select") == "page" and not bulk_form.request_ids.data:
        # "Select all on this page" without JavaScript: the page comes back with every row ticked.
        bulk_form.request_ids.data = [service_request.id for service_request in page.items]
    filter_args = _filter_args()
    context = {
        "filters": filters,
        "page": page,
        "bulk_form": bulk_form,
        "export_form": export_form or ExportForm(formdata=None),
        "selected": set(bulk_form.request_ids.data or ()),
        "bulk_action": url_for("request_queue.bulk", **filter_args),
        "export_action": url_for("request_queue.export", **filter_args),
        "select_page_url": url_for("request_queue.index", **filter_args, select="page"),
        "queue_url": url_for("request_queue.index"),
        "state_labels": {state: tracking.state_label(state) for state in tracking.STATE_LABELS},
        "state_tags": tracking.STATE_TAGS,
        "service_name": tracking.service_name,
        "export_max": tracking.EXPORT_MAX_ROWS,
        "xlsx_max": tracking.XLSX_MAX_ROWS,
        "message": message,
    }
    if is_htmx():
        return render_template("service_requests/queue/_results.html", fragment=True, **context), status
    filters.set_service_types(tracking.service_type_choices())
    filters.set_choices(tracking.neighborhood_choices())
    return render_template("service_requests/queue/index.html", **context), status


@bp.get("/")
@coordinator_required
def index() -> Any:
    return _render_queue()


@bp.post("/bulk")
@csrf_checked_by_form
@coordinator_required
def bulk() -> Any:
    """A new status for every selected request (or clear their review flag), all or none."""
    form = BulkStatusForm()
    clearing = request.form.get("action") == "clear_review"
    if clearing:
        # Clearing the flag needs a selection only, not a status.
        form.to_state.validators = []
        form.to_state.validate_choice = False
    if form.validate_on_submit():
        try:
            if clearing:
                cleared = tracking.clear_review(acting_user(), form.request_ids.data)
                message = ngettext(
                    "Review flag cleared on %(num)d request.", "Review flag cleared on %(num)d requests.", len(cleared)
                )
            else:
                change = tracking.change_status(
                    acting_user(), form.request_ids.data, form.to_state.data, form.note.data
                )
                message = ngettext(
                    "%(num)d request moved to “%(state)s”.",
                    "%(num)d requests moved to “%(state)s”.",
                    len(change.request_ids),
                    state=tracking.state_label(change.to_state),
                )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(message, "success")
            # htmx follows the redirect with its headers and swaps in the fresh results.
            return redirect(url_for("request_queue.index", **_filter_args()), 303)
    if is_htmx():
        body = render_template(
            "service_requests/queue/_bulk_form.html",
            bulk_form=form,
            bulk_action=url_for("request_queue.bulk", **_filter_args()),
            select_page_url=url_for("request_queue.index", **_filter_args(), select="page"),
        )
        # Only the action bar is redrawn: the ticked rows stay ticked.
        return body, 422, {"HX-Retarget": "#bulk-form", "HX-Reswap": "outerHTML"}
    return _render_queue(bulk_form=form, status=422)


@bp.post("/export")
@csrf_checked_by_form
@coordinator_required
def export() -> Any:
    """The filtered list as CSV or XLSX; with neighbor contact only when asked (audited)."""
    form = ExportForm()
    if form.validate_on_submit():
        filters = QueueFilterForm(request.args)
        filters.validate()
        try:
            result = tracking.export_requests(
                acting_user(),
                filters.to_filters(),
                include_contact=bool(form.include_contact.data),
                max_rows=tracking.XLSX_MAX_ROWS if form.format.data == "xlsx" else tracking.EXPORT_MAX_ROWS,
            )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            name = "requests-with-contacts" if form.include_contact.data else "requests"
            if form.format.data == "xlsx":
                return xlsx_response(name, result.header, result.rows, sheet_title=_("Requests"))
            return csv_response(name, result.header, result.rows)
    return _render_queue(export_form=form, status=422)


# One request ------------------------------------------------------------------------------------


def _show(service_request: ServiceRequest, *, form: StatusForm | None = None, status: int = 200) -> Any:
    form = form or StatusForm(formdata=None)
    targets = tracking.TRANSITIONS[service_request.state]
    form.to_state.choices = [("", _("Choose a status")), *target_choices(targets)]
    return render_template(
        "service_requests/queue/show.html",
        service_request=service_request,
        attributes=tracking.attribute_lines(service_request),
        history=tracking.history(service_request),
        state_label=tracking.state_label,
        event_label=tracking.event_label,
        state_tags=tracking.STATE_TAGS,
        service_name=tracking.service_name,
        status_form=form,
        review_form=ConfirmForm(formdata=None),
        retry_form=ConfirmForm(formdata=None),
        can_change=bool(targets),
        status_url=tracking.status_url(service_request),
        batch_link=lambda batch_id: url_for("request_queue.index", batch=batch_id),
        request_link=lambda request_id: url_for("request_queue.show", request_id=request_id),
        show_liaison=True,
        back_url=safe_next_url(request.args.get("next")) or url_for("request_queue.index"),
    ), status


@bp.get("/<int:request_id>")
@coordinator_required
def show(request_id: int) -> Any:
    return _show(tracking.get_request_for(acting_user(), request_id))


@bp.post("/<int:request_id>/status")
@csrf_checked_by_form
@coordinator_required
def change_status(request_id: int) -> Any:
    service_request = tracking.get_request_for(acting_user(), request_id)
    form = StatusForm()
    form.to_state.choices = [("", ""), *target_choices()]
    if form.validate_on_submit():
        try:
            change = tracking.change_status(acting_user(), [service_request.id], form.to_state.data, form.note.data)
        except DomainError as error:
            db.session.rollback()
            if error.field == "request_ids":
                error.field = "to_state"
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Request #%(number)d is now “%(state)s”.",
                    number=request_id,
                    state=tracking.state_label(change.to_state),
                ),
                "success",
            )
            return redirect(url_for("request_queue.show", request_id=request_id), 303)
    return _show(tracking.get_request_for(acting_user(), request_id), form=form, status=422)


@bp.post("/<int:request_id>/review")
@csrf_checked_by_form
@coordinator_required
def clear_review(request_id: int) -> Any:
    service_request = tracking.get_request_for(acting_user(), request_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            tracking.clear_review(acting_user(), [service_request.id])
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return _show(tracking.get_request_for(acting_user(), request_id), status=error.status_code)
        db.session.commit()
        flash(_("The review flag of request #%(number)d is cleared.", number=request_id), "success")
        return redirect(url_for("request_queue.show", request_id=request_id), 303)
    flash(_("Your session expired. Reload the page and try again."), "error")
    return _show(service_request, status=422)


@bp.post("/<int:request_id>/forwarding/retry")
@csrf_checked_by_form
@coordinator_required
def retry_forwarding(request_id: int) -> Any:
    service_request = tracking.get_request_for(acting_user(), request_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Your session expired. Reload the page and try again."), "error")
        return _show(service_request, status=422)
    if not forwarding.retry_forwarding(service_request.id):
        flash(_("Request #%(number)d is not waiting for a retry.", number=request_id), "error")
        return _show(service_request, status=409)
    record_event(acting_user(), "request.forwarding_retried", service_request)
    db.session.commit()
    flash(
        _("Request #%(number)d goes to 311 with the next run of the forwarding worker.", number=request_id), "success"
    )
    return redirect(url_for("request_queue.show", request_id=request_id), 303)
