"""Configuration: production refuses unsafe settings; the environment chooses the database."""

from __future__ import annotations

import pytest

from liaison import create_app
from liaison.config import DEVELOPMENT_SECRET_KEY, ProductionConfig, default_database_url


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET_KEY, "", "too-short"])
def test_production_refuses_to_start_without_a_real_secret_key(secret, database_url):
    with pytest.raises(RuntimeError, match="Refusing to start in production"):
        create_app({"CONFIG_CLASS": ProductionConfig, "SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": database_url})


def test_production_starts_with_a_long_secret_and_secure_host_cookies(database_url):
    app = create_app(
        {"CONFIG_CLASS": ProductionConfig, "SECRET_KEY": "k" * 48, "SQLALCHEMY_DATABASE_URI": database_url}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert app.config["HSTS_SECONDS"] > 0


def test_production_pages_send_hsts(database_url):
    app = create_app(
        {"CONFIG_CLASS": ProductionConfig, "SECRET_KEY": "k" * 48, "SQLALCHEMY_DATABASE_URI": database_url}
    )
    response = app.test_client().get("/healthz", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_database_url_picks_postgresql_with_psycopg_3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.internal/liaison")
    assert default_database_url() == "postgresql+psycopg://u:p@db.internal/liaison"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/liaison")
    assert default_database_url().startswith("postgresql+psycopg://")


def test_without_database_url_the_database_is_a_sqlite_file_in_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = default_database_url()
    assert url.startswith("sqlite:///")
    assert url.endswith("instance/liaison.sqlite3")


def test_engines_check_connections_before_use(app):
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_request_size_limits_are_set_on_purpose(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 6 * 1024 * 1024
    assert app.config["MAX_FORM_PARTS"] >= 10_000


def test_behind_a_trusted_proxy_rate_limits_see_the_visitors_address(app_config):
    app_config.update(TRUSTED_PROXY_COUNT=1, RATELIMIT_LOGIN_PER_IP="2 per 5 minutes")
    app = create_app(app_config)
    from liaison.extensions import db

    with app.app_context():
        db.create_all()
    client = app.test_client()
    for _ in range(2):
        client.post(
            "/login", data={"email": "a@example.org", "password": "x"}, headers={"X-Forwarded-For": "203.0.113.5"}
        )
    blocked = client.post(
        "/login", data={"email": "b@example.org", "password": "x"}, headers={"X-Forwarded-For": "203.0.113.5"}
    )
    other = client.post(
        "/login", data={"email": "b@example.org", "password": "x"}, headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert blocked.status_code == 429
    assert other.status_code == 422
