"""Account administration for admin coordinators: list, invite, deactivate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from liaison.accounts import services
from liaison.accounts.forms import AccountFilterForm, InviteUserForm
from liaison.auth.models import Role, User
from liaison.auth.services import create_user, send_invitation
from liaison.errors import DomainError
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, admin_required

bp = Blueprint("accounts", __name__, url_prefix="/admin/accounts")
PER_PAGE = 50


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
@admin_required
def index() -> Any:
    filters = AccountFilterForm(request.args)
    filters.validate()
    query = services.accounts_query(
        search=filters.q.data or "", role=filters.role.data or "", status=filters.status.data or ""
    )
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    template = "accounts/_results.html" if is_htmx() else "accounts/index.html"
    return render_template(template, page=page, filters=filters)


@bp.route("/invite", methods=["GET", "POST"])
@csrf_checked_by_form
@admin_required
def invite() -> Any:
    form = InviteUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                email=form.email.data,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                is_admin=form.is_admin.data and form.role.data == Role.COORDINATOR.value,
                preferred_language=form.preferred_language.data,
                actor=acting_user(),
            )
            send_invitation(user, actor=acting_user())
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Invitation sent to %(name)s.", name=user.full_name), "success")
            return redirect(url_for("accounts.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/invite.html", form=form), status


@bp.post("/<int:user_id>/invitation")
@admin_required
def resend_invitation(user_id: int) -> Any:
    user = _get_user(user_id)
    if user.has_password:
        flash(_("%(name)s has already set a password.", name=user.full_name), "info")
    else:
        send_invitation(user, actor=acting_user())
        db.session.commit()
        flash(_("Invitation sent again to %(name)s.", name=user.full_name), "success")
    return redirect(url_for("accounts.index"))


@bp.post("/<int:user_id>/active")
@admin_required
def set_active(user_id: int) -> Any:
    user = _get_user(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_account_active(acting_user(), user, active)
    except DomainError as error:
        if is_htmx():
            return render_template("accounts/_row.html", user=user, error=error.message), 403
        flash(str(error.message), "error")
        return redirect(url_for("accounts.index"))
    db.session.commit()
    if is_htmx():
        return render_template("accounts/_row.html", user=user)
    message = (
        _("%(name)s can log in again.", name=user.full_name)
        if active
        else _("%(name)s is deactivated and has been logged out everywhere.", name=user.full_name)
    )
    flash(message, "success")
    return redirect(url_for("accounts.index"))
