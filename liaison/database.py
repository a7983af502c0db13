"""Engine-level database behaviour: SQLite pragmas and immediate write transactions.

SQLite loses updates silently under pysqlite's default transaction handling and fails with
"database is locked" under a plain deferred BEGIN (SECURITY.md pitfall 2). Every transaction
is therefore opened with BEGIN IMMEDIATE, which takes the write lock up front and waits for it
(busy_timeout) instead of failing half way. WAL keeps readers from blocking on the writer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 15_000


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connection recipe on an engine (no-op for other databases)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Foreign keys are off by default in SQLite; without them ON DELETE rules never run.
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_settings(engine: Engine) -> dict[str, Any]:
    """The pragmas a live SQLite connection actually has (used by deploy-check and tests)."""
    with engine.connect() as connection:
        return {
            "journal_mode": connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
            "foreign_keys": connection.exec_driver_sql("PRAGMA foreign_keys").scalar(),
            "busy_timeout": connection.exec_driver_sql("PRAGMA busy_timeout").scalar(),
        }
