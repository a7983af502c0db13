"""Engine-level database behaviour: SQLite pragmas and immediate write transactions.

SQLite loses updates silently under pysqlite's default transaction handling and fails with
"database is locked" under a plain deferred BEGIN (SECURITY.md pitfall 2). Transactions are
therefore opened with BEGIN IMMEDIATE, which takes the write lock up front and waits for it
(busy_timeout) instead of failing half way. WAL keeps readers from blocking on the writer.

The exception is a request with a safe method (GET, HEAD, OPTIONS): those only read, so they
open a deferred transaction and never queue behind writers. A single-statement write in such a
request (saving the session cookie's row) still waits for the lock normally; what a deferred
transaction cannot do safely is read and then write, which GET views never do.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

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
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION) or _read_only_request()
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


READ_ONLY_FLAG = "liaison_read_only_request"
# Execution option for a connection that only reads: `engine.connect().execution_options(**READ_ONLY)`.
READ_ONLY_OPTION = "liaison_read_only"
READ_ONLY = {READ_ONLY_OPTION: True}


def _read_only_request() -> bool:
    """True while a GET/HEAD/OPTIONS request is being dispatched (set by `init_app`'s hooks)."""
    from flask import g, has_app_context

    return has_app_context() and g.get(READ_ONLY_FLAG, False)


def mark_request(request: Any) -> None:
    """Mark a safe-method request for deferred transactions, before its first statement.

    Called by `init_app`'s before_request hook, and earlier by the session interface, whose
    query opens the request's transaction before any before_request hook runs."""
    from flask import g

    setattr(g, READ_ONLY_FLAG, request.method in SAFE_METHODS)


def init_app(app: Any) -> None:
    """Mark safe-method requests for deferred transactions while they are dispatched."""
    from flask import g, request

    @app.before_request
    def _mark_read_only() -> None:
        mark_request(request)

    @app.teardown_request
    def _unmark_read_only(_error: Any = None) -> None:
        g.pop(READ_ONLY_FLAG, None)


def guard_read_only_requests(session_class: Any) -> None:
    """Log a GET view that writes through the ORM.

    Such a view would read, then write, in a deferred SQLite transaction: the pattern that fails
    with "database is locked" under concurrency. State changes belong in POST views.
    """

    @event.listens_for(session_class, "before_flush")
    def _before_flush(session: Any, _context: Any, _instances: Any) -> None:
        if not (session.new or session.dirty or session.deleted) or not _read_only_request():
            return
        from flask import has_request_context, request

        if not has_request_context():
            return

        logger.warning("%s %s writes to the database; state changes belong in POST views", request.method, request.path)


def sqlite_settings(engine: Engine) -> dict[str, Any]:
    """The pragmas a live SQLite connection actually has (used by deploy-check and tests)."""
    with engine.connect() as connection:
        return {
            "journal_mode": connection.exec_driver_sql("PRAGMA journal_mode").scalar(),
            "foreign_keys": connection.exec_driver_sql("PRAGMA foreign_keys").scalar(),
            "busy_timeout": connection.exec_driver_sql("PRAGMA busy_timeout").scalar(),
        }


guard_read_only_requests(Session)
