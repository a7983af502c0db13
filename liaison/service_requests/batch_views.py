"""A certified liaison's batches: start one, type rows in the grid, fix them, see what was filed.

The grid works two ways with the same row partial: with htmx each row posts itself when it
changes (and rows are added and removed in place); without JavaScript the page is one form that
posts every row on it. Both read the fields named `rows-<row id>-<field>`.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from liaison.certificates.services import filing_gate
from liaison.errors import DomainError
from liaison.extensions import csrf, db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, liaison_required
from liaison.service_requests import batches
from liaison.service_requests.batch_forms import (
    BatchForm,
    DeleteBatchForm,
    GridForm,
    RemoveRowForm,
    posted_row_ids,
    row_values,
    row_view,
    service_options,
)
from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch
from liaison.service_requests.tracking import STATE_TAGS, service_name, state_label
from liaison.service_requests.validation import Catalog, load_catalog
from liaison.service_requests.web import batch_blueprint, page_number

bp = batch_blueprint("batches", __name__)

_SESSION_EXPIRED = _l("Your session expired, so this was not saved. Check what you typed and send it again.")


def _csrf_problem() -> str | None:
    """The message to show when the CSRF token is missing or stale, else None.

    These views check the token themselves (instead of the global guard's bare 400) so a
    refused post comes back with everything that was typed (SECURITY.md pitfall 9).
    """
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return None
    try:
        csrf.protect()
    except CSRFError:
        return str(_SESSION_EXPIRED)
    return None


# The list and a new batch ---------------------------------------------------------------------


@bp.get("/")
@liaison_required
def index() -> Any:
    me = acting_user()
    page = batches.list_batches(me, page_number(request.args.get("page")))
    decision = filing_gate(me)
    return render_template("service_requests/batches/index.html", page=page, decision=decision)


@bp.route("/new", methods=["GET", "POST"])
@csrf_checked_by_form
@liaison_required
def new() -> Any:
    me = acting_user()
    decision = filing_gate(me)
    if not decision.allowed:
        return render_template("service_requests/batches/refused.html", decision=decision), 403
    form = BatchForm(neighborhoods=batches.neighborhood_choices(me))
    if request.method == "GET":
        form.neighborhood.data = batches.home_neighborhood(me)
    if form.validate_on_submit():
        try:
            batch = batches.start_batch(me, form.to_input())
        except DomainError as error:
            db.session.rollback()
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("%(title)s is started. Add its rows below.", title=batch.title), "success")
            return redirect(url_for("batches.show", batch_id=batch.id))
    status = 422 if request.method == "POST" else 200
    return render_template("service_requests/batches/new.html", form=form), status


# The batch page -------------------------------------------------------------------------------


@bp.get("/<int:batch_id>")
@liaison_required
def show(batch_id: int) -> Any:
    batch = batches.get_own_batch(acting_user(), batch_id)
    return _batch_page(
        batch, page=page_number(request.args.get("page")), problems_only=request.args.get("problems") == "1"
    )


def _batch_page(
    batch: RequestBatch,
    *,
    page: int = 1,
    problems_only: bool = False,
    status: int = 200,
    overrides: dict[int, dict[str, Any]] | None = None,
    form_message: str | None = None,
    details_form: BatchForm | None = None,
    delete_form: DeleteBatchForm | None = None,
) -> Any:
    if batch.status is not BatchStatus.DRAFT:
        filed = batches.filed_requests(batch, page)
        return render_template(
            "service_requests/batches/submitted.html",
            batch=batch,
            filed=filed,
            states=batches.filed_states(batch),
            needs_review=batches.needs_review_count(batch),
            state_label=state_label,
            state_tags=STATE_TAGS,
            service_name=service_name,
        ), status
    me = acting_user()
    catalog = load_catalog()
    rows = batches.batch_rows(batch, page, problems_only=problems_only)
    context = _grid_context(batch, catalog)
    overrides = overrides or {}
    views = [
        row_view(row, catalog, batches.merge_values(row.values, overrides[row.id]) if row.id in overrides else None)
        for row in rows.items
    ]
    return render_template(
        "service_requests/batches/show.html",
        rows=rows,
        problems_only=problems_only,
        summary=batches.batch_summary(batch),
        views=views,
        form_message=form_message,
        grid_form=GridForm(formdata=None),
        details_form=details_form or BatchForm.for_batch(batch, batches.neighborhood_choices(me, batch.neighborhood)),
        details_open=details_form is not None,
        delete_form=delete_form or DeleteBatchForm(formdata=None),
        decision=filing_gate(me),
        **context,
    ), status


def _grid_context(batch: RequestBatch, catalog: Catalog) -> dict[str, Any]:
    return {"catalog": catalog, "service_groups": service_options(catalog), "batch": batch}


@bp.post("/<int:batch_id>/details")
@csrf_checked_by_form
@liaison_required
def update_details(batch_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    batches.ensure_draft(batch)
    form = BatchForm(neighborhoods=batches.neighborhood_choices(me, batch.neighborhood))
    if form.validate_on_submit():
        try:
            batches.update_batch_details(me, batch, form.to_input())
        except DomainError as error:
            db.session.rollback()
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("The batch details are saved."), "success")
            return redirect(url_for("batches.show", batch_id=batch.id))
    batch = batches.get_own_batch(me, batch_id)
    return _batch_page(batch, status=422, details_form=form)


@bp.post("/<int:batch_id>/delete")
@csrf_checked_by_form
@liaison_required
def delete(batch_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    batches.ensure_draft(batch)
    form = DeleteBatchForm()
    if form.validate_on_submit():
        title = batch.title
        batches.delete_batch(me, batch)
        db.session.commit()
        flash(_("The draft batch %(title)s is deleted.", title=title), "success")
        return redirect(url_for("batches.index"))
    return _batch_page(batch, status=422, delete_form=form)


# Rows: the whole grid as one form (without JavaScript) ---------------------------------------


@bp.post("/<int:batch_id>/rows")
@csrf_checked_by_form
@liaison_required
def save_rows(batch_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    batches.ensure_draft(batch)
    page = page_number(request.form.get("page"))
    problems_only = request.form.get("problems") == "1"
    catalog = load_catalog()
    ids = posted_row_ids(request.form)
    stored = _stored_services(batch, ids)
    posted = {row_id: row_values(request.form, row_id, catalog, stored.get(row_id, "")) for row_id in ids}
    problem = _csrf_problem()
    if problem is not None:
        return _batch_page(
            batch, page=page, problems_only=problems_only, status=422, overrides=posted, form_message=problem
        )
    saved = batches.save_rows(me, batch, posted, catalog=catalog)
    action = request.form.get("action")
    remove = request.form.get("remove", "")
    if action == "add":
        row = batches.add_row(me, batch, catalog=catalog)
        db.session.commit()
        return redirect(
            url_for(
                "batches.show", batch_id=batch.id, page=batches.page_of_position(row.position), _anchor=f"row-{row.id}"
            )
        )
    db.session.commit()
    if remove.isdigit():
        return redirect(url_for("batches.confirm_remove_row", batch_id=batch.id, row_id=int(remove)))
    with_problems = sum(1 for row in saved if row.errors)
    if with_problems:
        # Everything typed is stored; the page comes back with each message next to its field.
        return _batch_page(
            batch,
            page=page,
            problems_only=problems_only,
            status=422,
            overrides={},
            form_message=ngettext(
                "Saved. %(num)d row on this page needs fixing.",
                "Saved. %(num)d rows on this page need fixing.",
                with_problems,
            ),
        )
    flash(_("Saved."), "success")
    args: dict[str, Any] = {"page": page} if page > 1 else {}
    if problems_only:
        args["problems"] = 1
    return redirect(url_for("batches.show", batch_id=batch.id, **args))


def _stored_services(batch: RequestBatch, ids: list[int]) -> dict[int, str]:
    """The service each posted row was stored with (one query; others' rows simply are not there)."""
    if not ids:
        return {}
    return {
        row_id: str((values or {}).get("service_code") or "")
        for row_id, values in db.session.execute(
            select(BatchRow.id, BatchRow.values).where(BatchRow.batch_id == batch.id, BatchRow.id.in_(ids))
        )
    }


# Rows one at a time (htmx, and the pages behind the row buttons without JavaScript) ----------


@bp.post("/<int:batch_id>/rows/new")
@liaison_required
def add_row(batch_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    catalog = load_catalog()
    row = batches.add_row(me, batch, catalog=catalog)
    db.session.commit()
    if not is_htmx():
        return redirect(
            url_for(
                "batches.show", batch_id=batch.id, page=batches.page_of_position(row.position), _anchor=f"row-{row.id}"
            )
        )
    return _row_response(
        batch, row, catalog, announcement=_("Row %(number)d added.", number=row.position), focus="select"
    )


@bp.get("/<int:batch_id>/rows/<int:row_id>")
@liaison_required
def row(batch_id: int, row_id: int) -> Any:
    batch = batches.get_own_batch(acting_user(), batch_id)
    found = batches.get_row(batch, row_id)
    if not is_htmx():
        return redirect(_row_url(batch, found))
    return _row_response(batch, found, load_catalog(), with_summary=False, focus=".liaison-grid-row__remove")


@bp.post("/<int:batch_id>/rows/<int:row_id>")
@csrf_checked_by_form
@liaison_required
def save_row(batch_id: int, row_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    found = batches.get_row(batch, row_id)
    catalog = load_catalog()
    values = row_values(request.form, found.id, catalog, str((found.values or {}).get("service_code") or ""))
    problem = _csrf_problem()
    if problem is not None:
        if not is_htmx():
            return _batch_page(batch, status=422, overrides={found.id: values}, form_message=problem)
        return _row_response(
            batch,
            found,
            catalog,
            values=batches.merge_values(found.values, values),
            row_message=problem,
            status=400,
            with_summary=False,
        )
    saved = batches.save_row(me, batch, found.id, values, catalog=catalog)
    db.session.commit()
    if not is_htmx():
        flash(_("Row %(number)d is saved.", number=saved.position), "success")
        return redirect(_row_url(batch, saved))
    shown = len(row_view(saved, catalog, live=True).errors)
    if shown:
        announcement = ngettext(
            "Row %(row)d saved. %(num)d problem to fix.",
            "Row %(row)d saved. %(num)d problems to fix.",
            shown,
            row=saved.position,
        )
    elif saved.errors:
        announcement = _("Row %(row)d saved.", row=saved.position)
    else:
        announcement = _("Row %(row)d saved. It is ready.", row=saved.position)
    return _row_response(
        batch, saved, catalog, announcement=announcement, status=422 if saved.errors else 200, live=True
    )


@bp.get("/<int:batch_id>/rows/<int:row_id>/remove")
@liaison_required
def confirm_remove_row(batch_id: int, row_id: int) -> Any:
    batch = batches.get_own_batch(acting_user(), batch_id)
    found = batches.get_row(batch, row_id)
    catalog = load_catalog()
    template = "service_requests/batches/_remove_row.html" if is_htmx() else "service_requests/batches/remove_row.html"
    return render_template(
        template,
        batch=batch,
        row=found,
        form=RemoveRowForm(formdata=None),
        inline=is_htmx(),
        catalog=catalog,
        keep_url=_row_url(batch, found),
    )


@bp.post("/<int:batch_id>/rows/<int:row_id>/remove")
@csrf_checked_by_form
@liaison_required
def remove_row(batch_id: int, row_id: int) -> Any:
    me = acting_user()
    batch = batches.get_own_batch(me, batch_id)
    found = batches.get_row(batch, row_id)
    problem = _csrf_problem()
    if problem is not None:
        catalog = load_catalog()
        if is_htmx():
            return _row_response(batch, found, catalog, row_message=problem, status=400, with_summary=False)
        form = RemoveRowForm()
        form.form_errors.append(problem)
        return render_template(
            "service_requests/batches/remove_row.html",
            batch=batch,
            row=found,
            form=form,
            inline=False,
            catalog=catalog,
            keep_url=_row_url(batch, found),
        ), 422
    shown_ids = posted_row_ids(request.form)
    position = batches.delete_row(me, batch, found.id)
    db.session.commit()
    announcement = _("Row %(number)d removed.", number=position)
    if not is_htmx():
        flash(announcement, "success")
        return redirect(url_for("batches.show", batch_id=batch.id, page=batches.page_of_position(position)))
    # The rows shown after it move up one number; their labels are updated in place.
    renumbered = batches.rows_at(batch, [row_id for row_id in shown_ids if row_id != found.id], position - 1)
    return render_template(
        "service_requests/batches/_removed.html",
        batch=batch,
        summary=batches.batch_summary(batch),
        renumbered=renumbered,
        announcement=announcement,
    )


def _row_url(batch: RequestBatch, row: BatchRow) -> str:
    return url_for(
        "batches.show", batch_id=batch.id, page=batches.page_of_position(row.position), _anchor=f"row-{row.id}"
    )


def _row_response(
    batch: RequestBatch,
    row: BatchRow,
    catalog: Catalog,
    *,
    values: dict[str, Any] | None = None,
    announcement: str = "",
    row_message: str | None = None,
    status: int = 200,
    with_summary: bool = True,
    live: bool = False,
    focus: str | None = None,
) -> Any:
    return render_template(
        "service_requests/batches/_row_response.html",
        view=row_view(row, catalog, values, live=live),
        row_message=row_message,
        focus=focus,
        summary=batches.batch_summary(batch) if with_summary else None,
        announcement=announcement,
        **_grid_context(batch, catalog),
    ), status
