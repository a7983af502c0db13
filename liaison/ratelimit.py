"""A Flask-Limiter storage backed by the app's own database.

Flask-Limiter keeps counters in process memory unless told otherwise, which counts per worker
(SECURITY.md pitfall 14). Redis is the usual answer; this storage lets a deployment that has
only PostgreSQL (or SQLite) share counters between every process on every host. It supports the
fixed-window strategy, which is what the app's limits use. Select it with
`RATELIMIT_STORAGE_URI=database://` (the default); `redis://...` works too.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from liaison.db_types import NOT_PII
from liaison.extensions import db


class RateLimitCounter(db.Model):
    """One fixed-window counter: hits under `key` until `expires_at` (epoch seconds)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True, info=NOT_PII)
    count: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    expires_at: Mapped[float] = mapped_column(Float, index=True, info=NOT_PII)


table = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """limits storage on the Flask-SQLAlchemy engine of the current app."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        engine = db.engine
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        expired = table.c.expires_at <= now
        statement = insert(table).values(key=key, count=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((expired, amount), else_=table.c.count + amount),
                "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            row = connection.execute(
                select(table.c.count).where(table.c.key == key, table.c.expires_at > time.time())
            ).first()
        return int(row.count) if row else 0

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            value = connection.execute(select(table.c.expires_at).where(table.c.key == key)).scalar()
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(table)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == key))


def purge_expired_counters() -> int:
    """Delete counters whose window has passed; returns how many."""
    result = db.session.execute(delete(table).where(table.c.expires_at <= time.time()))
    return result.rowcount or 0
