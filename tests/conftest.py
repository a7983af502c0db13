"""Fixtures: app, db, client, runner, login_as(role), outbox, query counting.

Run on SQLite by default; `pytest --db=postgresql` runs the same tests against a throwaway
PostgreSQL cluster (see tests/support/postgres.py).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from liaison import create_app
from liaison.auth.models import Role, User
from liaison.config import TestingConfig
from liaison.extensions import db
from tests import factories


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database the tests run against (postgresql starts a throwaway cluster)",
    )


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def postgres_server(database_kind: str) -> Iterator[str | None]:
    """The URL of the cluster's maintenance database, or None on SQLite."""
    if database_kind != "postgresql":
        yield None
        return
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


_database_numbers = iter(range(1, 1_000_000))


@contextmanager
def _fresh_postgres_database(server_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine

    name = f"liaison_test_{next(_database_numbers)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def shared_postgres_database(postgres_server: str | None) -> Iterator[str | None]:
    """One PostgreSQL database for the run; tables are emptied after each test."""
    if postgres_server is None:
        yield None
        return
    with _fresh_postgres_database(postgres_server) as url:
        yield url


@pytest.fixture
def database_url(shared_postgres_database: str | None, tmp_path: Path) -> str:
    """An empty database for one test (SQLite: a new file; PostgreSQL: the shared one, emptied)."""
    if shared_postgres_database is None:
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return shared_postgres_database


@pytest.fixture
def empty_database_url(postgres_server: str | None, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, for migration tests."""
    if postgres_server is None:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with _fresh_postgres_database(postgres_server) as url:
        yield url


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for the test app; tests may change them before `app` is created."""
    return {
        "CONFIG_CLASS": TestingConfig,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            # The data version's one row stays, as it would in a real database (page_cache).
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables if t.name != "data_version")
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An application context, for service tests that need no request."""
    with app.test_request_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """factories.make_user inside an app context, returning a user with loaded attributes."""

    def make(role: Role = Role.LIAISON, **kwargs: Any) -> User:
        with app.test_request_context():
            user = factories.make_user(role, **kwargs)
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def login(client: FlaskClient, user_email: str, password: str = factories.PASSWORD) -> Any:
    return client.post("/login", data={"email": user_email, "password": password})


@pytest.fixture
def login_as(client: FlaskClient, make_user: Callable[..., User]) -> Callable[..., User]:
    """Create a user of a role ("coordinator", "admin", "liaison", "deactivated") and log in."""

    def login_as(role: str = "liaison", **kwargs: Any) -> User:
        if role == "admin":
            user = make_user(Role.COORDINATOR, is_admin=True, **kwargs)
        elif role == "deactivated":
            user = make_user(Role.LIAISON, **kwargs)
        else:
            user = make_user(Role(role), **kwargs)
        response = login(client, user.email)
        assert response.status_code == 302, response.data[:500]
        if role == "deactivated":
            from liaison.auth.services import deactivate_user

            with client.application.test_request_context():
                stored = db.session.get(User, user.id)
                deactivate_user(stored, stored)
                db.session.commit()
        return user

    return login_as


@pytest.fixture
def outbox(app_config: dict[str, Any]) -> Callable[[], list[email.message.EmailMessage]]:
    """The messages written to the outbox folder so far, oldest first."""

    def read() -> list[email.message.EmailMessage]:
        folder = Path(app_config["MAIL_OUTBOX_DIR"])
        if not folder.exists():
            return []
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))
        ]

    return read


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as queries:` counts SQL statements run inside the block."""

    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if (
                not statement.lstrip()
                .upper()
                .startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
            ):
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter
