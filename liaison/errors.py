"""The DomainError hierarchy and the one place that maps errors to responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from liaison.extensions import db, login_manager
from liaison.htmx import is_htmx

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the program was not met; `message` is shown to the person as is."""

    status_code = 422
    default_message = _l("This could not be done.")

    def __init__(self, message: Any = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        # The form field the message belongs next to, when there is one.
        self.field = field
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule (e.g. a duplicate, a past date)."""


class NotAllowed(DomainError):
    """The actor may not do this to this record."""

    status_code = 403
    default_message = _l("You are not allowed to do that.")


class NotFound(DomainError):
    """The record does not exist, or is not the actor's to see (both are a 404)."""

    status_code = 404
    default_message = _l("We could not find that.")


class Conflict(DomainError):
    """The record changed or is full (e.g. a cohort at capacity); try again or choose another."""

    status_code = 409


ERROR_TITLES = {
    400: _l("Bad request"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("That changed while you were working"),
    413: _l("That upload is too large"),
    422: _l("Please check what you entered"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is briefly unavailable"),
}

ERROR_EXPLANATIONS = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l(
        "Your account does not have permission for this. If you think it should, contact your program coordinator."
    ),
    404: _l(
        "The page you asked for does not exist or has moved. Check the address, or start again from the home page."
    ),
    405: _l("That action is not available here."),
    409: _l("Someone else changed this at the same time. Reload the page and try again."),
    413: _l("The file or form you sent is larger than we accept. Send a smaller file, or split it in parts."),
    422: _l("Some of what you entered needs another look."),
    429: _l("You have tried this too many times. Wait a few minutes and try again."),
    500: _l("We could not complete your request. It has been logged; please try again in a moment."),
    503: _l("We cannot reach our database right now. Nothing you sent was saved; please try again in a minute."),
}


def render_error(status: int, description: Any = None) -> tuple[str, int]:
    """The error page, or just its message fragment when htmx asked."""
    template = "errors/_fragment.html" if is_htmx() else "errors/page.html"
    title = ERROR_TITLES.get(status, ERROR_TITLES[500])
    explanation = description or ERROR_EXPLANATIONS.get(status, ERROR_EXPLANATIONS[500])
    return render_template(template, status=status, title=title, explanation=explanation), status


def _is_database_down(error: BaseException | None) -> bool:
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def _database_unavailable() -> tuple[str, int, dict[str, str]]:
    from flask import current_app

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already broken; nothing to undo
        logger.debug("rollback after database outage failed", exc_info=True)
    # Pages rendered now must not ask the database who is logged in.
    g.database_unavailable = True
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    body, status = render_error(503)
    return body, status, {"Retry-After": str(current_app.config["DATABASE_RETRY_AFTER"])}


def register_error_handlers(app: Flask) -> None:
    """Pages for HTTP errors, 422 for domain errors, 503 when the database is down."""

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Any:
        if error.code is None or error.code < 400:
            return error
        response = render_error(error.code)
        if error.code == 429:
            return response[0], 429, {"Retry-After": "60"}
        if error.code == 405 and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError) -> Any:
        # A view that can re-render its form with what was typed does so itself (see
        # liaison.forms); this is the fallback for everything else.
        logger.info("CSRF failure on %s: %s", request.endpoint, error.description)
        return render_error(
            400, _l("Your session expired or the form was sent twice. Go back, reload the page and send it again.")
        )

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Any:
        return render_error(error.status_code, error.message)

    @app.errorhandler(OperationalError)
    def handle_operational_error(error: OperationalError) -> Any:
        logger.error("database unavailable: %s", type(error.orig).__name__)
        return _database_unavailable()

    @app.errorhandler(InternalServerError)
    def handle_internal_error(error: InternalServerError) -> Any:
        original = getattr(error, "original_exception", None)
        if _is_database_down(original):
            logger.error("database unavailable: %s", type(original).__name__)
            return _database_unavailable()
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - never let the error page itself fail
            logger.debug("rollback in 500 handler failed", exc_info=True)
        return render_error(500)
