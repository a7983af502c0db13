"""What the dashboards show, computed in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask_babel import format_date, format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.services import (
    certificate_state,
    eligibility_from,
    renewal_requirements,
    renewal_window_open,
)
from liaison.enrollment.models import Cohort, TrainingSession
from liaison.enrollment.services import active_membership
from liaison.enrollment.sessions import sessions_attended, upcoming_sessions
from liaison.extensions import db
from liaison.training.services import Progress, progress_for


@dataclass(frozen=True)
class CoordinatorSummary:
    """Headline numbers and recent activity for a coordinator's dashboard."""

    coordinators: int
    liaisons: int
    liaisons_without_password: int
    deactivated: int
    recent_events: list[AuditEvent]


def coordinator_summary(recent: int = 10) -> CoordinatorSummary:
    """Account counts (one grouped query) and the latest audit events (one query)."""
    rows = db.session.execute(
        select(
            User.role,
            User.active,
            (User.password_hash.is_(None)).label("no_password"),
            func.count(),
        ).group_by(User.role, User.active, User.password_hash.is_(None))
    ).all()
    counts = {"coordinators": 0, "liaisons": 0, "no_password": 0, "deactivated": 0}
    for role, active, no_password, count in rows:
        if not active:
            counts["deactivated"] += count
            continue
        if role == Role.COORDINATOR:
            counts["coordinators"] += count
        else:
            counts["liaisons"] += count
            if no_password:
                counts["no_password"] += count
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .options(db.joinedload(AuditEvent.actor))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .limit(recent)
        )
    )
    return CoordinatorSummary(
        coordinators=counts["coordinators"],
        liaisons=counts["liaisons"],
        liaisons_without_password=counts["no_password"],
        deactivated=counts["deactivated"],
        recent_events=events,
    )


@dataclass(frozen=True)
class Step:
    """One step on a liaison's path through the program."""

    title: str
    description: str
    done: bool
    current: bool


def liaison_next_steps(
    user: User,
    *,
    in_cohort: bool = False,
    next_session: TrainingSession | None = None,
    training_complete: bool = False,
) -> list[Step]:
    """The program's steps for this liaison, with the one to do next marked current.

    The current step's text fits where they are: waiting for a cohort, or their next session.
    """
    has_password = user.has_password
    if training_complete:
        training = _l("You read every required module and passed its quiz.")
    elif next_session is not None:
        training = _l(
            "Attend your next session on %(date)s at %(time)s. Then read each module and pass its quiz.",
            date=format_date(next_session.starts_at, "full"),
            time=format_time(next_session.starts_at, "short"),
        )
    elif in_cohort:
        training = _l(
            "Your coordinator will schedule your training sessions. Read each module and pass its quiz; you can retake quizzes."
        )
    else:
        training = _l("Read each module and pass its quiz. You can retake quizzes.")
    definitions = [
        (_l("Set up your account"), _l("You chose a password and can log in from any device."), has_password),
        (
            _l("Join a cohort"),
            _l("You are in a cohort: the group you train with.")
            if in_cohort
            else _l("Your coordinator will place you in a cohort and schedule your training sessions."),
            in_cohort,
        ),
        (_l("Complete training"), training, training_complete),
        (_l("Get certified"), _l("Your certificate lets you file service requests for your neighbors."), False),
        (
            _l("File requests for neighbors"),
            _l("Enter concerns from community meetings and follow them to closure."),
            False,
        ),
    ]
    steps: list[Step] = []
    current_found = False
    for title, description, done in definitions:
        current = not done and not current_found
        current_found = current_found or current
        steps.append(Step(str(title), str(description), done, current))
    return steps


@dataclass(frozen=True)
class LiaisonDashboard:
    """A liaison's cohort, their upcoming sessions, how many they attended, their training
    progress and their steps."""

    cohort: Cohort | None
    upcoming: list[TrainingSession]
    sessions_attended: int
    steps: list[Step]
    training: Progress
    # The certificate box: the liaison's current (or latest revoked) certificate and its state,
    # or, while they have none, what they still miss to earn one.
    certificate: Certificate | None = None
    certificate_state: str = ""
    certificate_missing: list[str] = field(default_factory=list)
    # What renewing needs, while the renewal window is open (None otherwise).
    renewal: Any = None

    @property
    def next_session(self) -> TrainingSession | None:
        return self.upcoming[0] if self.upcoming else None


def liaison_dashboard(user: User, *, now: datetime | None = None) -> LiaisonDashboard:
    """Everything the liaison dashboard shows, in the same few queries whatever the history."""
    training = progress_for(user)
    membership = active_membership(user.id)
    if membership is None:
        return _with_certificate(
            LiaisonDashboard(
                cohort=None,
                upcoming=[],
                sessions_attended=0,
                steps=liaison_next_steps(user, training_complete=training_complete(training)),
                training=training,
            ),
            user,
            now,
        )
    cohort = membership.cohort
    upcoming = upcoming_sessions(cohort.id, now=now)
    return _with_certificate(
        LiaisonDashboard(
            cohort=cohort,
            upcoming=upcoming,
            sessions_attended=sessions_attended(user.id, cohort.id),
            steps=liaison_next_steps(
                user,
                in_cohort=True,
                next_session=upcoming[0] if upcoming else None,
                training_complete=training_complete(training),
            ),
            training=training,
        ),
        user,
        now,
    )


def training_complete(progress: Progress) -> bool:
    """Every required published module is complete (and there is at least one: a program that
    has published nothing yet has not trained anyone)."""
    return bool(progress.required) and progress.all_required_complete


# The certificate box (Certificates issue) ------------------------------------------------------


def dashboard_certificate(user_id: int) -> Certificate | None:
    """The liaison's current (pending or active) certificate, else their latest revoked one: one query."""
    current_first = case(
        (Certificate.status.in_([CertificateStatus.PENDING, CertificateStatus.ACTIVE]), 0),
        else_=1,
    )
    return db.session.scalar(
        select(Certificate)
        .where(Certificate.user_id == user_id)
        .order_by(current_first, Certificate.created_at.desc(), Certificate.id.desc())
        .limit(1)
    )


def _with_certificate(dashboard: LiaisonDashboard, user: User, now: datetime | None) -> LiaisonDashboard:
    """The dashboard with its certificate box: the certificate and its state, or what is missing."""
    certificate = dashboard_certificate(user.id)
    if certificate is not None:
        state = certificate_state(certificate, now).value
        renewal = renewal_requirements(user, certificate, now) if renewal_window_open(certificate, now) else None
        return replace(dashboard, certificate=certificate, certificate_state=state, renewal=renewal)
    missing = eligibility_from(dashboard.cohort, dashboard.training, dashboard.sessions_attended).missing
    return replace(dashboard, certificate_missing=missing)
