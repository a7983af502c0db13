"""Cohorts: list, create, edit, archive, roster, moves, withdrawals, exports and imports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from flask import Blueprint, current_app, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select

from liaison import page_cache
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import roster_io, services
from liaison.enrollment.cohorts_forms import (
    COHORT_STATUS_LABELS,
    ArchiveCohortForm,
    CohortForm,
    ImportRosterForm,
    MoveMemberForm,
    RosterFilterForm,
    WithdrawMemberForm,
)
from liaison.enrollment.models import Cohort, CohortStatus, Membership
from liaison.enrollment.sessions import cohort_sessions
from liaison.errors import DomainError
from liaison.exports import csv_response, xlsx_response
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, coordinator_required
from liaison.urls import RowUrl

bp = Blueprint("cohorts", __name__)
PER_PAGE = 50
# Problems listed on an import report; the rest are counted.
IMPORT_PROBLEMS_SHOWN = 200


class RosterPagination(Pagination):
    """A page of the roster from services.roster_page (the page's people with their attendance
    and training progress in one query) and services.roster_count."""

    def _query_items(self) -> list[Any]:
        args = self._query_args
        self.roster = services.roster_page(
            args["cohort_id"],
            include_ended=args["include_ended"],
            search=args["search"],
            limit=self.per_page,
            offset=self._query_offset,
        )
        return self.roster.entries  # type: ignore[return-value]

    def _query_count(self) -> int:
        args = self._query_args
        return services.roster_count(args["cohort_id"], include_ended=args["include_ended"], search=args["search"])


@bp.url_defaults
def _keep_cohort_id(endpoint: str, values: dict[str, Any]) -> None:
    # Links built from the query string alone (the shared pagination macro) stay in this cohort.
    view_args = request.view_args if has_request_context() else None
    if (
        "cohort_id" not in values
        and view_args
        and "cohort_id" in view_args
        and current_app.url_map.is_endpoint_expecting(endpoint, "cohort_id")
    ):
        values["cohort_id"] = view_args["cohort_id"]


@dataclass(frozen=True, slots=True)
class RosterLine:
    """A roster row as the template shows it: the entry, its links and its training column,
    built in Python once per row (url_for and a translated, formatted text per row in the
    template cost more than the rest of the row)."""

    entry: services.RosterEntry
    training_url: str
    move_url: str
    withdraw_url: str
    training: str


def _roster_lines(cohort: Cohort, entries: list[services.RosterEntry], required_modules: int) -> list[RosterLine]:
    training_url = RowUrl("oversight.liaison", "user_id")
    move_url = RowUrl("cohorts.move_member", "membership_id", cohort_id=cohort.id)
    withdraw_url = RowUrl("cohorts.withdraw_member", "membership_id", cohort_id=cohort.id)
    # Plural chosen once by the number of required modules; each row fills in how many are done.
    template = ngettext(
        "%(done)s of %(num)d required module",
        "%(done)s of %(num)d required modules",
        required_modules,
        done="%(done)d",
    )
    texts = [template % {"done": done} for done in range(required_modules + 1)] if required_modules else []
    return [
        RosterLine(
            entry,
            training_url(entry.user_id),
            move_url(entry.membership_id),
            withdraw_url(entry.membership_id),
            texts[min(entry.training_done, required_modules)] if required_modules else "",
        )
        for entry in entries
    ]


def _labels() -> dict[str, Any]:
    return {
        "cohort_status_labels": COHORT_STATUS_LABELS,
        "invitation_labels": roster_io.INVITATION_LABELS,
        "membership_labels": roster_io.MEMBERSHIP_STATUS_LABELS,
    }


def _coordinator_choices(selected: list[int]) -> list[tuple[int, str]]:
    # Active coordinators, and any already on the cohort, so saving never drops one silently.
    rows = db.session.execute(
        select(User.id, User.full_name)
        .where(User.role == Role.COORDINATOR, or_(User.active.is_(True), User.id.in_(selected)))
        .order_by(func.lower(User.full_name), User.id)
    )
    return [(user_id, name) for user_id, name in rows]


def _cohort_input(form: CohortForm) -> services.CohortInput:
    return services.CohortInput(
        name=form.name.data or "",
        neighborhood=form.neighborhood.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        capacity=form.capacity.data,
        status=CohortStatus(form.status.data),
        min_sessions_required=form.min_sessions_required.data,
        coordinator_ids=list(form.coordinator_ids.data or []),
    )


# Cohorts ------------------------------------------------------------------------------------


@bp.get("/")
@coordinator_required
def index() -> Any:
    show_archived = request.args.get("archived") == "1"
    cohorts = services.cohorts_overview(include_archived=show_archived)
    return render_template("cohorts/index.html", cohorts=cohorts, show_archived=show_archived, **_labels())


@bp.route("/new", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def create() -> Any:
    me = acting_user()
    form = CohortForm(coordinator_choices=_coordinator_choices([me.id]), coordinator_ids=[me.id])
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(me, _cohort_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Cohort %(name)s created.", name=cohort.name), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    status = 422 if request.method == "POST" else 200
    return render_template("cohorts/form.html", form=form, cohort=None), status


@bp.route("/<int:cohort_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def edit(cohort_id: int) -> Any:
    cohort = services.get_cohort(cohort_id)
    current = [user.id for user in cohort.coordinators]
    form = CohortForm(
        obj=cohort,
        coordinator_choices=_coordinator_choices(current),
        coordinator_ids=current,
    )
    if form.validate_on_submit():
        try:
            services.update_cohort(acting_user(), cohort, _cohort_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Cohort %(name)s saved.", name=cohort.name), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    status = 422 if request.method == "POST" else 200
    return render_template("cohorts/form.html", form=form, cohort=cohort), status


@bp.route("/<int:cohort_id>/archive", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def archive(cohort_id: int) -> Any:
    cohort = services.get_cohort(cohort_id)
    form = ArchiveCohortForm()
    if form.validate_on_submit():
        services.archive_cohort(acting_user(), cohort)
        db.session.commit()
        flash(_("Cohort %(name)s is archived. Its roster and history stay.", name=cohort.name), "success")
        return redirect(url_for("cohorts.index"))
    status = 422 if request.method == "POST" else 200
    members = services.active_member_count(cohort.id)
    return render_template("cohorts/archive.html", form=form, cohort=cohort, members=members), status


@bp.get("/<int:cohort_id>")
@coordinator_required
def detail(cohort_id: int) -> Any:
    """The cohort page (facts, sessions, roster), or its roster alone for htmx's search and pages.

    Either is rendered once per data version (liaison/page_cache.py) for a given query string
    and language: coordinators page and search back and forth through a roster that changes far
    less often than it is looked at, and 50 rows with their training are most of the page's work.
    """
    token = page_cache.read_version()  # before the cohort: the page shows it
    cohort = services.get_cohort(cohort_id)
    fragment = is_htmx()
    key = (
        "cohorts.detail",
        cohort.id,
        fragment,
        tuple(sorted(request.args.items(multi=True))),
        str(get_locale()),
        str(get_timezone()),
        request.script_root,
    )
    body = page_cache.cached(key, lambda: _render_detail(cohort, fragment=fragment), token=token)
    if fragment:
        return body
    return render_template("cohorts/detail.html", cohort=cohort, body=body)


def _render_detail(cohort: Cohort, *, fragment: bool) -> str:
    filters = RosterFilterForm(request.args)
    filters.validate()
    page = RosterPagination(
        cohort_id=cohort.id,
        include_ended=bool(filters.ended.data),
        search=filters.q.data or "",
        per_page=PER_PAGE,
        error_out=False,
    )
    required_modules = page.roster.required_modules
    context = {
        "cohort": cohort,
        "page": page,
        "lines": _roster_lines(cohort, page.items, required_modules),
        "required_modules": required_modules,
        "filters": filters,
        **_labels(),
    }
    if fragment:
        return render_template("cohorts/_roster.html", **context)
    # Unfiltered, the roster's count is the number of active members: no second count.
    unfiltered = not filters.ended.data and not filters.q.data
    return render_template(
        "cohorts/_detail.html",
        members=page.total if unfiltered else services.active_member_count(cohort.id),
        coordinator_names=services.coordinator_names(cohort.id),
        sessions=cohort_sessions(cohort.id),
        **context,
    )


# Roster changes -----------------------------------------------------------------------------


def _member_done(cohort: Cohort, membership_id: int, message: str) -> Any:
    if is_htmx():
        roster = services.roster_page(cohort.id, include_ended=True, membership_id=membership_id)
        return render_template(
            "cohorts/_member_row.html",
            cohort=cohort,
            lines=_roster_lines(cohort, roster.entries, roster.required_modules),
            required_modules=roster.required_modules,
            message=message,
            **_labels(),
        )
    flash(message, "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id))


def _member_prefix(membership: Membership) -> str:
    # Field ids stay unique when several rows of the roster have their form open.
    return f"member-{membership.id}"


def _member_form(action: str, cohort: Cohort, membership: Membership, form: Any) -> Any:
    status = 422 if request.method == "POST" else 200
    context = {"action": action, "cohort": cohort, "membership": membership, "form": form}
    if is_htmx():
        return render_template("cohorts/_member_form_row.html", **context), status
    return render_template("cohorts/member_action.html", **context), status


@bp.route("/<int:cohort_id>/members/<int:membership_id>/move", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def move_member(cohort_id: int, membership_id: int) -> Any:
    cohort = services.get_cohort(cohort_id)
    membership = services.get_membership(membership_id, cohort.id)
    choices = [
        (
            choice.id,
            ngettext(
                "%(name)s (%(num)d free place)", "%(name)s (%(num)d free places)", choice.free_places, name=choice.name
            ),
        )
        for choice in services.cohorts_with_free_places()
        if choice.id != cohort.id
    ]
    form = MoveMemberForm(cohort_choices=choices, prefix=_member_prefix(membership))
    if form.validate_on_submit():
        name = membership.user.full_name
        try:
            moved = services.move_member(acting_user(), membership, form.cohort_id.data, form.reason.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            target = moved.cohort.name
            db.session.commit()
            return _member_done(cohort, membership_id, _("%(name)s moved to %(cohort)s.", name=name, cohort=target))
    return _member_form("move", cohort, membership, form)


@bp.route("/<int:cohort_id>/members/<int:membership_id>/withdraw", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def withdraw_member(cohort_id: int, membership_id: int) -> Any:
    cohort = services.get_cohort(cohort_id)
    membership = services.get_membership(membership_id, cohort.id)
    form = WithdrawMemberForm(prefix=_member_prefix(membership))
    if form.validate_on_submit():
        name = membership.user.full_name
        try:
            services.withdraw_member(acting_user(), membership, form.reason.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            return _member_done(cohort, membership_id, _("%(name)s was withdrawn from this cohort.", name=name))
    return _member_form("withdraw", cohort, membership, form)


# Exports ------------------------------------------------------------------------------------


def _export(cohort_id: int, file_format: str) -> tuple[str, list[str], list[list[Any]]]:
    cohort = services.get_cohort(cohort_id)
    filters = RosterFilterForm(request.args)
    include_ended = bool(filters.ended.data)
    rows = roster_io.export_roster(acting_user(), cohort, file_format=file_format, include_ended=include_ended)
    db.session.commit()
    filename = f"roster-{cohort.name}-{utcnow():%Y-%m-%d}"
    return filename, [str(column) for column in roster_io.ROSTER_EXPORT_COLUMNS], rows


@bp.get("/<int:cohort_id>/roster.csv")
@coordinator_required
def export_csv(cohort_id: int) -> Any:
    filename, header, rows = _export(cohort_id, "csv")
    return csv_response(filename, header, rows)


@bp.get("/<int:cohort_id>/roster.xlsx")
@coordinator_required
def export_xlsx(cohort_id: int) -> Any:
    filename, header, rows = _export(cohort_id, "xlsx")
    return xlsx_response(filename, header, rows, sheet_title=_("Roster"))


# Import -------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def import_roster() -> Any:
    form = ImportRosterForm()
    outcome = None
    filename = ""
    if form.validate_on_submit():
        upload = form.file.data
        # Only the name's last part, shown back to the person; never used as a path.
        filename = PurePath((upload.filename or "").replace("\\", "/")).name[:200]
        data = upload.stream.read(roster_io.MAX_IMPORT_BYTES + 1)
        outcome = roster_io.import_roster(acting_user(), roster_io.parse_roster_file(filename, data))
        if not outcome.problems:
            db.session.commit()
            flash(
                ngettext(
                    "%(num)d application from %(file)s is waiting for review.",
                    "%(num)d applications from %(file)s are waiting for review.",
                    outcome.imported,
                    file=filename,
                ),
                "success",
            )
            target = url_for("cohorts.import_roster")
            if is_htmx():
                return "", 200, {"HX-Redirect": target}
            return redirect(target)
        db.session.rollback()
    status = 422 if request.method == "POST" else 200
    template = "cohorts/_import_form.html" if is_htmx() else "cohorts/import.html"
    problems = list(roster_io.iter_problems(outcome.problems, IMPORT_PROBLEMS_SHOWN)) if outcome else []
    return render_template(
        template, form=form, outcome=outcome, problems=problems, filename=filename, max_rows=roster_io.MAX_IMPORT_ROWS
    ), status


@bp.get("/import/template.csv")
@coordinator_required
def import_template() -> Any:
    return csv_response("liaison-roster-import-template", roster_io.template_header(), [])
