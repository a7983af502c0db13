"""Server-side sessions expire; rate-limit counters are shared through the database."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from liaison.auth.models import Role, WebSession
from liaison.auth.sessions import purge_expired_sessions
from liaison.extensions import db
from liaison.ratelimit import DatabaseStorage, purge_expired_counters
from tests.conftest import login


def test_a_session_idle_for_more_than_30_minutes_is_over(app, client, make_user):
    user = make_user(Role.LIAISON)
    login(client, user.email)
    with time_machine.travel(timedelta(minutes=29), tick=False):
        assert client.get("/liaison").status_code == 200
    with time_machine.travel(timedelta(minutes=29 + 31), tick=False):
        assert client.get("/liaison").status_code == 302


def test_activity_keeps_a_session_alive_but_not_beyond_12_hours(app, client, make_user):
    user = make_user(Role.LIAISON)
    login(client, user.email)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(timedelta(minutes=minutes), tick=False):
            assert client.get("/liaison").status_code == 200, minutes
    with time_machine.travel(timedelta(hours=12, minutes=5), tick=False):
        assert client.get("/liaison").status_code == 302


def test_the_session_table_holds_a_hash_not_the_cookie(app, client, make_user):
    user = make_user(Role.LIAISON)
    login(client, user.email)
    cookie = client.get_cookie("liaison_session").value
    with app.app_context():
        ids = db.session.scalars(db.select(WebSession.id).where(WebSession.user_id == user.id)).all()
    assert len(ids) == 1
    assert ids[0] != cookie
    assert len(ids[0]) == 64


def test_purging_removes_only_expired_sessions(app, client, make_user):
    user = make_user(Role.LIAISON)
    login(client, user.email)
    with app.test_request_context():
        assert purge_expired_sessions() == 0
        with time_machine.travel(timedelta(hours=1), tick=False):
            assert purge_expired_sessions() == 1


def test_database_rate_limit_counters_count_and_reset_after_the_window(app):
    storage = DatabaseStorage()
    with app.app_context():
        assert storage.incr("k", expiry=60) == 1
        assert storage.incr("k", expiry=60) == 2
        assert storage.get("k") == 2
        with time_machine.travel(timedelta(seconds=61), tick=False):
            assert storage.get("k") == 0
            assert storage.incr("k", expiry=60) == 1
        storage.clear("k")
        assert storage.get("k") == 0
        assert storage.check()


def test_two_app_processes_share_the_same_rate_limit_counter(app_config):
    from liaison import create_app

    app_config["RATELIMIT_STORAGE_URI"] = "database://"
    app_config["RATELIMIT_LOGIN_PER_IP"] = "3 per 5 minutes"
    first, second = create_app(app_config), create_app(app_config)
    with first.app_context():
        db.create_all()
    for app in (first, second, first):
        app.test_client().post("/login", data={"email": "a@example.org", "password": "x"})
    assert second.test_client().post("/login", data={"email": "a@example.org", "password": "x"}).status_code == 429
    with first.app_context():
        assert purge_expired_counters() == 0
        db.session.remove()
        db.engine.dispose()
    with second.app_context():
        db.engine.dispose()
