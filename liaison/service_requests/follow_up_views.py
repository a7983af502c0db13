"""A liaison's word on a closed request (fixed, or disputed and refiled), and coordinators' dispute rates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from liaison.errors import DomainError
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, coordinator_required, liaison_required
from liaison.service_requests import follow_up, tracking
from liaison.service_requests.follow_up_forms import ConfirmFixedForm, DisputeForm, DisputeRateFilterForm
from liaison.service_requests.models import ServiceRequest

bp = Blueprint("follow_up", __name__)
# Pages and their htmx fragments share URLs.
bp.after_request(add_vary_header)
MAX_PAGE = 1_000_000


def follow_up_box(
    service_request: ServiceRequest,
    *,
    confirm_form: ConfirmFixedForm | None = None,
    dispute_form: DisputeForm | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What the follow-up box of a request page needs (the request page includes the box)."""
    return {
        "state": follow_up.follow_up_state(acting_user(), service_request),
        "confirm_form": confirm_form or ConfirmFixedForm(formdata=None),
        "dispute_form": dispute_form or DisputeForm(formdata=None),
        "notice": notice,
        "state_label": tracking.state_label,
    }


bp.add_app_template_global(follow_up_box, "follow_up_box")


def _respond(service_request: ServiceRequest, box: dict[str, Any], status: int = 200) -> Any:
    """The box alone for htmx; otherwise a page with the request's summary and the box."""
    if is_htmx():
        return render_template("service_requests/follow_up/_box.html", box=box), status
    return render_template(
        "service_requests/follow_up/page.html",
        service_request=service_request,
        box=box,
        service_name=tracking.service_name,
        state_label=tracking.state_label,
        state_tags=tracking.STATE_TAGS,
    ), status


@bp.post("/<int:request_id>/confirm")
@csrf_checked_by_form
@liaison_required
def confirm(request_id: int) -> Any:
    liaison = acting_user()
    service_request = tracking.get_request_for(liaison, request_id)
    form = ConfirmFixedForm()
    if not form.validate_on_submit():
        return _respond(service_request, follow_up_box(service_request, confirm_form=form), 422)
    try:
        follow_up.confirm_fixed(liaison, request_id)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error.message))
        service_request = tracking.get_request_for(liaison, request_id)
        return _respond(service_request, follow_up_box(service_request, confirm_form=form), error.status_code)
    db.session.commit()
    notice = _("Thank you: your answer is recorded.")
    if is_htmx():
        service_request = tracking.get_request_for(liaison, request_id)
        return _respond(service_request, follow_up_box(service_request, notice=notice))
    flash(notice, "success")
    return redirect(url_for("my_requests.show", request_id=request_id), 303)


@bp.post("/<int:request_id>/dispute")
@csrf_checked_by_form
@liaison_required
def dispute(request_id: int) -> Any:
    liaison = acting_user()
    service_request = tracking.get_request_for(liaison, request_id)
    form = DisputeForm()
    if not form.validate_on_submit():
        return _respond(service_request, follow_up_box(service_request, dispute_form=form), 422)
    try:
        refiled = follow_up.dispute(liaison, request_id, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        apply_domain_error(form, error)
        service_request = tracking.get_request_for(liaison, request_id)
        return _respond(service_request, follow_up_box(service_request, dispute_form=form), error.status_code)
    refiled_id = refiled.id
    db.session.commit()
    notice = _(
        "Request #%(number)d is disputed and refiled as request #%(refiled)d.", number=request_id, refiled=refiled_id
    )
    if is_htmx():
        service_request = tracking.get_request_for(liaison, request_id)
        return _respond(service_request, follow_up_box(service_request, notice=notice))
    flash(notice, "success")
    return redirect(url_for("my_requests.show", request_id=refiled_id), 303)


@bp.get("/dispute-rates")
@coordinator_required
def dispute_rates() -> Any:
    filters = DisputeRateFilterForm(request.args)
    valid = filters.validate()
    number = request.args.get("page", 1, type=int) or 1
    rates = follow_up.dispute_rates(
        acting_user(),
        period_days=filters.period_days(),
        by=filters.grouping(),
        page=number if 1 <= number <= MAX_PAGE else 1,
    )
    context = {
        "filters": filters,
        "rates": rates,
        "rates_url": url_for("follow_up.dispute_rates"),
        "queue_url": url_for("request_queue.index"),
    }
    status = 200 if valid else 422
    if is_htmx():
        return render_template("service_requests/follow_up/_rates.html", fragment=True, **context), status
    return render_template("service_requests/follow_up/rates.html", **context), status
