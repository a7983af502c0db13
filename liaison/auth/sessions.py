"""Server-side sessions stored in the database.

Flask's default session is a signed cookie: a copy taken before logout keeps working after it
(SECURITY.md pitfall 1). Here the cookie holds only a random 256-bit token; the data lives in
the `web_session` table under the token's SHA-256, so any app process on any host can serve
any request, and ending a session (logout, password change, deactivation) is a DELETE.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any, NamedTuple

from flask import Flask, Request, Response
from flask import session as flask_session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, null, select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from liaison.auth.models import User, WebSession
from liaison.database import READ_ONLY, SAFE_METHODS, mark_request
from liaison.db_types import utcnow
from liaison.extensions import db

logger = logging.getLogger(__name__)
serializer = TaggedJSONSerializer()
table = WebSession.__table__


def hash_token(token: str) -> str:
    """The database key for a session cookie value."""
    return hashlib.sha256(token.encode()).hexdigest()


class DatabaseSession(CallbackDict, SessionMixin):
    """Session data plus what save_session needs to know about its row."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        token: str | None = None,
        *,
        last_active_at: datetime | None = None,
        readonly: bool = False,
        user: User | None = None,
        load_error: SQLAlchemyError | None = None,
    ) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.last_active_at = last_active_at
        self.modified = False
        self.regenerate_requested = False
        # Set when the database did not answer: the request goes on without saving, and
        # whoever asks who is logged in gets load_error (see session_user_unknown).
        self.readonly = readonly
        self.load_error = load_error
        # The user loaded with the session (safe-method requests), held here because the
        # identity map keeps objects only while something refers to them.
        self.user = user

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.token is None

    def regenerate(self) -> None:
        """Give this session a new id at save time and end the old one (login, logout)."""
        self.regenerate_requested = True
        self.modified = True


class DatabaseSessionInterface(SessionInterface):
    """Loads DatabaseSession rows in the request's unit of work (with their user) and saves them
    with Core statements on their own connection.

    Their own connection, so that saving a session never commits (or is rolled back with)
    the view's unit of work.
    """

    def open_session(self, app: Flask, request: Request) -> DatabaseSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if not token:
            return DatabaseSession()
        mark_request(request)
        try:
            row = _load(hash_token(token), with_user=request.method in SAFE_METHODS)
        except SQLAlchemyError as error:
            db.session.rollback()
            logger.exception("session store unavailable")
            return DatabaseSession(readonly=True, load_error=error)
        if row is None:
            return DatabaseSession()
        now = utcnow()
        if (
            now - row.last_active_at > app.config["SESSION_IDLE_TIMEOUT"]
            or now - row.created_at > app.config["SESSION_ABSOLUTE_TIMEOUT"]
        ):
            self._delete(token)
            return DatabaseSession()
        return DatabaseSession(serializer.loads(row.data), token, last_active_at=row.last_active_at, user=row.user)

    def save_session(  # type: ignore[override]
        self, app: Flask, session: DatabaseSession, response: Response
    ) -> None:
        if session.readonly:
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        response.vary.add("Cookie")

        if session.regenerate_requested and session.token:
            self._delete(session.token)
            session.token = None

        if not session:
            if session.token is not None:
                self._delete(session.token)
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=self.get_cookie_secure(app),
                    httponly=self.get_cookie_httponly(app),
                    samesite=self.get_cookie_samesite(app),
                )
            return

        now = utcnow()
        user_id = _user_id(session)
        if session.token is None:
            session.token = secrets.token_urlsafe(32)
            self._execute(
                insert(table).values(
                    id=hash_token(session.token),
                    user_id=user_id,
                    data=serializer.dumps(dict(session)),
                    created_at=now,
                    last_active_at=now,
                )
            )
        elif session.modified:
            self._execute(
                update(table)
                .where(table.c.id == hash_token(session.token))
                .values(user_id=user_id, data=serializer.dumps(dict(session)), last_active_at=now)
            )
        elif session.last_active_at is None or now - session.last_active_at > app.config["SESSION_TOUCH_INTERVAL"]:
            self._execute(update(table).where(table.c.id == hash_token(session.token)).values(last_active_at=now))
        else:
            return

        response.set_cookie(
            name,
            session.token,
            domain=domain,
            path=path,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )

    def _execute(self, statement: Any) -> None:
        try:
            with db.engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError:
            logger.exception("could not save session")

    def _delete(self, token: str) -> None:
        self._execute(delete(table).where(table.c.id == hash_token(token)))


def session_user_unknown(_request: Request) -> None:
    """Flask-Login's request_loader, asked when the session names no user: if that is because
    the session could not be read, who is logged in is unknown, and the page fails with the
    database's error (the 503 page) instead of treating the person as a visitor."""
    error = getattr(flask_session, "load_error", None)
    if error is not None:
        raise error


class StoredSession(NamedTuple):
    data: str
    created_at: datetime
    last_active_at: datetime
    user: User | None


def _load(session_id: str, *, with_user: bool) -> StoredSession | None:
    """The session's row, or None.

    For a safe-method request the row is read in the request's own (deferred, read-only)
    transaction together with the session's user: the user lands in the identity map, where
    Flask-Login's user_loader (db.session.get) finds it without a second query. Any other
    request reads on a connection of its own, as its unit of work must not begin before the
    before_request hooks (on SQLite its transaction takes the write lock, which the rate
    limiter's counter would then wait for)."""
    columns = (WebSession.data, WebSession.created_at, WebSession.last_active_at)
    if with_user:
        statement = select(*columns, User).outerjoin(User, User.id == WebSession.user_id)
        row = db.session.execute(statement.where(WebSession.id == session_id)).first()
    else:
        with db.engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(select(*columns, null()).where(WebSession.id == session_id)).first()
    return StoredSession(*row) if row is not None else None


def _user_id(session: DatabaseSession) -> int | None:
    value = session.get("_user_id")
    return int(value) if value is not None else None


def end_user_sessions(user_id: int) -> int:
    """Delete every session of a user in the current transaction; returns how many ended."""
    result = db.session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return result.rowcount or 0


def purge_expired_sessions(now: datetime | None = None) -> int:
    """Delete sessions past their idle or absolute timeout; returns how many were removed."""
    from flask import current_app

    now = now or utcnow()
    idle_cutoff = now - current_app.config["SESSION_IDLE_TIMEOUT"]
    absolute_cutoff = now - current_app.config["SESSION_ABSOLUTE_TIMEOUT"]
    result = db.session.execute(
        delete(WebSession).where((WebSession.last_active_at < idle_cutoff) | (WebSession.created_at < absolute_cutoff))
    )
    return result.rowcount or 0
