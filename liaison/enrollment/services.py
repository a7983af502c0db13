"""Enrollment rules: applying, reviewing, placing people in cohorts, moving and withdrawing.

Capacity and "one pending application per email" hold under concurrency: the cohort row is
locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers) and
partial unique indexes back the rules in the database itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, String, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from liaison.audit import record_event
from liaison.auth.models import Role, User
from liaison.auth.services import create_user, find_user_by_email, normalise_email, send_invitation
from liaison.db_types import contains_pattern, utcnow
from liaison.enrollment.models import (
    PENDING_STATUSES,
    Application,
    ApplicationSource,
    ApplicationStatus,
    Cohort,
    CohortStatus,
    GroupType,
    Membership,
    MembershipStatus,
    cohort_coordinator,
)
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.mail import queue_mail
from liaison.templating import program_name

logger = logging.getLogger(__name__)


# Applications -------------------------------------------------------------------------------


@dataclass
class ApplicationInput:
    """What an applicant (or an imported roster row) provides."""

    full_name: str
    email: str
    phone: str = ""
    address: str = ""
    zip_code: str = ""
    neighborhood: str = ""
    group_type: GroupType = GroupType.OTHER
    group_name: str = ""
    languages: Sequence[str] = ()
    availability: Sequence[str] = ()
    motivation: str = ""
    consent: bool = False
    preferred_language: str = "en"


DUPLICATE_PENDING_MESSAGE = _l(
    "An application with this email address is already waiting for review. "
    "We will write to you about it; there is no need to apply again."
)


def has_pending_application(email: str) -> bool:
    """Whether an application with this email is submitted or waitlisted."""
    return (
        db.session.scalar(
            select(Application.id)
            .where(Application.email == normalise_email(email), Application.status.in_(PENDING_STATUSES))
            .limit(1)
        )
        is not None
    )


def submit_application(
    data: ApplicationInput,
    *,
    source: ApplicationSource = ApplicationSource.WEB,
    actor: User | None = None,
    notify: bool = True,
) -> Application:
    """Record an application; refuse a second pending one for the same email."""
    if source is ApplicationSource.WEB and not data.consent:
        raise ValidationFailed(_l("Please agree to the program terms to apply."), field="consent")
    email = normalise_email(data.email)
    if has_pending_application(email):
        raise ValidationFailed(DUPLICATE_PENDING_MESSAGE, field="email")
    application = Application(
        full_name=data.full_name.strip(),
        email=email,
        phone=data.phone.strip(),
        address=data.address.strip(),
        zip_code=data.zip_code.strip(),
        neighborhood=data.neighborhood.strip(),
        group_type=data.group_type,
        group_name=data.group_name.strip(),
        languages=list(data.languages),
        availability=list(data.availability),
        motivation=data.motivation.strip(),
        consent=data.consent,
        preferred_language=data.preferred_language,
        source=source,
        status=ApplicationStatus.SUBMITTED,
    )
    db.session.add(application)
    try:
        # The partial unique index catches a concurrent twin that the check above missed.
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(DUPLICATE_PENDING_MESSAGE, field="email") from None
    record_event(actor, "application.submitted", application, source=source.value)
    if notify:
        queue_mail(
            address=application.email,
            template="application_received",
            subject=_l("We received your application to %(program)s", program=program_name()),
            locale=application.preferred_language,
            application=application,
        )
    logger.info("application %s submitted (%s)", application.id, source.value)
    return application


def get_application(application_id: int) -> Application:
    """The application, or NotFound."""
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    return application


def _lock_cohort(cohort_id: int) -> Cohort:
    cohort = db.session.scalar(
        select(Cohort).where(Cohort.id == cohort_id).with_for_update().execution_options(populate_existing=True)
    )
    if cohort is None:
        raise NotFound(_l("That cohort does not exist."))
    return cohort


def active_member_count(cohort_id: int) -> int:
    """How many liaisons hold an active place in the cohort."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE)
        )
        or 0
    )


def _claim_place(cohort_id: int) -> Cohort:
    cohort = _lock_cohort(cohort_id)
    if not cohort.is_open:
        raise Conflict(_l("%(cohort)s is not taking new members.", cohort=cohort.name), field="cohort_id")
    if active_member_count(cohort.id) >= cohort.capacity:
        raise Conflict(
            _l("%(cohort)s is full. Choose another cohort or waitlist the applicant.", cohort=cohort.name),
            field="cohort_id",
        )
    return cohort


def _ensure_reviewable(application: Application, *allowed: ApplicationStatus) -> None:
    if application.status not in allowed:
        raise Conflict(_l("This application was already %(status)s.", status=status_label(application.status)))


def approve_application(actor: User, application: Application, cohort_id: int, note: str = "") -> Membership:
    """Place the applicant in a cohort, create their liaison account and email an invitation."""
    _ensure_reviewable(application, *PENDING_STATUSES)
    cohort = _claim_place(cohort_id)
    user = find_user_by_email(application.email)
    if user is None:
        user = create_user(
            email=application.email,
            full_name=application.full_name,
            role=Role.LIAISON,
            preferred_language=application.preferred_language,
            actor=actor,
        )
    elif user.role != Role.LIAISON:
        raise Conflict(_l("This email belongs to a coordinator account."))
    elif active_membership(user.id) is not None:
        raise Conflict(_l("This person is already in a cohort. Move them from the cohort roster instead."))
    membership = Membership(cohort_id=cohort.id, user_id=user.id, application_id=application.id)
    db.session.add(membership)
    application.status = ApplicationStatus.APPROVED
    application.cohort_id = cohort.id
    application.user_id = user.id
    _mark_reviewed(actor, application, note)
    db.session.flush()
    if not user.has_password:
        send_invitation(user, actor=actor)
    record_event(actor, "application.approved", application, cohort_id=cohort.id, user_id=user.id)
    return membership


def waitlist_application(actor: User, application: Application, note: str = "") -> None:
    """Keep the application for a later cohort."""
    _ensure_reviewable(application, ApplicationStatus.SUBMITTED)
    application.status = ApplicationStatus.WAITLISTED
    _mark_reviewed(actor, application, note)
    record_event(actor, "application.waitlisted", application)
    queue_mail(
        address=application.email,
        template="application_waitlisted",
        subject=_l("Your application to %(program)s is on the waiting list", program=program_name()),
        locale=application.preferred_language,
        application=application,
    )


def decline_application(actor: User, application: Application, note: str) -> None:
    """Decline with a note (kept for the record, not sent to the applicant)."""
    _ensure_reviewable(application, *PENDING_STATUSES)
    if not note.strip():
        raise ValidationFailed(_l("Write a short note saying why."), field="note")
    application.status = ApplicationStatus.DECLINED
    _mark_reviewed(actor, application, note)
    record_event(actor, "application.declined", application)
    queue_mail(
        address=application.email,
        template="application_declined",
        subject=_l("About your application to %(program)s", program=program_name()),
        locale=application.preferred_language,
        application=application,
    )


def _mark_reviewed(actor: User, application: Application, note: str) -> None:
    application.reviewed_by_id = actor.id
    application.reviewed_at = utcnow()
    application.review_note = note.strip()


@dataclass
class BulkResult:
    """What a bulk decision did: ids done, and per id the reason it was not."""

    done: list[int]
    refused: dict[int, str]


def decide_applications(
    actor: User, application_ids: Iterable[int], decision: str, *, cohort_id: int | None = None, note: str = ""
) -> BulkResult:
    """Approve, waitlist or decline many applications; each is decided on its own merits.

    Every application is tried in a savepoint, so one that cannot be approved (cohort full,
    already decided) is reported and the others still go through.
    """
    result = BulkResult(done=[], refused={})
    applications = db.session.scalars(
        select(Application).where(Application.id.in_(set(application_ids))).order_by(Application.submitted_at)
    ).all()
    for application in applications:
        try:
            with db.session.begin_nested():
                if decision == "approve":
                    if cohort_id is None:
                        raise ValidationFailed(_l("Choose a cohort."), field="cohort_id")
                    approve_application(actor, application, cohort_id, note)
                elif decision == "waitlist":
                    waitlist_application(actor, application, note)
                elif decision == "decline":
                    decline_application(actor, application, note)
                else:
                    raise ValidationFailed(_l("Choose approve, waitlist or decline."), field="decision")
        except (ValidationFailed, Conflict, NotFound) as error:
            result.refused[application.id] = str(error.message)
        else:
            result.done.append(application.id)
    return result


def status_label(status: ApplicationStatus) -> str:
    """The status as a person reads it."""
    return str(APPLICATION_STATUS_LABELS[status])


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: _l("submitted"),
    ApplicationStatus.APPROVED: _l("approved"),
    ApplicationStatus.WAITLISTED: _l("waitlisted"),
    ApplicationStatus.DECLINED: _l("declined"),
    ApplicationStatus.WITHDRAWN: _l("withdrawn"),
}


@dataclass
class ApplicationFilters:
    """The queue's filters; empty values mean "any"."""

    status: str = ""
    neighborhood: str = ""
    cohort_id: int | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    search: str = ""


def applications_query(filters: ApplicationFilters) -> Select[tuple[Application]]:
    """Applications matching the filters, oldest pending first."""
    query = select(Application).order_by(Application.submitted_at.asc(), Application.id.asc())
    if filters.status in {s.value for s in ApplicationStatus}:
        query = query.where(Application.status == ApplicationStatus(filters.status))
    if filters.neighborhood:
        query = query.where(Application.neighborhood == filters.neighborhood)
    if filters.cohort_id:
        query = query.where(Application.cohort_id == filters.cohort_id)
    if filters.submitted_from:
        query = query.where(func.date(Application.submitted_at) >= filters.submitted_from)
    if filters.submitted_to:
        query = query.where(func.date(Application.submitted_at) <= filters.submitted_to)
    if filters.search:
        pattern = contains_pattern(filters.search)
        query = query.where(
            or_(
                func.lower(Application.full_name).like(pattern, escape="\\"),
                Application.email.like(pattern, escape="\\"),
            )
        )
    return query


def application_counts() -> dict[ApplicationStatus, int]:
    """How many applications are in each status (one grouped query)."""
    counts = dict.fromkeys(ApplicationStatus, 0)
    for status, count in db.session.execute(select(Application.status, func.count()).group_by(Application.status)):
        counts[status] = count
    return counts


def cohort_neighborhoods() -> list[str]:
    """Neighborhoods of the program's cohorts: the public suggestion list (no visitor-typed text)."""
    names = db.session.scalars(select(Cohort.neighborhood).where(Cohort.neighborhood != "").distinct()).all()
    return sorted(set(names), key=str.lower)


def neighborhoods() -> list[str]:
    """Every neighborhood named in applications or cohorts, for coordinators' filter lists."""
    names = db.session.scalars(
        select(Application.neighborhood)
        .where(Application.neighborhood != "")
        .union(select(Cohort.neighborhood).where(Cohort.neighborhood != ""))
    ).all()
    return sorted(set(names), key=str.lower)


# Cohorts ------------------------------------------------------------------------------------


@dataclass
class CohortInput:
    """The fields a coordinator edits on a cohort."""

    name: str
    neighborhood: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    capacity: int = 25
    status: CohortStatus = CohortStatus.PLANNED
    min_sessions_required: int = 0
    coordinator_ids: Sequence[int] = ()


def _apply_cohort_input(cohort: Cohort, data: CohortInput) -> None:
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise ValidationFailed(_l("The end date must be on or after the start date."), field="ends_on")
    if data.capacity < 1:
        raise ValidationFailed(_l("Capacity must be at least 1."), field="capacity")
    if cohort.id is not None:
        members = active_member_count(cohort.id)
        if data.capacity < members:
            raise ValidationFailed(
                _l("%(count)d liaisons are already in this cohort; capacity cannot be lower.", count=members),
                field="capacity",
            )
    cohort.name = data.name.strip()
    cohort.neighborhood = data.neighborhood.strip()
    cohort.starts_on = data.starts_on
    cohort.ends_on = data.ends_on
    cohort.capacity = data.capacity
    cohort.status = data.status
    cohort.min_sessions_required = data.min_sessions_required
    coordinators = db.session.scalars(
        select(User).where(User.id.in_(list(data.coordinator_ids)), User.role == Role.COORDINATOR)
    ).all()
    cohort.coordinators = list(coordinators)


def create_cohort(actor: User, data: CohortInput) -> Cohort:
    """A new cohort."""
    cohort = Cohort()
    _apply_cohort_input(cohort, data)
    db.session.add(cohort)
    db.session.flush()
    record_event(actor, "cohort.created", cohort)
    return cohort


def update_cohort(actor: User, cohort: Cohort, data: CohortInput) -> None:
    """Change a cohort's details (capacity never below its current members)."""
    _lock_cohort(cohort.id)
    _apply_cohort_input(cohort, data)
    record_event(actor, "cohort.updated", cohort)


def archive_cohort(actor: User, cohort: Cohort) -> None:
    """Hide a cohort from everyday lists; its members and history stay."""
    cohort.status = CohortStatus.ARCHIVED
    record_event(actor, "cohort.archived", cohort)


def get_cohort(cohort_id: int) -> Cohort:
    """The cohort, or NotFound."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound()
    return cohort


def coordinator_names(cohort_id: int) -> list[str]:
    """The names of a cohort's coordinators, alphabetically (one light query: a page showing
    them needs no User objects)."""
    return list(
        db.session.scalars(
            select(User.full_name)
            .join(cohort_coordinator, cohort_coordinator.c.user_id == User.id)
            .where(cohort_coordinator.c.cohort_id == cohort_id)
            .order_by(func.lower(User.full_name), User.id)
        )
    )


@dataclass(frozen=True)
class CohortChoice:
    """A cohort someone can be placed in, with its free places."""

    id: int
    name: str
    neighborhood: str
    free_places: int


def cohorts_with_free_places() -> list[CohortChoice]:
    """Open cohorts that have room, for the approve menu (one query)."""
    members = (
        select(Membership.cohort_id, func.count().label("members"))
        .where(Membership.status == MembershipStatus.ACTIVE)
        .group_by(Membership.cohort_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Cohort.id, Cohort.name, Cohort.neighborhood, Cohort.capacity, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.cohort_id == Cohort.id)
        .where(Cohort.status.in_([CohortStatus.PLANNED, CohortStatus.ACTIVE]))
        .order_by(Cohort.starts_on.asc().nulls_last(), Cohort.name)
    ).all()
    return [
        CohortChoice(id=row[0], name=row[1], neighborhood=row[2], free_places=row[3] - row[4])
        for row in rows
        if row[3] - row[4] > 0
    ]


def cohorts_overview(include_archived: bool = False) -> list[tuple[Cohort, int]]:
    """Every cohort with its number of active members (one query)."""
    members = (
        select(Membership.cohort_id, func.count().label("members"))
        .where(Membership.status == MembershipStatus.ACTIVE)
        .group_by(Membership.cohort_id)
        .subquery()
    )
    query = (
        select(Cohort, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.cohort_id == Cohort.id)
        .order_by(Cohort.starts_on.desc().nulls_last(), Cohort.name)
    )
    if not include_archived:
        query = query.where(Cohort.status != CohortStatus.ARCHIVED)
    return [(cohort, count) for cohort, count in db.session.execute(query)]


# Memberships --------------------------------------------------------------------------------


def active_membership(user_id: int) -> Membership | None:
    """The liaison's current place in a cohort, if any."""
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.status == MembershipStatus.ACTIVE)
    )


def move_member(actor: User, membership: Membership, target_cohort_id: int, reason: str = "") -> Membership:
    """Move a liaison to another cohort (capacity checked); the old place stays as history."""
    if membership.status != MembershipStatus.ACTIVE:
        raise Conflict(_l("This liaison is no longer in that cohort."))
    if membership.cohort_id == target_cohort_id:
        raise ValidationFailed(_l("Choose a different cohort."), field="cohort_id")
    _claim_place(target_cohort_id)
    membership.status = MembershipStatus.MOVED
    membership.ended_at = utcnow()
    membership.end_reason = reason.strip()
    db.session.flush()
    moved = Membership(cohort_id=target_cohort_id, user_id=membership.user_id, application_id=membership.application_id)
    db.session.add(moved)
    db.session.flush()
    record_event(
        actor,
        "membership.moved",
        membership,
        user_id=membership.user_id,
        from_cohort_id=membership.cohort_id,
        to_cohort_id=target_cohort_id,
    )
    return moved


def withdraw_member(actor: User, membership: Membership, reason: str) -> None:
    """End a liaison's place in a cohort with a reason; their history and account stay."""
    if membership.status != MembershipStatus.ACTIVE:
        raise Conflict(_l("This liaison is no longer in that cohort."))
    if not reason.strip():
        raise ValidationFailed(_l("Write the reason for withdrawing."), field="reason")
    membership.status = MembershipStatus.WITHDRAWN
    membership.ended_at = utcnow()
    membership.end_reason = reason.strip()
    record_event(actor, "membership.withdrawn", membership, user_id=membership.user_id, cohort_id=membership.cohort_id)


def get_membership(membership_id: int, cohort_id: int | None = None) -> Membership:
    """The membership (in that cohort when given), or NotFound."""
    membership = db.session.get(Membership, membership_id)
    if membership is None or (cohort_id is not None and membership.cohort_id != cohort_id):
        raise NotFound()
    return membership


@dataclass(frozen=True)
class RosterRow:
    """One liaison on a cohort's roster."""

    membership: Membership
    user: User
    sessions_attended: int

    @property
    def invitation_state(self) -> str:
        if not self.user.active:
            return "deactivated"
        return "accepted" if self.user.has_password else "pending"


def _roster_order() -> tuple[Any, ...]:
    return (Membership.status, func.lower(User.full_name), User.id)


def roster_members_query(cohort_id: int, *, include_ended: bool = False, search: str = "") -> Select:
    """Rows of (membership, user) in roster order, filtered, without any aggregate."""
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort_id)
        .order_by(*_roster_order())
    )
    if not include_ended:
        query = query.where(Membership.status == MembershipStatus.ACTIVE)
    if search:
        pattern = contains_pattern(search)
        query = query.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    return query


def _attended_in(cohort_id: int) -> Select:
    from liaison.enrollment.models import Attendance, TrainingSession

    return (
        select(Attendance.user_id, func.count().label("attended"))
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(TrainingSession.cohort_id == cohort_id, Attendance.present.is_(True))
        .group_by(Attendance.user_id)
    )


def roster_query(cohort_id: int, *, include_ended: bool = False, search: str = "") -> Select:
    """Rows of (membership, user, sessions attended in this cohort) in one query, for the whole
    roster at once (the export). A page of the roster uses roster_members_query instead."""
    attended = _attended_in(cohort_id).subquery()
    members = roster_members_query(cohort_id, include_ended=include_ended, search=search)
    return members.add_columns(func.coalesce(attended.c.attended, 0)).outerjoin(
        attended, attended.c.user_id == Membership.user_id
    )


def roster_rows(rows: Iterable[tuple[Membership, User, int]]) -> list[RosterRow]:
    """Wrap roster query results."""
    return [RosterRow(membership=m, user=u, sessions_attended=n) for m, u, n in rows]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One row of a roster page: plain values, the person's attendance in the cohort and how many
    required published modules they completed."""

    membership_id: int
    user_id: int
    full_name: str
    email: str
    active: bool
    has_password: bool
    last_login_at: datetime | None
    status: MembershipStatus
    ended_at: datetime | None
    end_reason: str
    sessions_attended: int
    training_done: int

    @property
    def invitation_state(self) -> str:
        if not self.active:
            return "deactivated"
        return "accepted" if self.has_password else "pending"


@dataclass(frozen=True)
class RosterPage:
    """A page of the roster and the number of required published modules."""

    entries: list[RosterEntry]
    required_modules: int


def _members_filtered(query: Select, *, include_ended: bool, searching: bool, one_member: bool, joined: bool) -> Select:
    """The roster's filters with bound parameters (cohort_id, pattern, membership_id); `joined`:
    the query already joins User."""
    query = query.where(Membership.cohort_id == bindparam("cohort_id"))
    if not include_ended:
        query = query.where(Membership.status == MembershipStatus.ACTIVE)
    if searching:
        if not joined:
            query = query.join(User, User.id == Membership.user_id)
        pattern = bindparam("pattern", type_=String)
        query = query.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    if one_member:
        query = query.where(Membership.id == bindparam("membership_id"))
    return query


@functools.cache
def _roster_count_statement(include_ended: bool, searching: bool) -> Select:
    return _members_filtered(
        select(func.count()).select_from(Membership),
        include_ended=include_ended,
        searching=searching,
        one_member=False,
        joined=False,
    )


@functools.cache
def _roster_page_statement(include_ended: bool, searching: bool, one_member: bool) -> Select:
    """The roster page's statement, built once per process (building it costs more than running
    it); every value is a bound parameter."""
    from liaison.enrollment.models import Attendance, TrainingSession
    from liaison.training.models import Module, ModuleRead, Quiz, QuizAttempt

    page = (
        _members_filtered(
            select(
                Membership.id.label("membership_id"),
                User.id.label("user_id"),
                User.full_name,
                User.email,
                User.active,
                User.password_hash.is_not(None).label("has_password"),
                User.last_login_at,
                Membership.status,
                Membership.ended_at,
                Membership.end_reason,
                func.lower(User.full_name).label("sort_name"),
            ).join_from(Membership, User, User.id == Membership.user_id),
            include_ended=include_ended,
            searching=searching,
            one_member=one_member,
            joined=True,
        )
        .order_by(*_roster_order())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    attended = (
        select(func.count())
        .select_from(Attendance)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(
            Attendance.user_id == page.c.user_id,
            TrainingSession.cohort_id == bindparam("cohort_id"),
            Attendance.present.is_(True),
        )
        .scalar_subquery()
    )
    passed = (
        select(QuizAttempt.id)
        .where(QuizAttempt.quiz_id == Quiz.id, QuizAttempt.user_id == ModuleRead.user_id, QuizAttempt.passed.is_(True))
        .exists()
    )
    # Complete = read, and its quiz passed when it has one (training.services.Progress's rule).
    done = (
        select(func.count())
        .select_from(ModuleRead)
        .join(Module, Module.id == ModuleRead.module_id)
        .outerjoin(Quiz, Quiz.module_id == Module.id)
        .where(
            ModuleRead.user_id == page.c.user_id,
            Module.published.is_(True),
            Module.required.is_(True),
            or_(Quiz.id.is_(None), passed),
        )
        .scalar_subquery()
    )
    required = (
        select(func.count())
        .select_from(Module)
        .where(Module.published.is_(True), Module.required.is_(True))
        .scalar_subquery()
    )
    return select(
        page.c.membership_id,
        page.c.user_id,
        page.c.full_name,
        page.c.email,
        page.c.active,
        page.c.has_password,
        page.c.last_login_at,
        page.c.status,
        page.c.ended_at,
        page.c.end_reason,
        attended,
        done,
        required,
    ).order_by(page.c.status, page.c.sort_name, page.c.user_id)


def _roster_parameters(cohort_id: int, search: str, membership_id: int | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"cohort_id": cohort_id}
    if search:
        parameters["pattern"] = contains_pattern(search)
    if membership_id is not None:
        parameters["membership_id"] = membership_id
    return parameters


def roster_count(cohort_id: int, *, include_ended: bool = False, search: str = "") -> int:
    """How many people the roster lists with these filters (one query)."""
    statement = _roster_count_statement(include_ended, bool(search))
    return db.session.scalar(statement, _roster_parameters(cohort_id, search, None)) or 0


def roster_page(
    cohort_id: int,
    *,
    include_ended: bool = False,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
    membership_id: int | None = None,
) -> RosterPage:
    """One page of the roster in one query whatever the cohort's size: the page's members are
    chosen first, then attendance and training progress are computed for those people only
    (correlated subqueries on the page). roster_count counts the whole roster."""
    statement = _roster_page_statement(include_ended, bool(search), membership_id is not None)
    parameters = _roster_parameters(cohort_id, search, membership_id) | {"limit": limit, "offset": offset}
    rows = db.session.execute(statement, parameters).all()
    if not rows:
        return RosterPage([], 0)
    entries = [
        RosterEntry(
            row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), row[6], row[7], row[8], row[9], row[10], row[11]
        )
        for row in rows
    ]
    return RosterPage(entries, rows[0][12])
