"""Accounts and their server-side sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.db_types import NOT_PII, PII, UTCDateTime, utcnow
from liaison.extensions import db


class Role(enum.StrEnum):
    """What a person does in the program; "certified" is a state of a liaison, not a role."""

    COORDINATOR = "coordinator"
    LIAISON = "liaison"


class User(UserMixin, db.Model):
    """A person who can log in: a coordinator (city staff) or a liaison (volunteer)."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    email: Mapped[str] = mapped_column(String(254), unique=True, info=PII)
    full_name: Mapped[str] = mapped_column(String(200), info=PII)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
            name="role",
        ),
        info=NOT_PII,
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    active: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    preferred_language: Mapped[str | None] = mapped_column(String(8), info=NOT_PII)
    # None until the person sets a password from their invitation.
    password_hash: Mapped[str | None] = mapped_column(String(255), info=NOT_PII)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)

    sessions: Mapped[list[WebSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def is_liaison(self) -> bool:
        return self.role == Role.LIAISON

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:  # never the email or name: reprs end up in logs
        return f"<User {self.id} {self.role}>"


class WebSession(db.Model):
    """A server-side session: the cookie carries a random id, this row carries the data.

    The id column stores a SHA-256 of the cookie value, so a leaked database backup does not
    hand out live sessions.
    """

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, info=NOT_PII)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), info=NOT_PII)
    # Flask's tagged JSON (flash messages, CSRF token, user id); never personal data.
    data: Mapped[str] = mapped_column(Text, default="{}", info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    user: Mapped[User | None] = relationship(back_populates="sessions")

    __table_args__ = (
        Index("ix_web_session_user_id", "user_id"),
        Index("ix_web_session_last_active_at", "last_active_at"),
    )
