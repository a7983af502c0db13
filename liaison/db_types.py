"""Column types and helpers shared by every feature's models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite has no time zones and returns naive datetimes; PostgreSQL returns aware ones.
    This type makes both behave the same, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, lowercased, with % and _ taken literally.

    Use with `.like(pattern, escape="\\")`.
    """
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Column info marking data about a person, so exports, logs and retention can find it.
PII = {"pii": True}
NOT_PII = {"pii": False}


def string_enum(enum_class: type[enum.Enum], name: str, length: int = 24) -> Enum:
    """A Python enum stored as its values in a VARCHAR with a CHECK constraint (no native type)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        create_constraint=True,
        name=name,
        values_callable=lambda members: [member.value for member in members],
    )
