"""Public application form for residents."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from liaison.enrollment import services
from liaison.enrollment.apply_forms import ApplicationForm
from liaison.enrollment.models import GroupType
from liaison.errors import DomainError
from liaison.extensions import db, limiter, login_manager
from liaison.forms import apply_domain_error, csrf_checked_by_form

bp = Blueprint("apply", __name__)
logger = logging.getLogger(__name__)


def _apply_limit() -> str:
    return current_app.config["RATELIMIT_APPLY"]


def _current_locale() -> str:
    locale = str(get_locale() or "")
    return locale if locale in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _application_input(form: ApplicationForm) -> services.ApplicationInput:
    return services.ApplicationInput(
        full_name=form.full_name.data,
        email=form.email.data,
        phone=form.phone.data,
        address=form.address.data,
        zip_code=form.zip_code.data,
        neighborhood=form.neighborhood.data,
        group_type=GroupType(form.group_type.data),
        group_name=form.group_name.data,
        languages=form.all_languages(),
        availability=list(form.availability.data),
        motivation=form.motivation.data,
        consent=bool(form.consent.data),
        preferred_language=_current_locale(),
    )


@bp.route("/apply", methods=["GET", "POST"])
@csrf_checked_by_form
@limiter.limit(_apply_limit, methods=["POST"])
def apply() -> Any:
    form = ApplicationForm()
    if form.validate_on_submit():
        try:
            services.submit_application(_application_input(form))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        except OperationalError:
            return _database_unavailable(form)
        else:
            return redirect(url_for("apply.thanks"))
    status = 422 if request.method == "POST" else 200
    return render_template("apply/apply.html", form=form, neighborhoods=services.cohort_neighborhoods()), status


def _database_unavailable(form: ApplicationForm) -> Any:
    """The form again with everything typed, when the database drops out while saving it.

    The app-wide 503 page would lose five minutes of typing (SECURITY.md: rejection costs no
    typing); this page renders without asking the database anything.
    """
    logger.error("database unavailable while saving an application")
    try:
        db.session.rollback()
    except SQLAlchemyError:
        logger.debug("rollback after database outage failed", exc_info=True)
    g.database_unavailable = True
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    form.form_errors.append(
        _(
            "We could not save your application because our database did not answer. "
            "Everything you typed is still here: wait a minute and send it again."
        )
    )
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER"])
    return render_template("apply/apply.html", form=form, neighborhoods=[]), 503, {"Retry-After": retry_after}


@bp.get("/apply/thanks")
def thanks() -> Any:
    return render_template("apply/thanks.html")
