"""Reviewing a batch's possible duplicates and submitting it, exactly once.

The review page lists flagged rows beside what they repeat, with a keep/drop form per row (htmx
posts it on change and swaps the row and the summary; without JavaScript its Save button posts
it and the page comes back). The Submit form carries a key made when the page was rendered and
the batch revision shown, so a double click, a retry or a second tab files the batch once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_sqlalchemy.pagination import Pagination

from liaison.certificates.services import filing_gate
from liaison.errors import DomainError, NotFound
from liaison.extensions import db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, liaison_required
from liaison.service_requests import batches
from liaison.service_requests.duplicates import set_duplicate_decision
from liaison.service_requests.models import BatchStatus, RequestBatch
from liaison.service_requests.submission import Review, SubmitResult, review_batch, submit_batch
from liaison.service_requests.submit_forms import DECISION_CHOICES, DecisionForm, SubmitForm
from liaison.service_requests.tracking import STATE_TAGS, state_label
from liaison.service_requests.web import batch_blueprint, page_number

bp = batch_blueprint("batch_submit", __name__)

PER_PAGE = 25
_SESSION_EXPIRED = _l("Your session expired, so the batch was not filed. Check the page and submit again.")


class ListPagination(Pagination):
    """A page of an already computed list (the flagged rows), for the shared pagination macro."""

    def _query_items(self) -> list[Any]:
        items = self._query_args["items"]
        return list(items[self._query_offset : self._query_offset + self.per_page])

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def _context(batch: RequestBatch, review: Review) -> dict[str, Any]:
    return {
        "batch": batch,
        "review": review,
        "gate": filing_gate(acting_user()),
        "submit_form": SubmitForm(formdata=None, idempotency_key=str(uuid.uuid4()), revision=str(batch.revision)),
        "decision_choices": DECISION_CHOICES,
        "state_label": state_label,
        "state_tags": STATE_TAGS,
        "page_number": page_number(request.args.get("page")),
    }


def _review_page(batch: RequestBatch, *, status: int = 200, message: str | None = None) -> Any:
    review = review_batch(acting_user(), batch)
    flags = ListPagination(
        items=review.report.flagged, page=page_number(request.args.get("page")), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "service_requests/submit/review.html", flags=flags, message=message, **_context(batch, review)
    ), status


def _to_batch(batch_id: int) -> Any:
    return redirect(url_for("batches.show", batch_id=batch_id), 303)


@bp.get("/<int:batch_id>/review")
@liaison_required
def review(batch_id: int) -> Any:
    batch = batches.get_own_batch(acting_user(), batch_id)
    if batch.status is not BatchStatus.DRAFT:
        return _to_batch(batch.id)
    return _review_page(batch)


def _flash_result(result: SubmitResult) -> None:
    if not result.replayed:
        flash(ngettext("%(num)d request filed.", "%(num)d requests filed.", result.filed), "success")
    elif result.same_key:
        flash(
            ngettext(
                "This batch was already filed: %(num)d request. Nothing was filed twice.",
                "This batch was already filed: %(num)d requests. Nothing was filed twice.",
                result.filed,
            ),
            "info",
        )
    else:
        flash(_("This batch was already submitted, from another tab or device. Nothing was filed twice."), "info")


@bp.post("/<int:batch_id>/submit")
@csrf_checked_by_form
@liaison_required
def submit(batch_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        if batch.status is not BatchStatus.DRAFT:
            return _to_batch(batch.id)
        csrf_field = getattr(form, "csrf_token", None)
        expired = csrf_field is not None and bool(csrf_field.errors)
        message = _SESSION_EXPIRED if expired else _l("This page is out of date. Reload it and submit again.")
        return _review_page(batch, status=422, message=str(message))
    try:
        result = submit_batch(me, batch.id, idempotency_key=form.idempotency_key.data, revision=int(form.revision.data))
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        batch = batches.get_own_batch(me, batch_id)
        if batch.status is not BatchStatus.DRAFT:
            flash(str(error.message), "error")
            return _to_batch(batch.id)
        return _review_page(batch, status=error.status_code, message=str(error.message))
    db.session.commit()
    _flash_result(result)
    return _to_batch(batch_id)


@bp.post("/<int:batch_id>/rows/<int:row_id>/decision")
@liaison_required
def decide(batch_id: int, row_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id, for_update=True)
    form = DecisionForm()
    message: str | None = None
    status = 200
    if not form.validate():
        message, status = str(form.decision.errors[0] if form.decision.errors else _("Choose keep or drop.")), 422
        db.session.rollback()
    else:
        try:
            set_duplicate_decision(me, batch, row_id, form.decision.data)
        except NotFound:
            raise
        except DomainError as error:
            db.session.rollback()
            message, status = str(error.message), error.status_code
        else:
            db.session.commit()
    batch = batches.get_own_batch(me, batch_id)
    if batch.status is not BatchStatus.DRAFT:
        # Filed meanwhile (another tab): nothing to decide any more; show what was filed.
        flash(message or _("This batch was already submitted; its rows can no longer change."), "error")
        if is_htmx():
            return "", 200, {"HX-Redirect": url_for("batches.show", batch_id=batch.id)}
        return _to_batch(batch.id)
    if not is_htmx():
        if message is None:
            page = request.args.get("page", "")
            args = {"page": page} if page.isdigit() and page != "1" else {}
            return redirect(url_for("batch_submit.review", batch_id=batch.id, **args, _anchor=f"flag-{row_id}"), 303)
        return _review_page(batch, status=status, message=message)
    review = review_batch(me, batch)
    flag = review.report.flag_for(row_id)
    if flag is None:
        # The row is no longer flagged (or the batch was filed): say so where the row was.
        return render_template(
            "service_requests/submit/_gone.html",
            row_id=row_id,
            message=message,
            oob_summary=True,
            **_context(batch, review),
        ), status
    return render_template(
        "service_requests/submit/_flag_response.html", flag=flag, error=message, **_context(batch, review)
    ), status
