"""Checks that refuse insecure production settings."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from liaison.config import check_secret_key
from liaison.database import sqlite_settings
from liaison.extensions import db

DEMO_EMAIL_DOMAIN = "@example.org"


def run_deploy_checks(app: Flask) -> list[str]:
    """Every reason these settings are unfit for production (empty when they are fine)."""
    config = app.config
    problems: list[str] = []
    if app.debug:
        problems.append("Debug mode is on: the debugger lets anyone run code on the server.")
    if config.get("TESTING"):
        problems.append("TESTING is on.")
    secret_problem = check_secret_key(config.get("SECRET_KEY"))
    if secret_problem:
        problems.append(secret_problem)
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off: session cookies would travel over plain HTTP.")
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("SESSION_COOKIE_HTTPONLY is off: scripts could read the session cookie.")
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        problems.append("SESSION_COOKIE_SAMESITE must be Lax or Strict.")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("CSRF protection is off (WTF_CSRF_ENABLED).")
    if not config.get("RATELIMIT_ENABLED", True):
        problems.append("Rate limiting is off (RATELIMIT_ENABLED).")
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        problems.append(
            "Rate limits are kept in process memory: each worker counts on its own. "
            "Use RATELIMIT_STORAGE_URI=database:// or redis://."
        )

    endpoint = str(config.get("OPEN311_ENDPOINT") or "")
    if endpoint and not endpoint.lower().startswith("https://"):
        problems.append(
            "OPEN311_ENDPOINT is not an https:// URL: the API key and neighbors' contact details "
            "would travel unencrypted."
        )

    engine = db.engine
    if engine.dialect.name == "sqlite":
        settings = sqlite_settings(engine)
        if str(settings["journal_mode"]).lower() != "wal":
            problems.append("SQLite is not in WAL mode.")
        if settings["foreign_keys"] != 1:
            problems.append("SQLite foreign keys are off.")
        if not settings["busy_timeout"]:
            problems.append("SQLite has no busy timeout.")

    from liaison.auth.models import User

    demo = db.session.scalars(select(User.email).where(User.email.like(f"%{DEMO_EMAIL_DOMAIN}")).limit(1)).first()
    if demo is not None:
        problems.append("Demo accounts (…@example.org) exist: remove them before going live.")
    return problems
