"""Audit events: who did what to which record, and when."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.db_types import NOT_PII, UTCDateTime, utcnow
from liaison.extensions import db

if TYPE_CHECKING:
    from liaison.auth.models import User

logger = logging.getLogger(__name__)


class AuditEvent(db.Model):
    """One recorded decision or access. `details` must never hold a neighbor's personal data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    action: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    subject_type: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    subject_id: Mapped[str | None] = mapped_column(String(64), info=NOT_PII)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info=NOT_PII)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
    )


def record_event(
    actor: User | None,
    action: str,
    subject: Any = None,
    *,
    subject_type: str | None = None,
    subject_id: Any = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it records)."""
    if subject is not None:
        subject_type = subject_type or type(subject).__tablename__
        subject_id = subject_id if subject_id is not None else getattr(subject, "id", None)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        subject_type=subject_type or "",
        subject_id=None if subject_id is None else str(subject_id),
        details=details,
    )
    db.session.add(event)
    logger.info(
        "audit %s %s:%s by user %s",
        action,
        event.subject_type,
        event.subject_id,
        event.actor_id,
    )
    return event
