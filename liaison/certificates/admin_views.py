"""Coordinators' certificate pages: the list, a cohort's members, issue for all, approve, revoke."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.certificates import services
from liaison.certificates.admin_forms import EXPIRES_WITHIN, STATE_LABELS, CertificateFilterForm, RevokeForm
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.pdf import render_certificate_pdfs
from liaison.db_types import utcnow
from liaison.enrollment.models import Cohort, Membership, MembershipStatus
from liaison.errors import DomainError, NotFound
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, coordinator_required

bp = Blueprint("certificate_admin", __name__)
PER_PAGE = 50
# People issued per htmx request of "issue for all" (a step takes well under a second).
ISSUE_STEP = 25
_PLACEHOLDER = "CODE-PLACEHOLDER"


class VerifyUrl:
    """The public verify link, built once per page (the verify helper's endpoint, or its path)."""

    def __init__(self) -> None:
        try:
            url = url_for("certificates.verify", code=_PLACEHOLDER)
        except BuildError:
            url = f"/verify/{_PLACEHOLDER}"
        self.head, _sep, self.tail = url.rpartition(_PLACEHOLDER)

    def __call__(self, code: str) -> str:
        return f"{self.head}{code}{self.tail}"


def _row_context() -> dict[str, Any]:
    return {
        "now": utcnow(),
        "state_of": services.certificate_state,
        "state_labels": STATE_LABELS,
        "verify_url": VerifyUrl(),
    }


def _get_certificate(certificate_id: int) -> Certificate:
    certificate = db.session.scalar(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .options(joinedload(Certificate.user), joinedload(Certificate.cohort))
    )
    if certificate is None:
        raise NotFound(_("There is no such certificate."))
    return certificate


def _filtered(query: Any, filters: CertificateFilterForm) -> Any:
    now = utcnow()
    soon = now + services.EXPIRING_SOON
    active = Certificate.status == CertificateStatus.ACTIVE
    if filters.cohort.data and filters.cohort.data.isdigit():
        query = query.where(Certificate.cohort_id == int(filters.cohort.data))
    state = filters.state.data
    if state == "valid":
        query = query.where(active, Certificate.expires_at > soon)
    elif state == "expiring_soon":
        query = query.where(active, Certificate.expires_at > now, Certificate.expires_at <= soon)
    elif state == "expired":
        query = query.where(active, Certificate.expires_at <= now)
    elif state == "revoked":
        query = query.where(Certificate.status == CertificateStatus.REVOKED)
    elif state == "pending":
        query = query.where(Certificate.status == CertificateStatus.PENDING)
    if filters.expires.data in {str(days) for days in EXPIRES_WITHIN}:
        until = now + timedelta(days=int(filters.expires.data))
        query = query.where(active, Certificate.expires_at > now, Certificate.expires_at <= until)
        return query.order_by(Certificate.expires_at, Certificate.id)
    return query.order_by(Certificate.id.desc())


@bp.get("/")
@coordinator_required
def index() -> Any:
    cohorts = list(db.session.execute(select(Cohort.id, Cohort.name).order_by(func.lower(Cohort.name), Cohort.id)))
    filters = CertificateFilterForm(request.args, cohort_choices=[(str(id_), name) for id_, name in cohorts])
    filters.validate()
    query = select(Certificate).options(joinedload(Certificate.user), joinedload(Certificate.cohort))
    page = db.paginate(_filtered(query, filters), per_page=PER_PAGE, error_out=False)
    context = {"page": page, "filters": filters, "cohorts": cohorts, **_row_context()}
    if is_htmx():
        return render_template("certificate_admin/_list.html", **context)
    return render_template("certificate_admin/index.html", **context)


# A cohort's members ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """One active member of the cohort, whether they meet the rule, and their certificate."""

    user: User
    eligibility: services.Eligibility
    certificate: Certificate | None


def _member_rows(cohort_id: int) -> list[MemberRow]:
    """Every active member, in a fixed number of queries whatever the cohort's size."""
    eligibility = services.eligibility_for_cohort(cohort_id)
    users = list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(func.lower(User.full_name), User.id)
        )
    )
    certificates: dict[int, Certificate] = {}
    if users:
        # Current (pending or active) certificates win over revoked ones; newest revoked otherwise.
        for certificate in db.session.scalars(
            select(Certificate).where(Certificate.user_id.in_([user.id for user in users])).order_by(Certificate.id)
        ):
            kept = certificates.get(certificate.user_id)
            if kept is None or kept.status is CertificateStatus.REVOKED:
                certificates[certificate.user_id] = certificate
    return [
        MemberRow(user, eligibility.get(user.id, services.Eligibility(None, [])), certificates.get(user.id))
        for user in users
    ]


def _get_cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(_("There is no such cohort."))
    return cohort


@bp.get("/cohorts/<int:cohort_id>")
@coordinator_required
def cohort(cohort_id: int) -> Any:
    cohort = _get_cohort(cohort_id)
    rows = _member_rows(cohort.id)
    waiting = sum(1 for row in rows if row.eligibility.eligible and _issuable(row))
    return render_template(
        "certificate_admin/cohort.html",
        cohort=cohort,
        rows=rows,
        waiting=waiting,
        active_count=_active_count(cohort.id),
        **_row_context(),
    )


def _issuable(row: MemberRow) -> bool:
    return row.certificate is None or row.certificate.status is CertificateStatus.REVOKED


@bp.post("/cohorts/<int:cohort_id>/issue")
@coordinator_required
def issue_cohort(cohort_id: int) -> Any:
    """Issue (or queue for approval) for every eligible member without a certificate.

    With htmx, one step of ISSUE_STEP people per request, committed each time: the progress
    fragment it returns asks for the next step until none is left (htmx's Progress Bar pattern,
    with the progress read from the database, so it holds with several app processes and after a
    reload). Without JavaScript, one request issues them all and shows the summary.
    """
    cohort = _get_cohort(cohort_id)
    me = acting_user()
    if is_htmx():
        result = services.issue_for_cohort(me, cohort.id, limit=ISSUE_STEP)
        db.session.commit()
        return render_template("certificate_admin/_issue_progress.html", cohort=cohort, result=result)
    result = services.issue_for_cohort(me, cohort.id)
    db.session.commit()
    active = sum(1 for certificate in result.issued if certificate.status is CertificateStatus.ACTIVE)
    summary = {
        "issued": active,
        "pending": len(result.issued) - active,
        "already": result.already,
        "not_eligible": result.not_eligible,
        "members": result.members,
    }
    return render_template("certificate_admin/issued.html", cohort=cohort, summary=summary, issued=result.issued)


# Approve and revoke ---------------------------------------------------------------------------


def _row_response(certificate_id: int, message: str, status: int = 200) -> Any:
    certificate = _get_certificate(certificate_id)
    return render_template(
        "certificate_admin/_row.html", certificate=certificate, message=message, **_row_context()
    ), status


def _back() -> str:
    target = request.form.get("next", "")
    # Only our own pages (a path on this site), never an outside address.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("certificate_admin.index")


@bp.post("/<int:certificate_id>/approve")
@coordinator_required
def approve(certificate_id: int) -> Any:
    certificate = _get_certificate(certificate_id)
    name = certificate.user.full_name
    try:
        services.approve_certificate(acting_user(), certificate)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return _row_response(certificate_id, str(error.message), error.status_code)
        flash(str(error.message), "error")
        return redirect(_back())
    db.session.commit()
    message = _("Certificate of %(name)s issued.", name=name)
    if is_htmx():
        return _row_response(certificate_id, message)
    flash(message, "success")
    return redirect(_back())


@bp.route("/<int:certificate_id>/revoke", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def revoke(certificate_id: int) -> Any:
    certificate = _get_certificate(certificate_id)
    form = RevokeForm(prefix=f"certificate-{certificate.id}")
    if form.validate_on_submit():
        name = certificate.user.full_name
        try:
            services.revoke_certificate(acting_user(), certificate, form.reason.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            message = _("Certificate of %(name)s revoked.", name=name)
            if is_htmx():
                return _row_response(certificate_id, message)
            flash(message, "success")
            return redirect(url_for("certificate_admin.index"))
    status = 422 if request.method == "POST" else 200
    context = {"certificate": certificate, "form": form}
    if is_htmx():
        return render_template("certificate_admin/_revoke_row.html", **context), status
    return render_template("certificate_admin/revoke.html", **context), status


# A cohort's certificates as one ZIP file ------------------------------------------------------


def _active_in_cohort(cohort_id: int) -> Any:
    return (Certificate.cohort_id == cohort_id, Certificate.status == CertificateStatus.ACTIVE)


def _active_count(cohort_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Certificate).where(*_active_in_cohort(cohort_id))) or 0


@bp.get("/cohorts/<int:cohort_id>/certificates.zip")
@coordinator_required
def cohort_zip(cohort_id: int) -> Any:
    """The PDFs of the cohort's active certificates, one ZIP built in memory.

    Entries are named by code only: a person's name may hold path characters ("../", "/").
    About 35 ms of CPU per certificate, shared by two worker processes from 40 certificates on
    (render_certificate_pdfs): a 500-person cohort in about 10 s.
    It holds personal data: audited, never cached.
    """
    cohort = _get_cohort(cohort_id)
    certificates = list(
        db.session.scalars(
            select(Certificate)
            .where(*_active_in_cohort(cohort.id))
            .options(joinedload(Certificate.user), joinedload(Certificate.cohort))
            .order_by(Certificate.code)
        )
    )
    if not certificates:
        raise NotFound(_("%(cohort)s has no active certificates to download.", cohort=cohort.name))
    pdfs = render_certificate_pdfs(certificates, base_url=request.url_root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for certificate, pdf in zip(certificates, pdfs, strict=True):
            archive.writestr(f"certificate-{certificate.code}.pdf", pdf)
    record_event(acting_user(), "certificates.exported", cohort, count=len(certificates))
    db.session.commit()
    response = Response(buffer.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="cohort-{cohort.id}-certificates.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response
