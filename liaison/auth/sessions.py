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
from typing import Any

from flask import Flask, Request, Response
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from liaison.auth.models import WebSession
from liaison.database import READ_ONLY
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
    ) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.last_active_at = last_active_at
        self.modified = False
        self.regenerate_requested = False
        # Set when the database did not answer: the request goes on without saving.
        self.readonly = readonly

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.token is None

    def regenerate(self) -> None:
        """Give this session a new id at save time and end the old one (login, logout)."""
        self.regenerate_requested = True
        self.modified = True


class DatabaseSessionInterface(SessionInterface):
    """Loads and saves DatabaseSession rows with Core statements on their own connection.

    Their own connection, so that saving a session never commits (or is rolled back with)
    the view's unit of work.
    """

    def open_session(self, app: Flask, request: Request) -> DatabaseSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if not token:
            return DatabaseSession()
        try:
            with db.engine.connect().execution_options(**READ_ONLY) as connection:
                row = connection.execute(
                    select(table.c.data, table.c.created_at, table.c.last_active_at).where(
                        table.c.id == hash_token(token)
                    )
                ).first()
        except SQLAlchemyError:
            logger.exception("session store unavailable")
            return DatabaseSession(readonly=True)
        if row is None:
            return DatabaseSession()
        created_at = WebSession.created_at.type.process_result_value(row.created_at, db.engine.dialect)
        last_active_at = WebSession.last_active_at.type.process_result_value(row.last_active_at, db.engine.dialect)
        now = utcnow()
        if (
            now - last_active_at > app.config["SESSION_IDLE_TIMEOUT"]
            or now - created_at > app.config["SESSION_ABSOLUTE_TIMEOUT"]
        ):
            self._delete(token)
            return DatabaseSession()
        return DatabaseSession(serializer.loads(row.data), token, last_active_at=last_active_at)

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
