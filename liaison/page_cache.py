"""Rendered page parts reused while the data they show is unchanged.

A page part is cached in the process that rendered it, under a key its view chooses (the page,
its filters, the language) and the database's data version: a random token in the one-row
`data_version` table that every transaction writing to a table pages show replaces, in the same
transaction, just before it commits. Every process on every host reads the token from the one
database, so a part is only ever reused while the database still holds the data it was rendered
from; the memory saves work and never holds the truth (a restart or an evicted entry just renders
again).

What counts as a write is seen at the ORM session, where the app makes all its changes: objects
flushed, and INSERT, UPDATE and DELETE statements it executes (a raw SQL text that writes counts
too, whatever its table). Writes to IGNORED_TABLES, which no cached part shows (sessions,
rate-limit counters, audit events, service requests, certificates...), leave the token alone.
Writes made on a bare engine connection (the session store, the rate limiter, migrations) are not
seen: a deployment restarts its processes after migrating.

The token is replaced last in a transaction (after its final flush), so on PostgreSQL its row
lock is the last lock the transaction takes and is held only while it commits: no lock cycles.

`PAGE_CACHE_ENTRIES` (default 256) bounds how many parts a process keeps; 0 turns caching off.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import current_app
from markupsafe import Markup
from sqlalchemy import Integer, String, TextClause, event, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.util import find_tables

from liaison.db_types import NOT_PII
from liaison.extensions import db

# Tables no cached part shows: writing them changes nothing cached. Some are written on almost
# every request (sessions, counters, audit events), the others by work that never touches a
# cohort page (service requests and their forwarding, applications, certificates). In debug and
# testing, `cached` fails when a part it renders reads one of them (see _reads_recorded).
IGNORED_TABLES = frozenset(
    {
        "data_version",
        "web_session",
        "rate_limit_counter",
        "audit_event",
        "application",
        "certificate",
        "certificate_period",
        "certificate_reminder",
        "quiz_accommodation",
        "service_type",
        "service_attribute",
        "neighborhood",
        "request_batch",
        "batch_row",
        "service_request",
        "request_event",
    }
)
_CHANGED = "liaison_data_changed"
_WRITING_SQL = re.compile(r"^\s*(?:insert|update|delete|replace|merge|with)\b", re.IGNORECASE)


class DataVersion(db.Model):
    """The database's data version: one row, whose token changes with every committed write."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, info=NOT_PII)
    token: Mapped[str] = mapped_column(String(32), info=NOT_PII)


def new_token() -> str:
    return secrets.token_hex(8)


@event.listens_for(DataVersion.__table__, "after_create")
def _first_version(target: Any, connection: Any, **_kw: Any) -> None:
    # create_all (tests, a new SQLite file) gets its row as the migration does.
    connection.execute(insert(target).values(id=1, token=new_token()))


def current_token() -> str | None:
    """The data version as of this transaction's first read of it (None: no version row)."""
    return db.session.execute(select(DataVersion.token).where(DataVersion.id == 1)).scalar()


def read_version() -> str | None:
    """The token to pass to `cached`, read before the part's data (None when caching is off)."""
    return current_token() if current_app.extensions["page_cache"].entries > 0 else None


# Seeing writes ----------------------------------------------------------------------------------


def _writes_shown_table(tables: Any) -> bool:
    return any(table.name not in IGNORED_TABLES for table in tables)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    # new, dirty and deleted still hold what this flush wrote.
    for instance in (*session.new, *session.dirty, *session.deleted):
        if _writes_shown_table(inspect(instance).mapper.tables):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    statement = state.statement
    reads = _reads.get()
    if reads is not None:
        reads.update(table.name for table in find_tables(statement, include_aliases=True, include_joins=True))
    if isinstance(statement, UpdateBase):
        if _writes_shown_table([statement.table]):
            state.session.info[_CHANGED] = True
    elif isinstance(statement, TextClause) and _WRITING_SQL.match(statement.text):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _replace_token(session: Session) -> None:
    session.flush()  # the commit's own flush would come after this event
    if session.info.pop(_CHANGED, False):
        # An upsert: a database whose row went missing (emptied by hand) gets it back.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        token = new_token()
        statement = insert(DataVersion).values(id=1, token=token)
        session.execute(statement.on_conflict_do_update(index_elements=[DataVersion.id], set_={"token": token}))


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction (committed, rolled back or closed), not a savepoint
        session.info.pop(_CHANGED, None)


# The cache --------------------------------------------------------------------------------------


class PageCache:
    """At most `entries` rendered parts, least recently used dropped first."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._parts: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Markup | None:
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
            return part

    def put(self, key: Hashable, part: Markup) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._parts[key] = part
            self._parts.move_to_end(key)
            while len(self._parts) > self.entries:
                self._parts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._parts)


def init_app(app: Any) -> None:
    app.extensions["page_cache"] = PageCache(app.config.get("PAGE_CACHE_ENTRIES", 256))


def cached(key: tuple[Hashable, ...], render: Callable[[], str], *, token: str | None = None) -> Markup:
    """The part `render` makes for `key`, rendered again only when the data version has changed.

    `key` names everything other than the database that the part depends on (the page, its
    filters, the language and time zone); `render` must read only the database besides that.
    The token must be read before anything the part shows, so that a part is never filed under a
    version newer than its data (on PostgreSQL each statement sees the latest commit): a view
    that loads rows for the part before calling this passes the token it read first.
    """
    cache: PageCache = current_app.extensions["page_cache"]
    token = token or read_version()
    if token is None:  # caching off, or no version row
        return _rendered(render)
    if token is None:
        return _rendered(render)
    full_key = (token, *key)
    part = cache.get(full_key)
    if part is None:
        part = _rendered(render)
        cache.put(full_key, part)
    return part


def _rendered(render: Callable[[], str]) -> Markup:
    # `render` returns an autoescaped template's output: HTML already safe to insert as it is.
    if not (current_app.debug or current_app.testing):
        return Markup(render())  # noqa: S704
    with _reads_recorded() as reads:
        part = Markup(render())  # noqa: S704
    if shown_but_ignored := reads & IGNORED_TABLES:
        raise RuntimeError(
            f"a cached part reads {', '.join(sorted(shown_but_ignored))}, whose writes page_cache ignores:"
            " take the table out of IGNORED_TABLES"
        )
    return part


_reads: ContextVar[set[str] | None] = ContextVar("page_cache_reads", default=None)


@contextmanager
def _reads_recorded() -> Iterator[set[str]]:
    """The names of the tables the statements run meanwhile read (debug and testing only)."""
    reads: set[str] = set()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)
