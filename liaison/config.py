"""Configuration classes. Every setting a deployment changes comes from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = Path(os.environ.get("LIAISON_INSTANCE_PATH", PROJECT_ROOT / "instance"))

# Secrets that must never reach production; deploy-check and ProductionConfig refuse them.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - a known-insecure marker value
MIN_SECRET_KEY_LENGTH = 32


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url() -> str:
    """SQLite file in instance/ unless DATABASE_URL chooses another database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return f"sqlite:///{INSTANCE_PATH / 'liaison.sqlite3'}"


class Config:
    """Settings shared by every environment; read once when the app is created."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions are kept server-side (liaison.auth.sessions); the cookie only holds a random id.
    SESSION_COOKIE_NAME = "liaison_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_env_int("SESSION_ABSOLUTE_HOURS", 12))
    # Last-activity writes are throttled so a page view is not always a database write.
    SESSION_TOUCH_INTERVAL = timedelta(seconds=60)

    # CSRF tokens live as long as the session (SECURITY.md pitfall 9), not one hour.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    # Request size limits, set on purpose (SECURITY.md pitfall 8).
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    MAX_FORM_PARTS = _env_int("MAX_FORM_PARTS", 20_000)

    # Bulk request uploads (DESIGN.md "Bulk upload format"): rows and bytes per file.
    BULK_MAX_ROWS = _env_int("BULK_MAX_ROWS", 5_000)
    BULK_MAX_BYTES = _env_int("BULK_MAX_BYTES", 5 * 1024 * 1024)
    # Open requests of the same service at the same address this recent are possible duplicates.
    DUPLICATE_WINDOW_DAYS = _env_int("DUPLICATE_WINDOW_DAYS", 30)
    # Retention of neighbors' personal data (`flask liaison purge-expired`, liaison/service_requests/retention.py).
    REQUEST_RETENTION_DAYS = _env_int("REQUEST_RETENTION_DAYS", 365)
    SUBMITTED_ROWS_RETENTION_DAYS = _env_int("SUBMITTED_ROWS_RETENTION_DAYS", 7)
    DRAFT_RETENTION_DAYS = _env_int("DRAFT_RETENTION_DAYS", 180)

    # argon2id, OWASP minimum (SECURITY.md pitfall 13): t=2, m=19 MiB, p=1.
    PASSWORD_HASH_TIME_COST = 2
    PASSWORD_HASH_MEMORY_KIB = 19 * 1024
    PASSWORD_HASH_PARALLELISM = 1
    PASSWORD_MIN_LENGTH = 12

    INVITATION_TOKEN_MAX_AGE = timedelta(days=7)
    PASSWORD_RESET_TOKEN_MAX_AGE = timedelta(hours=2)

    # Rate limits: counters in the database by default so several processes share them.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
    # No X-RateLimit-* headers: each would cost a counter read after the view.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "20 per 5 minutes")
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_PER_ACCOUNT", "5 per 5 minutes")
    RATELIMIT_PASSWORD_RESET = os.environ.get("RATELIMIT_PASSWORD_RESET", "5 per hour")
    RATELIMIT_APPLY = os.environ.get("RATELIMIT_APPLY", "10 per hour")
    RATELIMIT_VERIFY = os.environ.get("RATELIMIT_VERIFY", "60 per minute")
    # Public request status pages (empty: the verify page's limit).
    RATELIMIT_STATUS = os.environ.get("RATELIMIT_STATUS", "")

    # Mail: SMTP when MAIL_SERVER is set, otherwise .eml files in instance/outbox/.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Liaison <no-reply@liaison.local>")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_PATH / "outbox"))

    # Internationalisation.
    LANGUAGES = ("en", "es")
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "en")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "America/New_York")
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "liaison" / "translations")
    LANGUAGE_COOKIE_NAME = "liaison_lang"

    # Empty: the translated default, "Neighborhood Liaison Program" / "Programa de Enlaces Comunitarios".
    PROGRAM_NAME = os.environ.get("PROGRAM_NAME", "")
    CITY_NAME = os.environ.get("CITY_NAME", "Philadelphia")
    # Absolute base URL for links in emails and QR codes (empty: the request's own host).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # Forwarding filed requests to the city (`flask liaison forward`): on when both are set.
    OPEN311_ENDPOINT = os.environ.get("OPEN311_ENDPOINT", "")
    OPEN311_API_KEY = os.environ.get("OPEN311_API_KEY", "")
    OPEN311_JURISDICTION_ID = os.environ.get("OPEN311_JURISDICTION_ID", "")
    # Seconds to wait for the city's answer to one request.
    OPEN311_TIMEOUT = float(os.environ.get("OPEN311_TIMEOUT", 10))
    # Tries before a request stops and waits for a coordinator (about 2 hours of backoff at 8).
    FORWARD_MAX_ATTEMPTS = _env_int("FORWARD_MAX_ATTEMPTS", 8)
    # Requests one worker claims at a time.
    FORWARD_BATCH_SIZE = _env_int("FORWARD_BATCH_SIZE", 100)
    CERTIFICATE_VALID_DAYS = _env_int("CERTIFICATE_VALID_DAYS", 365)
    # "automatic": meeting the rule issues the certificate; "manual": a coordinator approves it.
    CERTIFICATE_APPROVAL = os.environ.get("CERTIFICATE_APPROVAL", "automatic")

    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    # (needed for per-address rate limits and https URLs behind a load balancer).
    TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

    # Seconds a client is told to wait when the database does not answer.
    DATABASE_RETRY_AFTER = 30
    # Rendered page parts each process keeps (liaison/page_cache.py); 0 turns the cache off.
    PAGE_CACHE_ENTRIES = _env_int("PAGE_CACHE_ENTRIES", 256)
    # Strict-Transport-Security is only sent by production (behind HTTPS).
    HSTS_SECONDS = 0


class DevelopmentConfig(Config):
    """Local development: SQLite in instance/, mail to instance/outbox/."""

    ENV_NAME = "development"
    DEBUG = False  # the Werkzeug debugger stays opt-in: `flask --debug run`


class TestingConfig(Config):
    """Tests: cheap password hashing, in-memory rate limits, no CSRF unless a test turns it on."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - tests only
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 8
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = False
    WTF_CSRF_SSL_STRICT = False


class ProductionConfig(Config):
    """Production: PostgreSQL, HTTPS-only cookies with the __Host- prefix, HSTS."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-liaison_session"
    HSTS_SECONDS = 63_072_000
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """The config class named by LIAISON_ENV (development when unset)."""
    name = os.environ.get("LIAISON_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"LIAISON_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None


def check_secret_key(secret_key: str | None) -> str | None:
    """A reason the secret key is unfit for production, or None when it is fine."""
    if not secret_key or secret_key == DEVELOPMENT_SECRET_KEY:
        return "SECRET_KEY is not set (or is the development default)."
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters."
    return None
