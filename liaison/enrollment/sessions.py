"""Training sessions and attendance."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, func, select

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.enrollment.models import (
    Attendance,
    Cohort,
    Membership,
    MembershipStatus,
    SessionKind,
    TrainingSession,
)
from liaison.errors import NotFound, ValidationFailed
from liaison.extensions import db
from liaison.signals import progress_changed


@dataclass
class SessionInput:
    """What a coordinator enters to schedule a session."""

    title: str
    kind: SessionKind
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    link: str = ""
    capacity: int | None = None
    notes: str = ""


def _apply(session: TrainingSession, data: SessionInput) -> None:
    if data.ends_at <= data.starts_at:
        raise ValidationFailed(_l("The session must end after it starts."), field="ends_at")
    if data.kind is SessionKind.IN_PERSON and not data.location.strip():
        raise ValidationFailed(_l("Say where the session takes place."), field="location")
    if data.kind is SessionKind.VIRTUAL and not data.link.strip():
        raise ValidationFailed(_l("Give the link to join the session."), field="link")
    if data.link and not data.link.strip().lower().startswith("https://"):
        raise ValidationFailed(_l("The link must start with https://"), field="link")
    if data.capacity is not None and data.capacity < 1:
        raise ValidationFailed(_l("Capacity must be at least 1."), field="capacity")
    session.title = data.title.strip()
    session.kind = data.kind
    session.starts_at = data.starts_at
    session.ends_at = data.ends_at
    session.location = data.location.strip()
    session.link = data.link.strip()
    session.capacity = data.capacity
    session.notes = data.notes.strip()


def schedule_session(actor: User, cohort: Cohort, data: SessionInput) -> TrainingSession:
    """Add a session to a cohort's calendar."""
    session = TrainingSession(cohort_id=cohort.id)
    _apply(session, data)
    db.session.add(session)
    db.session.flush()
    record_event(actor, "session.scheduled", session, cohort_id=cohort.id)
    return session


def update_session(actor: User, session: TrainingSession, data: SessionInput) -> None:
    """Change a session's details."""
    _apply(session, data)
    record_event(actor, "session.updated", session)


def cancel_session(actor: User, session: TrainingSession) -> None:
    """Remove a session (and its attendance) from the calendar."""
    record_event(actor, "session.cancelled", session, cohort_id=session.cohort_id, title=session.title)
    db.session.delete(session)


def get_session(session_id: int, cohort_id: int | None = None) -> TrainingSession:
    """The session (in that cohort when given), or NotFound."""
    session = db.session.get(TrainingSession, session_id)
    if session is None or (cohort_id is not None and session.cohort_id != cohort_id):
        raise NotFound()
    return session


def set_attendance(actor: User, session: TrainingSession, user_id: int, present: bool) -> Attendance:
    """Record whether a cohort member attended; only active members of the cohort count."""
    member = db.session.scalar(
        select(Membership.id).where(
            Membership.cohort_id == session.cohort_id,
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if member is None:
        raise NotFound(_l("That person is not in this cohort."))
    attendance = db.session.get(Attendance, (session.id, user_id))
    if attendance is None:
        attendance = Attendance(session_id=session.id, user_id=user_id)
        db.session.add(attendance)
    changed = attendance.present != present
    attendance.present = present
    attendance.recorded_by_id = actor.id
    attendance.recorded_at = utcnow()
    if changed:
        progress_changed.send(actor, user_id=user_id)
        record_event(
            actor,
            "attendance.changed",
            session,
            user_id=user_id,
            present=present,
        )
    return attendance


def attendance_sheet(session: TrainingSession) -> list[tuple[User, bool]]:
    """Every active member of the session's cohort and whether they attended (one query)."""
    rows = db.session.execute(
        select(User, func.coalesce(Attendance.present, False))
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(Attendance, (Attendance.user_id == User.id) & (Attendance.session_id == session.id))
        .where(Membership.cohort_id == session.cohort_id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(func.lower(User.full_name), User.id)
    ).all()
    return [(user, bool(present)) for user, present in rows]


def sessions_attended(user_id: int, cohort_id: int) -> int:
    """How many of the cohort's sessions the liaison attended (for the certification rule)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(Attendance.user_id == user_id, Attendance.present.is_(True), TrainingSession.cohort_id == cohort_id)
        )
        or 0
    )


def upcoming_sessions(cohort_id: int, *, now: datetime | None = None, limit: int = 5) -> list[TrainingSession]:
    """The cohort's next sessions, soonest first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(TrainingSession.cohort_id == cohort_id, TrainingSession.ends_at >= now)
            .order_by(TrainingSession.starts_at)
            .limit(limit)
        )
    )


@functools.cache
def _cohort_sessions_statement() -> Select:
    # Built once per process (building it cost more than running it); cohort_id is bound.
    # Each session's count is read from ix_attendance_session_present alone.
    present = (
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.session_id == TrainingSession.id, Attendance.present.is_(True))
        .scalar_subquery()
    )
    return (
        select(TrainingSession, present)
        .where(TrainingSession.cohort_id == bindparam("cohort_id"))
        .order_by(TrainingSession.starts_at)
    )


def cohort_sessions(cohort_id: int) -> list[tuple[TrainingSession, int]]:
    """All of a cohort's sessions with how many attended each (one query)."""
    return [
        (session, count)
        for session, count in db.session.execute(_cohort_sessions_statement(), {"cohort_id": cohort_id})
    ]
