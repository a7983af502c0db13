"""Home page, dashboards, language switch and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from liaison.auth.models import Role
from liaison.auth.services import set_preferred_language
from liaison.extensions import csrf, db
from liaison.main import services
from liaison.permissions import acting_user, coordinator_required, liaison_required
from liaison.urls import safe_next_url

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> Any:
    return render_template("main/index.html")


@bp.get("/dashboard")
@login_required
def dashboard() -> Any:
    if current_user.role == Role.COORDINATOR:
        return redirect(url_for("main.coordinator_dashboard"))
    return redirect(url_for("main.liaison_dashboard"))


@bp.get("/coordinator")
@coordinator_required
def coordinator_dashboard() -> Any:
    summary = services.coordinator_summary()
    return render_template("main/coordinator_dashboard.html", summary=summary)


@bp.get("/liaison")
@liaison_required
def liaison_dashboard() -> Any:
    dashboard = services.liaison_dashboard(acting_user())
    return render_template("main/liaison_dashboard.html", dashboard=dashboard, steps=dashboard.steps)


@bp.post("/language")
@csrf.exempt  # forging it can only change someone's display language; visitors need no session for it
def set_language() -> Any:
    language = request.form.get("language", "")
    target = safe_next_url(request.form.get("next")) or url_for("main.index")
    response = redirect(target)
    if language not in current_app.config["LANGUAGES"]:
        return response
    if current_user.is_authenticated:
        set_preferred_language(acting_user(), language)
        db.session.commit()
    response.set_cookie(
        current_app.config["LANGUAGE_COOKIE_NAME"],
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.get("/healthz")
@csrf.exempt
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        retry = str(current_app.config["DATABASE_RETRY_AFTER"])
        return jsonify(status="unavailable", database="unreachable"), 503, {"Retry-After": retry}
    return jsonify(status="ok", database="ok")
