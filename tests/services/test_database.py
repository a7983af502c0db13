"""The database keeps every write: SQLite settings, immediate transactions, migrations."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from liaison import create_app
from liaison.config import PROJECT_ROOT, TestingConfig
from liaison.database import sqlite_settings
from liaison.extensions import db
from tests import factories

INCREMENTS_PER_PROCESS = 100
PROCESSES = 4


def _increment(database_url: str, times: int) -> None:
    app = create_app({"CONFIG_CLASS": TestingConfig, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        for _ in range(times):
            # Read, then write the value read: the lost-update pattern (SECURITY.md pitfall 2).
            value = db.session.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
            db.session.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
            db.session.commit()
        db.engine.dispose()


@pytest.mark.slow
def test_four_processes_incrementing_a_counter_lose_no_update(app, database_url, database_kind):
    if database_kind != "sqlite":
        pytest.skip("PostgreSQL serialises with row locks; this proves SQLite's BEGIN IMMEDIATE")
    with app.app_context():
        db.session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        db.session.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_increment, args=(database_url, INCREMENTS_PER_PROCESS)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    with app.app_context():
        assert db.session.execute(text("SELECT value FROM counter")).scalar_one() == PROCESSES * INCREMENTS_PER_PROCESS


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        settings = sqlite_settings(db.engine)
    assert settings["journal_mode"] == "wal"
    assert settings["foreign_keys"] == 1
    assert settings["busy_timeout"] >= 5000


def test_sqlite_write_transactions_start_with_begin_immediate(app):
    statements: list[str] = []
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        from sqlalchemy import event

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        factories.make_liaison()
        event.remove(db.engine, "before_cursor_execute", record)
    assert "BEGIN IMMEDIATE" in statements


def test_deleting_a_user_removes_their_sessions_because_foreign_keys_are_enforced(app_ctx):
    from liaison.auth.models import User, WebSession

    user = factories.make_liaison()
    db.session.add(WebSession(id="x", user_id=user.id, data="{}"))
    db.session.commit()
    db.session.execute(db.delete(User).where(User.id == user.id))
    db.session.commit()
    assert db.session.get(WebSession, "x") is None


# Migrations ---------------------------------------------------------------------------------


@pytest.fixture
def empty_app(app_config, empty_database_url):
    """An app whose database has no tables yet (migrations create them)."""
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _migrations_dir() -> str:
    return str(PROJECT_ROOT / "migrations")


def test_migrations_have_a_single_head():
    script = ScriptDirectory.from_config(_alembic_config())
    assert len(script.get_heads()) == 1


def _alembic_config():
    from alembic.config import Config

    config = Config(str(Path(_migrations_dir()) / "alembic.ini"))
    config.set_main_option("script_location", _migrations_dir())
    return config


def test_the_models_and_the_migrations_agree(empty_app):
    with empty_app.app_context():
        upgrade(directory=_migrations_dir())
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations disagree; run `flask db migrate`: {differences}"


def test_migrations_go_up_down_and_up_again_keeping_data(empty_app):
    with empty_app.app_context():
        upgrade(directory=_migrations_dir())
        with empty_app.test_request_context():
            factories.make_liaison(email="kept@example.org")
        tables_after_first_upgrade = set(inspect(db.engine).get_table_names())
        downgrade(directory=_migrations_dir(), revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=_migrations_dir())
        assert set(inspect(db.engine).get_table_names()) == tables_after_first_upgrade
        assert {"user", "web_session", "audit_event", "rate_limit_counter"} <= tables_after_first_upgrade


def test_a_page_view_does_not_wait_for_a_writer_on_sqlite(app, client, login_as, database_kind):
    import sqlite3
    import time

    if database_kind != "sqlite":
        pytest.skip("SQLite only")
    login_as("coordinator")
    client.get("/coordinator")  # the first view after login saves the session
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = client.get("/coordinator")
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200
    assert elapsed < 2
