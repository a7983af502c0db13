"""Applications, cohorts, memberships, training sessions and attendance."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.auth.models import User
from liaison.db_types import NOT_PII, PII, UTCDateTime, string_enum, utcnow
from liaison.extensions import db


class ApplicationStatus(enum.StrEnum):
    """Where an application stands. Submitted and waitlisted ones are "pending"."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    WAITLISTED = "waitlisted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


PENDING_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITLISTED)


class GroupType(enum.StrEnum):
    """The kind of group an applicant represents."""

    BLOCK_CLUB = "block_club"
    CIVIC_ASSOCIATION = "civic_association"
    FAITH_GROUP = "faith_group"
    OTHER = "other"


class ApplicationSource(enum.StrEnum):
    """How the application reached the program."""

    WEB = "web"
    IMPORT = "import"


class Application(db.Model):
    """A resident's application to become a liaison."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    full_name: Mapped[str] = mapped_column(String(200), info=PII)
    email: Mapped[str] = mapped_column(String(254), info=PII)
    phone: Mapped[str] = mapped_column(String(40), default="", info=PII)
    address: Mapped[str] = mapped_column(String(300), default="", info=PII)
    zip_code: Mapped[str] = mapped_column(String(10), default="", info=PII)
    neighborhood: Mapped[str] = mapped_column(String(120), default="", info=NOT_PII)
    group_type: Mapped[GroupType] = mapped_column(string_enum(GroupType, "group_type"), info=NOT_PII)
    group_name: Mapped[str] = mapped_column(String(200), default="", info=NOT_PII)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list, info=NOT_PII)
    availability: Mapped[list[str]] = mapped_column(JSON, default=list, info=NOT_PII)
    motivation: Mapped[str] = mapped_column(Text, default="", info=PII)
    consent: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    preferred_language: Mapped[str] = mapped_column(String(8), default="en", info=NOT_PII)
    source: Mapped[ApplicationSource] = mapped_column(
        string_enum(ApplicationSource, "application_source"), default=ApplicationSource.WEB, info=NOT_PII
    )
    status: Mapped[ApplicationStatus] = mapped_column(
        string_enum(ApplicationStatus, "application_status"), default=ApplicationStatus.SUBMITTED, info=NOT_PII
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    review_note: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"), info=NOT_PII)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)

    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    cohort: Mapped[Cohort | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        # One pending application per email, enforced by the database even under concurrency.
        Index(
            "uq_application_pending_email",
            "email",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'waitlisted')"),
            postgresql_where=text("status IN ('submitted', 'waitlisted')"),
        ),
        Index("ix_application_status_submitted_at", "status", "submitted_at"),
        Index("ix_application_email", "email"),
        Index("ix_application_cohort_id", "cohort_id"),
    )

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.status}>"


class CohortStatus(enum.StrEnum):
    """A cohort's life: planned, then active, then completed; archived hides it."""

    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


cohort_coordinator = Table(
    "cohort_coordinator",
    db.metadata,
    Column("cohort_id", ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII),
)


class Cohort(db.Model):
    """A group of liaisons trained together."""

    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    name: Mapped[str] = mapped_column(String(120), info=NOT_PII)
    neighborhood: Mapped[str] = mapped_column(String(120), default="", info=NOT_PII)
    starts_on: Mapped[date | None] = mapped_column(Date, info=NOT_PII)
    ends_on: Mapped[date | None] = mapped_column(Date, info=NOT_PII)
    capacity: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    status: Mapped[CohortStatus] = mapped_column(
        string_enum(CohortStatus, "cohort_status"), default=CohortStatus.PLANNED, info=NOT_PII
    )
    # Sessions a liaison must attend to be certified (0: attendance is not required).
    min_sessions_required: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    coordinators: Mapped[list[User]] = relationship(secondary=cohort_coordinator)

    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("min_sessions_required >= 0", name="min_sessions_not_negative"),
        Index("ix_cohort_status", "status"),
    )

    @property
    def is_open(self) -> bool:
        """Whether people can still be placed in it."""
        return self.status in (CohortStatus.PLANNED, CohortStatus.ACTIVE)

    def __repr__(self) -> str:
        return f"<Cohort {self.id}>"


class MembershipStatus(enum.StrEnum):
    """A liaison's place in a cohort; ended places stay as history."""

    ACTIVE = "active"
    MOVED = "moved"
    WITHDRAWN = "withdrawn"


class Membership(db.Model):
    """A liaison's place in a cohort. At most one active membership per liaison."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), info=NOT_PII)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), info=NOT_PII)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="SET NULL"), info=NOT_PII)
    status: Mapped[MembershipStatus] = mapped_column(
        string_enum(MembershipStatus, "membership_status"), default=MembershipStatus.ACTIVE, info=NOT_PII
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    end_reason: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)

    cohort: Mapped[Cohort] = relationship()
    user: Mapped[User] = relationship()
    application: Mapped[Application | None] = relationship()

    __table_args__ = (
        Index(
            "uq_membership_active_user",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_membership_cohort_status", "cohort_id", "status"),
    )


class SessionKind(enum.StrEnum):
    """Where a training session happens."""

    IN_PERSON = "in_person"
    VIRTUAL = "virtual"


class TrainingSession(db.Model):
    """An in-person or virtual meeting of a cohort."""

    __tablename__ = "training_session"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), info=NOT_PII)
    title: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    kind: Mapped[SessionKind] = mapped_column(string_enum(SessionKind, "session_kind"), info=NOT_PII)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, info=NOT_PII)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, info=NOT_PII)
    location: Mapped[str] = mapped_column(String(300), default="", info=NOT_PII)
    link: Mapped[str] = mapped_column(String(500), default="", info=NOT_PII)
    capacity: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    notes: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    cohort: Mapped[Cohort] = relationship()

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_training_session_cohort_starts", "cohort_id", "starts_at"),
        Index("ix_training_session_starts_at", "starts_at"),
    )


class Attendance(db.Model):
    """Whether a liaison attended a session, and who recorded it."""

    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII)
    present: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    __table_args__ = (
        # Covering indexes: a roster row counts a person's sessions attended, and a cohort's
        # page counts each session's attendance, from the index alone.
        Index("ix_attendance_user_present_session", "user_id", "present", "session_id"),
        Index("ix_attendance_session_present", "session_id", "present"),
    )
