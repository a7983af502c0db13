"""Certificate rules: eligibility, issue (exactly once), approval, revocation, state, filing gate."""

from __future__ import annotations

import enum
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from liaison.audit import record_event
from liaison.auth.models import Role, User
from liaison.certificates.models import Certificate, CertificatePeriod, CertificateStatus, PeriodKind
from liaison.db_types import utcnow
from liaison.enrollment.models import Cohort
from liaison.enrollment.services import active_membership
from liaison.enrollment.sessions import sessions_attended
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.mail import queue_mail
from liaison.templating import program_name
from liaison.training.models import Module, Quiz, QuizAttempt
from liaison.training.services import Progress, progress_for

logger = logging.getLogger(__name__)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_PREFIX = "LNP"
EXPIRING_SOON = timedelta(days=30)


def new_code() -> str:
    """A fresh verification code: 60 random bits as three groups of four Crockford characters."""
    value = secrets.randbits(60)
    characters = "".join(CROCKFORD[(value >> shift) & 31] for shift in range(55, -1, -5))
    return f"{CODE_PREFIX}-{characters[0:4]}-{characters[4:8]}-{characters[8:12]}"


def normalise_code(typed: str) -> str:
    """A typed code in canonical form: upper case, O→0, I/L→1, dashes where they belong."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"}))
    if cleaned.startswith("1NP"):  # "LNP" after the L→1 mapping above
        cleaned = cleaned[3:]
    if len(cleaned) != 12:
        return ""
    return f"{CODE_PREFIX}-{cleaned[0:4]}-{cleaned[4:8]}-{cleaned[8:12]}"


# Eligibility ---------------------------------------------------------------------------------


@dataclass
class Eligibility:
    """Whether the liaison meets the certification rule, and what is missing."""

    cohort: Cohort | None
    missing: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.missing


def check_eligibility(user: User) -> Eligibility:
    """Every required published module read and passed, and the cohort's minimum attendance."""
    membership = active_membership(user.id)
    if membership is None:
        return eligibility_from(None, None, 0)
    cohort = membership.cohort
    attended = sessions_attended(user.id, cohort.id) if cohort.min_sessions_required else 0
    return eligibility_from(cohort, progress_for(user), attended)


def eligibility_from(cohort: Cohort | None, progress: Progress | None, attended: int) -> Eligibility:
    """The certification rule itself, applied to data already loaded (no queries)."""
    if cohort is None or progress is None:
        return Eligibility(None, [str(_l("Not in a cohort."))])
    eligibility = Eligibility(cohort)
    if not progress.required:
        eligibility.missing.append(str(_l("No required training is published yet.")))
    for item in progress.required:
        if not item.complete:
            eligibility.missing.append(str(_l("Complete %(module)s.", module=item.module.title.get("en", ""))))
    if cohort.min_sessions_required and attended < cohort.min_sessions_required:
        eligibility.missing.append(
            str(_l("Attend %(count)d more training session(s).", count=cohort.min_sessions_required - attended))
        )
    return eligibility


# Issue, approve, revoke ------------------------------------------------------------------------


def current_certificate(user_id: int) -> Certificate | None:
    """The liaison's pending or active certificate, if any."""
    return db.session.scalar(
        select(Certificate).where(
            Certificate.user_id == user_id,
            Certificate.status.in_([CertificateStatus.PENDING, CertificateStatus.ACTIVE]),
        )
    )


def _valid_for() -> timedelta:
    return timedelta(days=current_app.config["CERTIFICATE_VALID_DAYS"])


def _activate(certificate: Certificate, now: datetime) -> None:
    certificate.status = CertificateStatus.ACTIVE
    certificate.issued_at = now
    certificate.expires_at = now + _valid_for()
    # Set from the period's side: appending to certificate.periods would first load the
    # collection (a query per certificate when a cohort's are issued at once).
    db.session.add(
        CertificatePeriod(
            certificate=certificate, kind=PeriodKind.ISSUED, starts_at=now, ends_at=certificate.expires_at
        )
    )
    queue_mail(
        address=certificate.user.email,
        recipient_id=certificate.user_id,
        template="certificate_issued",
        subject=_l("You are certified: %(program)s", program=program_name()),
        locale=certificate.user.preferred_language,
        certificate=certificate,
    )


def issue_if_eligible(user: User, *, actor: User | None = None, now: datetime | None = None) -> Certificate | None:
    """Issue (or queue for approval) the liaison's certificate when they meet the rule; once only."""
    now = now or utcnow()
    if user.role is not Role.LIAISON:
        return None
    existing = current_certificate(user.id)
    if existing is not None:
        return existing
    eligibility = check_eligibility(user)
    if not eligibility.eligible:
        return None
    by_hand = current_app.config["CERTIFICATE_APPROVAL"] == "manual"
    certificate = Certificate(
        user_id=user.id,
        cohort_id=eligibility.cohort.id if eligibility.cohort else None,
        code=new_code(),
        status=CertificateStatus.PENDING,
    )
    certificate.user = user
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
            if not by_hand:
                _activate(certificate, now)
            db.session.flush()
    except IntegrityError:
        # A concurrent trigger issued it first (the partial unique index): use that one.
        return current_certificate(user.id)
    record_event(actor, "certificate.queued" if by_hand else "certificate.issued", certificate, user_id=user.id)
    logger.info("certificate %s %s for user %s", certificate.id, certificate.status, user.id)
    return certificate


def approve_certificate(actor: User, certificate: Certificate, *, now: datetime | None = None) -> None:
    """Issue a certificate that was waiting for a coordinator's approval."""
    if certificate.status is not CertificateStatus.PENDING:
        raise Conflict(_l("This certificate is not waiting for approval."))
    certificate.approved_by_id = actor.id
    _activate(certificate, now or utcnow())
    record_event(actor, "certificate.issued", certificate, user_id=certificate.user_id, approved=True)


def revoke_certificate(actor: User, certificate: Certificate, reason: str, *, now: datetime | None = None) -> None:
    """Revoke with a reason: the verify page and the filing gate change at once."""
    if certificate.status is CertificateStatus.REVOKED:
        raise Conflict(_l("This certificate is already revoked."))
    if not reason.strip():
        raise ValidationFailed(_l("Write the reason for revoking."), field="reason")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now or utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revoke_reason = reason.strip()
    record_event(actor, "certificate.revoked", certificate, user_id=certificate.user_id)


def find_by_code(typed: str) -> Certificate:
    """The certificate with this code (typed loosely), or NotFound."""
    code = normalise_code(typed)
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == code)) if code else None
    if certificate is None or certificate.status is CertificateStatus.PENDING:
        raise NotFound(_l("No certificate has this code. Check it and try again."))
    return certificate


# State and the filing gate ---------------------------------------------------------------------


class CertificateState(enum.StrEnum):
    """What a certificate means today."""

    PENDING = "pending"
    VALID = "valid"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    REVOKED = "revoked"


def certificate_state(certificate: Certificate, now: datetime | None = None) -> CertificateState:
    """Valid, expiring soon (30 days), expired, revoked or pending."""
    now = now or utcnow()
    if certificate.status is CertificateStatus.REVOKED:
        return CertificateState.REVOKED
    if certificate.status is CertificateStatus.PENDING or certificate.expires_at is None:
        return CertificateState.PENDING
    if certificate.expires_at <= now:
        return CertificateState.EXPIRED
    if certificate.expires_at - now <= EXPIRING_SOON:
        return CertificateState.EXPIRING_SOON
    return CertificateState.VALID


@dataclass(frozen=True)
class FilingDecision:
    """May this liaison file requests, and if not, why."""

    allowed: bool
    reason: str = ""
    certificate: Certificate | None = None


def filing_gate(user: User, now: datetime | None = None) -> FilingDecision:
    """The single answer to "may this liaison file requests?" (not certified, expired, revoked, withdrawn)."""
    if not user.active or user.role is not Role.LIAISON:
        return FilingDecision(False, str(_l("Only active liaisons can file requests.")))
    if active_membership(user.id) is None:
        return FilingDecision(False, str(_l("You are not in an active cohort; ask your coordinator.")))
    certificate = current_certificate(user.id)
    if certificate is None:
        revoked = db.session.scalar(
            select(Certificate)
            .where(Certificate.user_id == user.id, Certificate.status == CertificateStatus.REVOKED)
            .order_by(Certificate.revoked_at.desc())
            .limit(1)
        )
        if revoked is not None:
            return FilingDecision(False, str(_l("Your certificate was revoked.")), revoked)
        return FilingDecision(False, str(_l("You are not certified yet. Complete your training first.")))
    state = certificate_state(certificate, now)
    if state is CertificateState.PENDING:
        return FilingDecision(False, str(_l("Your certificate is waiting for a coordinator's approval.")), certificate)
    if state is CertificateState.EXPIRED:
        return FilingDecision(
            False, str(_l("Your certificate has expired. Renew it to file requests again.")), certificate
        )
    return FilingDecision(True, "", certificate)


# Batch eligibility (coordinator pages) -------------------------------------------------------
# Added for the coordinators' cohort page: check_eligibility runs a few queries per liaison; this
# answers the same rule for a whole cohort in a fixed number of queries.


def eligibility_for_cohort(cohort_id: int) -> dict[int, Eligibility]:
    """The certification rule for every active member of the cohort, keyed by user id.

    Same rule as check_eligibility; training progress comes from progress_for_users and session
    attendance from one grouped query, so the cost does not grow with the cohort's size.
    """
    from sqlalchemy import func

    from liaison.enrollment.models import Attendance, Membership, MembershipStatus, TrainingSession
    from liaison.training.services import progress_for_users, published_modules

    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        return {}
    user_ids = list(
        db.session.scalars(
            select(Membership.user_id).where(
                Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE
            )
        )
    )
    if not user_ids:
        return {}
    progress = progress_for_users(user_ids, published_modules())
    attended: dict[int, int] = {}
    if cohort.min_sessions_required:
        attended = dict(
            db.session.execute(
                select(Attendance.user_id, func.count())
                .join(TrainingSession, TrainingSession.id == Attendance.session_id)
                .where(
                    Attendance.user_id.in_(user_ids),
                    Attendance.present.is_(True),
                    TrainingSession.cohort_id == cohort_id,
                )
                .group_by(Attendance.user_id)
            ).all()
        )
    return {user_id: eligibility_from(cohort, progress[user_id], attended.get(user_id, 0)) for user_id in user_ids}


# Renewal -------------------------------------------------------------------------------------
# Added for the Renewal part of the Certificates issue. A liaison renews from RENEWAL_WINDOW before
# expiry (and any time after it, unless revoked) by passing the program's published renewal quiz,
# or, when there is none, every required published quiz again. Only passes submitted since the
# window opened (and since the current period started) count, so the original training does not.
# Quiz attempts are not reset for renewal: a liaison whose attempts ran out asks a coordinator, who
# grants more on the training oversight page (training.services.grant_accommodation / unlock_quiz).

RENEWAL_WINDOW = timedelta(days=60)


@dataclass(frozen=True)
class RenewalNeeds:
    """What a liaison must still do to renew: the modules whose quiz they must pass again."""

    window_open: bool
    opens_at: datetime | None = None
    counted_since: datetime | None = None
    renewal_quiz: bool = False
    required: list[Module] = field(default_factory=list)
    missing: list[Module] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.window_open and bool(self.required) and not self.missing


def renewal_window_open(certificate: Certificate, now: datetime | None = None) -> bool:
    """Whether this certificate can be renewed now: active, and at most 60 days before expiry or after it."""
    now = now or utcnow()
    if certificate.status is not CertificateStatus.ACTIVE or certificate.expires_at is None:
        return False
    return now >= certificate.expires_at - RENEWAL_WINDOW


def _renewal_modules() -> tuple[bool, list[Module]]:
    """The modules whose quiz renews a certificate: the renewal quiz(zes), else every required quiz."""
    modules = list(
        db.session.scalars(
            select(Module)
            .join(Quiz, Quiz.module_id == Module.id)
            .where(Module.published.is_(True))
            .options(selectinload(Module.quiz))
            .order_by(Module.position)
        )
    )
    renewal = [module for module in modules if module.quiz is not None and module.quiz.is_renewal]
    if renewal:
        return True, renewal
    return False, [module for module in modules if module.required]


def renewal_requirements(user: User, certificate: Certificate, now: datetime | None = None) -> RenewalNeeds:
    """What the liaison still needs to renew this certificate (a few queries, whatever the data size)."""
    now = now or utcnow()
    if not renewal_window_open(certificate, now):
        opens_at = certificate.expires_at - RENEWAL_WINDOW if certificate.expires_at else None
        return RenewalNeeds(window_open=False, opens_at=opens_at)
    # Passes count from the window's opening, and only after the current period began (so the pass
    # that issued or renewed the certificate never counts twice, even with a period under 60 days).
    counted_since = certificate.expires_at - RENEWAL_WINDOW
    since = [QuizAttempt.submitted_at >= counted_since, QuizAttempt.submitted_at <= now]
    if certificate.periods:
        since.append(QuizAttempt.submitted_at > certificate.periods[-1].starts_at)
        counted_since = max(counted_since, certificate.periods[-1].starts_at)
    renewal_quiz, required = _renewal_modules()
    passed = set(
        db.session.scalars(
            select(QuizAttempt.quiz_id).where(
                QuizAttempt.user_id == user.id,
                QuizAttempt.quiz_id.in_([module.quiz.id for module in required]),
                QuizAttempt.passed.is_(True),
                *since,
            )
        )
    )
    missing = [module for module in required if module.quiz.id not in passed]
    return RenewalNeeds(True, certificate.expires_at - RENEWAL_WINDOW, counted_since, renewal_quiz, required, missing)


def renew_if_eligible(user: User, now: datetime | None = None) -> Certificate | None:
    """Renew the liaison's certificate when they passed what renewal needs; returns it when renewed.

    The new period continues the same certificate (same code): it starts at the old expiry when
    renewed early, or now when renewed after expiry, and lasts CERTIFICATE_VALID_DAYS.
    """
    now = now or utcnow()
    if user.role is not Role.LIAISON:
        return None
    certificate = db.session.scalar(
        select(Certificate)
        .where(Certificate.user_id == user.id, Certificate.status == CertificateStatus.ACTIVE)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if certificate is None or not renewal_requirements(user, certificate, now).complete:
        return None
    starts_at = max(now, certificate.expires_at)
    ends_at = starts_at + _valid_for()
    certificate.periods.append(CertificatePeriod(kind=PeriodKind.RENEWED, starts_at=starts_at, ends_at=ends_at))
    certificate.expires_at = ends_at
    db.session.flush()
    record_event(user, "certificate.renewed", certificate, user_id=user.id, expires_at=ends_at.isoformat())
    queue_mail(
        address=user.email,
        recipient_id=user.id,
        template="certificate_renewed",
        subject=_l("Your certificate is renewed: %(program)s", program=program_name()),
        locale=user.preferred_language,
        certificate=certificate,
    )
    logger.info("certificate %s renewed for user %s until %s", certificate.id, user.id, ends_at)
    return certificate


# Issue for a whole cohort (the coordinators' "issue for all eligible members") ----------------


@dataclass
class CohortIssue:
    """What one "issue for all" step did, and where the cohort stands after it (all derived from
    the database, so any app process can answer, and a step can be repeated safely)."""

    issued: list[Certificate]  # issued, or queued for approval, by this step
    members: int  # active members
    eligible: int  # members who meet the rule
    certified: int  # eligible members who hold a current (pending or active) certificate now
    already: int  # members who held a current certificate before this step
    not_eligible: int  # members without a current certificate who do not meet the rule

    @property
    def remaining(self) -> int:
        """Eligible members still without a certificate."""
        return max(0, self.eligible - self.certified)

    @property
    def finished(self) -> bool:
        """Nothing left to issue, or this step could issue nothing more (the rule changed)."""
        return self.remaining == 0 or not self.issued

    @property
    def percent(self) -> int:
        return 100 * self.certified // self.eligible if self.eligible else 100


def current_certificate_holders(user_ids: list[int]) -> set[int]:
    """Which of these liaisons hold a pending or active certificate (one query)."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(Certificate.user_id).where(
                Certificate.user_id.in_(user_ids),
                Certificate.status.in_([CertificateStatus.PENDING, CertificateStatus.ACTIVE]),
            )
        )
    )


def issue_for_cohort(actor: User, cohort_id: int, *, limit: int | None = None) -> CohortIssue:
    """Issue (or queue for approval) the certificates of the cohort's eligible members who have
    none, at most `limit` of them (None: all), in name order. Exactly once per liaison even when
    two coordinators press the button together (issue_if_eligible)."""
    from sqlalchemy import func

    from liaison.enrollment.models import Membership, MembershipStatus

    eligibility = eligibility_for_cohort(cohort_id)
    holders = current_certificate_holders(list(eligibility))
    waiting = [user_id for user_id, rule in eligibility.items() if rule.eligible and user_id not in holders]
    issued: list[Certificate] = []
    if waiting:
        ordered = list(
            db.session.scalars(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.cohort_id == cohort_id,
                    Membership.status == MembershipStatus.ACTIVE,
                    User.id.in_(waiting),
                )
                .order_by(func.lower(User.full_name), User.id)
                .limit(limit)
            )
        )
        for user in ordered:
            certificate = issue_if_eligible(user, actor=actor)
            if certificate is not None:
                issued.append(certificate)
    eligible = sum(1 for rule in eligibility.values() if rule.eligible)
    certified_before = sum(1 for user_id, rule in eligibility.items() if rule.eligible and user_id in holders)
    return CohortIssue(
        issued=issued,
        members=len(eligibility),
        eligible=eligible,
        certified=certified_before + len(issued),
        already=len(holders),
        not_eligible=sum(1 for user_id, rule in eligibility.items() if not rule.eligible and user_id not in holders),
    )
