"""The coordinators' applications queue: filters, inline and bulk decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from liaison.audit import AuditEvent
from liaison.auth.services import send_invitation
from liaison.enrollment import services
from liaison.enrollment.apply_forms import (
    APPLICANT_LANGUAGES,
    availability_label,
    group_type_label,
    language_label,
)
from liaison.enrollment.models import Application, ApplicationStatus, GroupType
from liaison.enrollment.queue_forms import (
    STATUS_ORDER,
    BulkDecisionForm,
    DecisionForm,
    QueueFilterForm,
    cohort_choice_label,
    without_nul,
)
from liaison.errors import DomainError
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, coordinator_required
from liaison.urls import safe_next_url

bp = Blueprint("queue", __name__)
# Pages and their htmx fragments share URLs.
bp.after_request(add_vary_header)
PER_PAGE = 50
MAX_PAGE = 1_000_000

STATUS_TAGS = {
    ApplicationStatus.SUBMITTED: "liaison-tag--new",
    ApplicationStatus.WAITLISTED: "liaison-tag--warning",
    ApplicationStatus.APPROVED: "liaison-tag--ok",
    ApplicationStatus.DECLINED: "liaison-tag--muted",
    ApplicationStatus.WITHDRAWN: "liaison-tag--muted",
}
HISTORY_ACTIONS: dict[str, Any] = {
    "application.submitted": _l("Application received"),
    "application.approved": _l("Approved into a cohort"),
    "application.waitlisted": _l("Put on the waiting list"),
    "application.declined": _l("Declined"),
    "application.withdrawn": _l("Withdrawn"),
    "user.created": _l("Account created"),
    "user.invitation_sent": _l("Invitation to set a password emailed"),
    "user.password_set": _l("Password set"),
}
DECISION_ACTIONS = ("application.approved", "application.waitlisted", "application.declined", "application.withdrawn")
ACCOUNT_HISTORY = ("user.created", "user.invitation_sent", "user.password_set")


@bp.app_template_global()
def application_queue_counts() -> dict[ApplicationStatus, int]:
    """Applications per status for dashboards (one grouped query, run only when a template asks)."""
    return services.application_counts()


# Pages ----------------------------------------------------------------------------------------


@bp.get("/")
@coordinator_required
def index() -> Any:
    return _render_queue()


@bp.get("/<int:application_id>")
@coordinator_required
def detail(application_id: int) -> Any:
    application = services.get_application(application_id)
    form = DecisionForm(formdata=None, next=url_for("queue.detail", application_id=application.id))
    return _render_detail(application, form)


# Decisions ------------------------------------------------------------------------------------


@bp.post("/<int:application_id>/decision")
@csrf_checked_by_form
@coordinator_required
def decide(application_id: int) -> Any:
    application = services.get_application(application_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            message = _decide(application, form)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            if is_htmx():
                return _render_row(application, next_url=form.next.data, message=message)
            flash(message, "success")
            return redirect(safe_next_url(form.next.data) or url_for("queue.index"))
    if is_htmx():
        return _render_row(application, next_url=form.next.data, form=form), 422
    # Without JavaScript the refusal is shown on the application's page, with what was typed.
    return _render_detail(application, form), 422


def _decide(application: Application, form: DecisionForm) -> str:
    actor = acting_user()
    note = form.note.data or ""
    name = application.full_name
    if form.decision.data == "approve":
        membership = services.approve_application(actor, application, form.cohort_value or 0, note)
        message = _("%(name)s is approved into %(cohort)s.", name=name, cohort=membership.cohort.name)
        if not membership.user.has_password:
            message += " " + _("An email with a link to set a password is on its way.")
        return message
    if form.decision.data == "waitlist":
        services.waitlist_application(actor, application, note)
        return _("%(name)s is on the waiting list; they were told by email.", name=name)
    services.decline_application(actor, application, note)
    return _("The application from %(name)s is declined.", name=name)


@bp.post("/bulk")
@csrf_checked_by_form
@coordinator_required
def bulk() -> Any:
    form = BulkDecisionForm()
    if form.validate_on_submit():
        ids = form.application_ids.data
        result = services.decide_applications(
            acting_user(), ids, form.decision.data, cohort_id=form.cohort_value, note=form.note.data or ""
        )
        message, category = _bulk_summary(form.decision.data, ids, result)
        db.session.commit()
        flash(message, category)
        # htmx follows the redirect with its headers and swaps in the fresh results.
        return redirect(url_for("queue.index", **_filter_args()), 303)
    if is_htmx():
        form.set_cohort_choices(services.cohorts_with_free_places())
        body = render_template("applications/_bulk_form.html", bulk_form=form, bulk_action=_bulk_action())
        # Only the action bar is redrawn: the ticked rows stay ticked.
        return body, 422, {"HX-Retarget": "#bulk-form", "HX-Reswap": "outerHTML"}
    return _render_queue(bulk_form=form, status=422)


def _bulk_summary(decision: str, ids: Sequence[int], result: services.BulkResult) -> tuple[str, str]:
    done = len(result.done)
    if decision == "approve":
        parts = [ngettext("%(num)d application approved.", "%(num)d applications approved.", done)]
    elif decision == "waitlist":
        parts = [ngettext("%(num)d application waitlisted.", "%(num)d applications waitlisted.", done)]
    else:
        parts = [ngettext("%(num)d application declined.", "%(num)d applications declined.", done)]
    if result.refused:
        # Read before the commit expires them (a refused one may reload: one query each at most).
        names = {id_: getattr(db.session.get(Application, id_), "full_name", "") for id_ in result.refused}
        reasons = "; ".join(
            _("%(name)s — %(reason)s", name=names[id_], reason=reason) for id_, reason in result.refused.items()
        )
        parts.append(
            ngettext(
                "%(num)d could not be: %(reasons)s",
                "%(num)d could not be: %(reasons)s",
                len(result.refused),
                reasons=reasons,
            )
        )
    missing = len(set(ids) - set(result.done) - set(result.refused))
    if missing:
        parts.append(ngettext("%(num)d no longer exists.", "%(num)d no longer exist.", missing))
    return " ".join(parts), ("warning" if result.refused or missing else "success")


@bp.post("/<int:application_id>/invitation")
@coordinator_required
def resend_invitation(application_id: int) -> Any:
    application = services.get_application(application_id)
    user = application.user
    error = None
    if application.status != ApplicationStatus.APPROVED or user is None:
        error = _("There is no account to invite yet: approve the application first.")
    elif not user.active:
        error = _("This account is deactivated; an administrator can reactivate it.")
    elif user.has_password:
        error = _("%(name)s has already set a password and can log in.", name=user.full_name)
    message = None
    if error is None:
        send_invitation(user, actor=acting_user())
        db.session.commit()
        message = _("A new link to set a password was emailed to %(name)s.", name=application.full_name)
    next_url = without_nul(request.form.get("next"))
    if is_htmx():
        return _render_row(application, next_url=next_url, message=message, error=error), 200 if error is None else 422
    flash(error or message, "error" if error else "success")
    return redirect(safe_next_url(next_url) or url_for("queue.detail", application_id=application.id))


# Rendering ------------------------------------------------------------------------------------


def _filter_args() -> dict[str, list[str]]:
    # url_for treats names starting with "_" as its own options (_external, _scheme): drop them.
    return {key: values for key, values in request.args.lists() if not key.startswith("_")}


def _bulk_action() -> str:
    return url_for("queue.bulk", **_filter_args())


def _queue_query(filters: QueueFilterForm) -> Any:
    # Reviewer, cohort and account are shown on every row: load them with the page, not per row.
    return services.applications_query(filters.to_filters()).options(
        joinedload(Application.reviewed_by), joinedload(Application.cohort), joinedload(Application.user)
    )


# Words every row repeats, translated once per page rather than once per row (a 50-row page
# otherwise spends most of its time in gettext).
ROW_WORDS: dict[str, Any] = {
    "select": _l("Select"),
    "applicant": _l("Applicant"),
    "neighborhood": _l("Neighborhood"),
    "group": _l("Group"),
    "languages": _l("Languages"),
    "submitted": _l("Submitted"),
    "status": _l("Status"),
    "decision": _l("Decision"),
    "by": _l("by"),
    "decide": _l("Decide"),
    "cohort": _l("Cohort"),
    "to_approve": _l("(to approve)"),
    "choose_cohort": _l("Choose a cohort"),
    "no_cohort": _l("No cohort has a free place"),
    "note": _l("Note"),
    "to_decline": _l("(required to decline)"),
    "approve": _l("Approve"),
    "waitlist": _l("Waitlist"),
    "decline": _l("Decline"),
    "no_password": _l("Password not set yet."),
    "resend": _l("Resend invitation"),
    "to": _l("to"),
}


def _row_context(next_url: str | None) -> dict[str, Any]:
    cohorts = services.cohorts_with_free_places()
    return {
        "cohort_options": [(str(choice.id), cohort_choice_label(choice)) for choice in cohorts],
        "next_url": safe_next_url(next_url) or url_for("queue.index"),
        # Row links are built from this prefix: url_for per link and row is measurably slow.
        "queue_url": url_for("queue.index"),
        "words": {key: str(word) for key, word in ROW_WORDS.items()},
        "status_names": {state: services.status_label(state) for state in ApplicationStatus},
        "status_tags": STATUS_TAGS,
        "group_names": {group: group_type_label(group) for group in GroupType},
        "language_names": {code: str(name) for code, name in APPLICANT_LANGUAGES.items()},
        "day": _day_formatter(),
        "csrf": generate_csrf(),
    }


def _day_formatter() -> Any:
    """format_date for many rows: each distinct day is formatted once."""
    cache: dict[date, str] = {}

    def day(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = to_user_timezone(moment).date()
        if local not in cache:
            cache[local] = format_date(local, "medium")
        return cache[local]

    return day


def _render_queue(*, bulk_form: BulkDecisionForm | None = None, status: int = 200) -> Any:
    filters = QueueFilterForm(request.args)
    if not filters.validate():
        status = 422
    # A page number beyond any list (or beyond what the database can offset) shows the first.
    number = request.args.get("page", 1, type=int) or 1
    page = db.paginate(
        _queue_query(filters), page=number if 1 <= number <= MAX_PAGE else 1, per_page=PER_PAGE, error_out=False
    )
    counts = services.application_counts()
    context = _row_context(url_for("queue.index", **_filter_args()))
    if bulk_form is None:
        bulk_form = BulkDecisionForm(formdata=None)
    bulk_form.cohort_id.choices = [("", context["words"]["choose_cohort"]), *context["cohort_options"]]
    context.update(
        page=page,
        filters=filters,
        current_status=filters.status_value,
        counts=[(state, counts[state]) for state in STATUS_ORDER],
        total=sum(counts.values()),
        bulk_form=bulk_form,
        bulk_action=_bulk_action(),
        selected=set(bulk_form.application_ids.data or ()),
    )
    if is_htmx():
        return render_template("applications/_results.html", fragment=True, **context), status
    cohorts = [(cohort.id, cohort.name) for cohort, _members in services.cohorts_overview(include_archived=True)]
    filters.set_choices(services.neighborhoods(), cohorts)
    return render_template("applications/index.html", **context), status


def _render_row(
    application: Application,
    *,
    next_url: str | None,
    form: DecisionForm | None = None,
    message: str | None = None,
    error: str | None = None,
) -> str:
    context = _row_context(next_url)
    general_errors = []
    if form is not None:
        general_errors = [*form.form_errors, *form.decision.errors]
        csrf_field = getattr(form, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            general_errors.append(_("Your session expired. Check the form and send it again."))
    return render_template(
        "applications/_row.html",
        application=application,
        form=form,
        general_errors=general_errors,
        message=message,
        error=error,
        **context,
    )


def _history(application: Application) -> list[AuditEvent]:
    """The application's recorded events, and its account's (created, invited, password set)."""
    conditions = [and_(AuditEvent.subject_type == "application", AuditEvent.subject_id == str(application.id))]
    if application.user_id is not None:
        conditions.append(
            and_(
                AuditEvent.subject_type == "user",
                AuditEvent.subject_id == str(application.user_id),
                AuditEvent.action.in_(ACCOUNT_HISTORY),
            )
        )
    return list(
        db.session.scalars(
            select(AuditEvent)
            .options(joinedload(AuditEvent.actor))
            .where(or_(*conditions))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
    )


def _render_detail(application: Application, form: DecisionForm) -> str:
    form.set_cohort_choices(services.cohorts_with_free_places() if application.is_pending else ())
    history = _history(application)
    # The application keeps only the latest decision's note: it belongs to the latest decision event.
    decisions = [event.id for event in history if event.action in DECISION_ACTIONS]
    return render_template(
        "applications/detail.html",
        application=application,
        form=form,
        history=history,
        latest_decision_id=decisions[-1] if decisions else None,
        history_label=lambda action: str(HISTORY_ACTIONS.get(action, action)),
        status_tags=STATUS_TAGS,
        status_label=services.status_label,
        group_type_label=group_type_label,
        language_label=language_label,
        availability_label=availability_label,
    )
