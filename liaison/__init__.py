"""Liaison: the software a city uses to run its neighborhood liaison program."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import select_autoescape

from liaison.config import (
    INSTANCE_PATH,
    PROJECT_ROOT,
    Config,
    ProductionConfig,
    check_secret_key,
    config_from_environment,
)

__all__ = ["create_app"]


def create_app(config: type[Config] | Mapping[str, Any] | None = None) -> Flask:
    """Build the app: load config, bind extensions, register blueprints, errors and CLI."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_PATH),
    )
    _load_config(app, config)
    _check_production_settings(app)
    if proxies := app.config["TRUSTED_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # Autoescape every template whatever its extension (SECURITY.md pitfall 6).
    app.jinja_env.autoescape = select_autoescape(default=True, default_for_string=True)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    _init_extensions(app)
    _register_blueprints(app)

    from liaison import errors, security, templating
    from liaison.cli import liaison_cli

    errors.register_error_handlers(app)
    security.init_app(app)
    templating.init_app(app)
    app.cli.add_command(liaison_cli)
    # Registered last so it runs first among after_request hooks (Flask runs them in reverse).
    app.after_request(_end_unit_of_work)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # WeasyPrint and fontTools log every rendering step at INFO: one PDF would fill a page of logs.
        for noisy in ("weasyprint", "fontTools"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return app


def _end_unit_of_work(response: Any) -> Any:
    """Return the request's database connection before the session cookie is saved.

    The view has committed what it meant to keep; anything left is discarded. On SQLite every
    transaction holds the write lock (BEGIN IMMEDIATE), so the session store's own connection
    would otherwise wait for this one until the busy timeout.
    """
    from liaison.extensions import db

    db.session.remove()
    return response


def _load_config(app: Flask, config: type[Config] | Mapping[str, Any] | None) -> None:
    if config is None:
        app.config.from_object(config_from_environment())
    elif isinstance(config, Mapping):
        app.config.from_object(config.get("CONFIG_CLASS", config_from_environment()))
        app.config.update({k: v for k, v in config.items() if k != "CONFIG_CLASS"})
    else:
        app.config.from_object(config)


def _check_production_settings(app: Flask) -> None:
    if app.config.get("ENV_NAME") != ProductionConfig.ENV_NAME:
        return
    problem = check_secret_key(app.config.get("SECRET_KEY"))
    if problem:
        raise RuntimeError(f"Refusing to start in production: {problem}")


def _init_extensions(app: Flask) -> None:
    from liaison import (
        database,
        models,  # noqa: F401 - every table in the metadata
        page_cache,
        ratelimit,  # noqa: F401 - registers the database:// limiter storage
    )
    from liaison.auth.sessions import DatabaseSessionInterface, session_user_unknown
    from liaison.certificates import triggers  # noqa: F401 - issues certificates when progress changes
    from liaison.database import configure_engine
    from liaison.extensions import babel, csrf, db, limiter, login_manager, migrate
    from liaison.i18n import install_template_formatting, install_template_gettext, select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    database.init_app(app)
    page_cache.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    install_template_formatting(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "database://")
    limiter.init_app(app)
    app.session_interface = DatabaseSessionInterface()

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.request_loader(session_user_unknown)

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")

    from liaison.auth.models import User

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Usually found in the identity map: the session interface loaded it with the session.
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None


def _register_blueprints(app: Flask) -> None:
    from liaison.accounts.views import bp as accounts_bp
    from liaison.auth.views import bp as auth_bp
    from liaison.certificates.admin_views import bp as certificate_admin_bp
    from liaison.certificates.pdf_views import bp as certificate_pdf_bp
    from liaison.certificates.views import bp as certificates_bp
    from liaison.enrollment.apply_views import bp as apply_bp
    from liaison.enrollment.cohorts_views import bp as cohorts_bp
    from liaison.enrollment.queue_views import bp as queue_bp
    from liaison.enrollment.sessions_views import bp as sessions_bp
    from liaison.main.views import bp as main_bp
    from liaison.service_requests.batch_views import bp as batches_bp
    from liaison.service_requests.catalog_views import bp as catalog_bp
    from liaison.service_requests.follow_up_views import bp as follow_up_bp
    from liaison.service_requests.my_requests_views import bp as my_requests_bp
    from liaison.service_requests.paper_views import bp as paper_bp
    from liaison.service_requests.queue_views import bp as request_queue_bp
    from liaison.service_requests.status_views import bp as request_status_bp
    from liaison.service_requests.submit_views import bp as batch_submit_bp
    from liaison.service_requests.upload_views import bp as batch_upload_bp
    from liaison.training.authoring_views import bp as authoring_bp
    from liaison.training.oversight_views import bp as oversight_bp
    from liaison.training.views import bp as training_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(apply_bp)
    app.register_blueprint(queue_bp, url_prefix="/coordinator/applications")
    app.register_blueprint(cohorts_bp, url_prefix="/coordinator/cohorts")
    app.register_blueprint(sessions_bp)
    app.register_blueprint(training_bp, url_prefix="/training")
    app.register_blueprint(authoring_bp, url_prefix="/coordinator/training")
    app.register_blueprint(oversight_bp, url_prefix="/coordinator/training")
    app.register_blueprint(certificates_bp)
    app.register_blueprint(certificate_admin_bp, url_prefix="/coordinator/certificates")
    app.register_blueprint(certificate_pdf_bp)
    app.register_blueprint(catalog_bp, url_prefix="/coordinator/catalog")
    app.register_blueprint(my_requests_bp, url_prefix="/requests")
    app.register_blueprint(batches_bp, url_prefix="/requests/batches")
    app.register_blueprint(batch_upload_bp, url_prefix="/requests/batches")
    app.register_blueprint(batch_submit_bp, url_prefix="/requests/batches")
    app.register_blueprint(request_queue_bp, url_prefix="/coordinator/requests")
    app.register_blueprint(request_status_bp, url_prefix="/status")
    app.register_blueprint(follow_up_bp, url_prefix="/requests")
    app.register_blueprint(paper_bp, url_prefix="/requests")
