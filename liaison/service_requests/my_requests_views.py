"""A liaison's own requests: list, search, one request with its history, receipt."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from liaison.auth.models import Role
from liaison.errors import DomainError
from liaison.extensions import db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, liaison_required, role_required
from liaison.service_requests import tracking
from liaison.service_requests.models import BatchStatus
from liaison.service_requests.receipt import render_receipt_pdf
from liaison.service_requests.tracking_forms import ConfirmForm, MyRequestFilterForm

bp = Blueprint("my_requests", __name__)
# Pages and their htmx fragments share URLs.
bp.after_request(add_vary_header)
MAX_PAGE = 1_000_000


class BatchLinks:
    """Links to the batch pages (another part of the app); none when those pages are not there."""

    def __init__(self) -> None:
        try:
            self.index: str | None = url_for("batches.index")
        except BuildError:
            self.index = None

    def show(self, batch_id: int) -> str | None:
        try:
            return url_for("batches.show", batch_id=batch_id)
        except BuildError:
            return None


def _list_context() -> dict[str, Any]:
    liaison = acting_user()
    filters = MyRequestFilterForm(request.args)
    valid = filters.validate()
    number = request.args.get("page", 1, type=int) or 1
    query = tracking.with_list_columns(tracking.filtered_requests(filters.to_filters(), liaison_id=liaison.id))
    page = db.paginate(
        query, page=number if 1 <= number <= MAX_PAGE else 1, per_page=tracking.PER_PAGE, error_out=False
    )
    return {
        "filters": filters,
        "valid": valid,
        "page": page,
        "state_labels": {state: tracking.state_label(state) for state in tracking.STATE_LABELS},
        "state_tags": tracking.STATE_TAGS,
        "requests_url": url_for("my_requests.index"),
        "service_name": tracking.service_name,
    }


@bp.get("/")
@liaison_required
def index() -> Any:
    context = _list_context()
    status = 200 if context["valid"] else 422
    if is_htmx():
        return render_template("service_requests/requests/_results.html", fragment=True, **context), status
    summary = tracking.batch_summary(acting_user())
    filters = context["filters"]
    filters.set_service_types(tracking.service_type_choices())
    filters.set_batches(summary.choices)
    return render_template(
        "service_requests/requests/index.html",
        summary=summary,
        batch_links=BatchLinks(),
        draft=BatchStatus.DRAFT,
        **context,
    ), status


def _show(service_request: Any, *, form: ConfirmForm | None = None, status: int = 200) -> Any:
    return render_template(
        "service_requests/requests/show.html",
        service_request=service_request,
        attributes=tracking.attribute_lines(service_request),
        history=tracking.history(service_request),
        state_label=tracking.state_label,
        event_label=tracking.event_label,
        state_tags=tracking.STATE_TAGS,
        service_name=tracking.service_name,
        can_email=tracking.can_email_receipt(service_request),
        email_form=form or ConfirmForm(formdata=None),
        status_url=tracking.status_url(service_request),
        batch_link=BatchLinks().show,
        # Another request may be another liaison's: named, not linked.
        request_link=lambda _id: None,
        show_liaison=False,
    ), status


@bp.get("/<int:request_id>")
@liaison_required
def show(request_id: int) -> Any:
    return _show(tracking.get_request_for(acting_user(), request_id))


@bp.get("/<int:request_id>/receipt.pdf")
@role_required(Role.LIAISON, Role.COORDINATOR)
def receipt(request_id: int) -> Any:
    service_request = tracking.get_request_for(acting_user(), request_id)
    data = render_receipt_pdf(service_request, base_url=request.url_root)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="request-{service_request.id}-receipt.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:request_id>/receipt/email")
@csrf_checked_by_form
@liaison_required
def email_receipt(request_id: int) -> Any:
    service_request = tracking.get_request_for(acting_user(), request_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _show(service_request, form=form, status=422)
    try:
        tracking.email_receipt(acting_user(), service_request, locale=str(get_locale() or "en"))
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error.message))
        return _show(tracking.get_request_for(acting_user(), request_id), form=form, status=error.status_code)
    db.session.commit()
    flash(_("The receipt is on its way to the neighbor's email."), "success")
    return redirect(url_for("my_requests.show", request_id=request_id), 303)
