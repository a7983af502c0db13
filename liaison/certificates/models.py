"""Certificates: one current certificate per liaison, its validity periods and reminders sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.auth.models import User
from liaison.db_types import NOT_PII, UTCDateTime, string_enum, utcnow
from liaison.enrollment.models import Cohort
from liaison.extensions import db


class CertificateStatus(enum.StrEnum):
    """Pending approval (when the program approves by hand), active, or revoked."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKED = "revoked"


class Certificate(db.Model):
    """A liaison's certificate; renewals add periods to the same certificate and code."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), info=NOT_PII)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="SET NULL"), info=NOT_PII)
    # Human-typable verification code, e.g. LNP-7K3D-Q9XA-M2RT (60 random bits, Crockford base32).
    code: Mapped[str] = mapped_column(String(20), unique=True, info=NOT_PII)
    status: Mapped[CertificateStatus] = mapped_column(
        string_enum(CertificateStatus, "certificate_status"), default=CertificateStatus.ACTIVE, info=NOT_PII
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    revoke_reason: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    cohort: Mapped[Cohort | None] = relationship()
    periods: Mapped[list[CertificatePeriod]] = relationship(
        back_populates="certificate", cascade="all, delete-orphan", order_by="CertificatePeriod.starts_at"
    )

    __table_args__ = (
        # Exactly one current (pending or active) certificate per liaison, even under concurrency.
        Index(
            "uq_certificate_current_user",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'active')"),
            postgresql_where=text("status IN ('pending', 'active')"),
        ),
        Index("ix_certificate_expires_at", "expires_at"),
        Index("ix_certificate_cohort_id", "cohort_id"),
    )


class PeriodKind(enum.StrEnum):
    """How a validity period began."""

    ISSUED = "issued"
    RENEWED = "renewed"


class CertificatePeriod(db.Model):
    """One stretch of validity: the first issue, then each renewal (the verify page's history)."""

    __tablename__ = "certificate_period"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), info=NOT_PII)
    kind: Mapped[PeriodKind] = mapped_column(string_enum(PeriodKind, "period_kind"), info=NOT_PII)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, info=NOT_PII)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, info=NOT_PII)

    certificate: Mapped[Certificate] = relationship(back_populates="periods")


class CertificateReminder(db.Model):
    """A renewal reminder sent for one period, so each goes out once."""

    __tablename__ = "certificate_reminder"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), info=NOT_PII)
    period_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, info=NOT_PII)
    days_before: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    __table_args__ = (UniqueConstraint("certificate_id", "period_ends_at", "days_before"),)
