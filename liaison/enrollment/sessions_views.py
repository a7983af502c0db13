"""Training sessions, attendance and calendar files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from liaison.db_types import utcnow
from liaison.enrollment import calendar
from liaison.enrollment import sessions as training_sessions
from liaison.enrollment.models import Cohort, TrainingSession
from liaison.enrollment.services import active_membership, get_cohort
from liaison.enrollment.sessions_forms import CancelSessionForm, SessionForm
from liaison.errors import DomainError, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, coordinator_required, liaison_required

bp = Blueprint("sessions", __name__)

COORDINATOR_SESSIONS = "/coordinator/cohorts/<int:cohort_id>/sessions"
# A liaison's calendar file holds at most this many upcoming sessions (a cohort has a dozen or so).
CALENDAR_LIMIT = 100


# Coordinators: the cohort's sessions --------------------------------------------------------


@bp.get(COORDINATOR_SESSIONS)
@coordinator_required
def index(cohort_id: int) -> Any:
    cohort = get_cohort(cohort_id)
    sessions = training_sessions.cohort_sessions(cohort.id)
    return render_template("sessions/index.html", cohort=cohort, sessions=sessions)


@bp.route(COORDINATOR_SESSIONS + "/new", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def create(cohort_id: int) -> Any:
    cohort = get_cohort(cohort_id)
    form = SessionForm()
    if form.validate_on_submit():
        try:
            session = training_sessions.schedule_session(acting_user(), cohort, form.to_input())
        except DomainError as error:
            db.session.rollback()
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("%(title)s is scheduled.", title=session.title), "success")
            return redirect(url_for("sessions.index", cohort_id=cohort.id))
    status = 422 if request.method == "POST" else 200
    return render_template("sessions/form.html", cohort=cohort, form=form, session=None), status


@bp.route(COORDINATOR_SESSIONS + "/<int:session_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def edit(cohort_id: int, session_id: int) -> Any:
    cohort = get_cohort(cohort_id)
    session = training_sessions.get_session(session_id, cohort.id)
    form = SessionForm() if request.method == "POST" else SessionForm.for_session(session)
    if form.validate_on_submit():
        try:
            training_sessions.update_session(acting_user(), session, form.to_input())
        except DomainError as error:
            db.session.rollback()
            form.show_error(error)
        else:
            db.session.commit()
            flash(_("%(title)s is saved.", title=session.title), "success")
            return redirect(url_for("sessions.index", cohort_id=cohort.id))
    status = 422 if request.method == "POST" else 200
    return _edit_page(cohort, session, form, CancelSessionForm(formdata=None), status)


@bp.post(COORDINATOR_SESSIONS + "/<int:session_id>/cancel")
@csrf_checked_by_form
@coordinator_required
def cancel(cohort_id: int, session_id: int) -> Any:
    cohort = get_cohort(cohort_id)
    session = training_sessions.get_session(session_id, cohort.id)
    cancel_form = CancelSessionForm()
    if cancel_form.validate_on_submit():
        title = session.title
        training_sessions.cancel_session(acting_user(), session)
        db.session.commit()
        flash(_("%(title)s is cancelled.", title=title), "success")
        return redirect(url_for("sessions.index", cohort_id=cohort.id))
    return _edit_page(cohort, session, SessionForm.for_session(session), cancel_form, 422)


def _edit_page(
    cohort: Cohort, session: TrainingSession, form: SessionForm, cancel_form: CancelSessionForm, status: int
) -> Any:
    present = sum(1 for _user, attended in training_sessions.attendance_sheet(session) if attended)
    return (
        render_template(
            "sessions/form.html",
            cohort=cohort,
            form=form,
            session=session,
            cancel_form=cancel_form,
            present_count=present,
        ),
        status,
    )


# Coordinators: attendance -------------------------------------------------------------------


@bp.get(COORDINATOR_SESSIONS + "/<int:session_id>/attendance")
@coordinator_required
def attendance(cohort_id: int, session_id: int) -> Any:
    session = training_sessions.get_session(session_id, cohort_id)
    sheet = training_sessions.attendance_sheet(session)
    present = sum(1 for _user, attended in sheet if attended)
    return render_template(
        "sessions/attendance.html", session=session, sheet=sheet, present_count=present, total=len(sheet)
    )


@bp.post(COORDINATOR_SESSIONS + "/<int:session_id>/attendance/<int:user_id>")
@coordinator_required
def set_attendance(cohort_id: int, session_id: int, user_id: int) -> Any:
    session = training_sessions.get_session(session_id, cohort_id)
    sheet = training_sessions.attendance_sheet(session)
    member = next(((user, attended) for user, attended in sheet if user.id == user_id), None)
    if member is None:
        raise NotFound(_("That person is not in this cohort."))
    value = request.form.get("present")
    if value not in ("1", "0"):
        raise ValidationFailed(_("Choose present or not present."))
    user, was_present = member
    present = value == "1"
    _record_attendance(session, user_id, present)
    db.session.commit()
    present_count = sum(1 for _user, attended in sheet if attended) - was_present + present
    if present:
        announcement = _("%(name)s is marked present.", name=user.full_name)
    else:
        announcement = _("%(name)s is marked not present.", name=user.full_name)
    if is_htmx():
        return render_template(
            "sessions/_attendance_row.html",
            session=session,
            user=user,
            present=present,
            oob=True,
            present_count=present_count,
            total=len(sheet),
            announcement=announcement,
        )
    flash(announcement, "success")
    return redirect(
        url_for("sessions.attendance", cohort_id=cohort_id, session_id=session_id, _anchor=f"attendee-{user_id}")
    )


def _record_attendance(session: TrainingSession, user_id: int, present: bool) -> None:
    # A double tap or a second coordinator can insert the same attendance row at the same
    # moment (PostgreSQL); the loser of that race applies its choice on top of the winner's.
    for attempt in (1, 2):
        try:
            with db.session.begin_nested():
                training_sessions.set_attendance(acting_user(), session, user_id, present)
        except IntegrityError:
            if attempt == 2:
                raise
        else:
            return


# Liaisons: calendar files -------------------------------------------------------------------


@bp.get("/my/sessions/<int:session_id>.ics")
@liaison_required
def ics(session_id: int) -> Any:
    membership = active_membership(acting_user().id)
    if membership is None:
        raise NotFound()
    session = training_sessions.get_session(session_id, membership.cohort_id)
    return _calendar_response([session], membership.cohort, f"training-session-{session.id}.ics")


@bp.get("/my/sessions.ics")
@liaison_required
def ics_all() -> Any:
    membership = active_membership(acting_user().id)
    if membership is None:
        raise NotFound(_("You are not in a cohort yet, so there are no sessions to add to your calendar."))
    sessions = training_sessions.upcoming_sessions(membership.cohort_id, limit=CALENDAR_LIMIT)
    if not sessions:
        raise NotFound(_("Your cohort has no upcoming sessions yet."))
    return _calendar_response(sessions, membership.cohort, "training-sessions.ics")


def _calendar_response(sessions: Sequence[TrainingSession], cohort: Cohort, filename: str) -> Response:
    body = calendar.render_calendar(
        [calendar.session_event(session, cohort_name=cohort.name) for session in sessions],
        name=cohort.name,
        now=utcnow(),
    )
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
