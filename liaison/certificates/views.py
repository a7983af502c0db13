"""Certificates: the public verify page (HTML and JSON) and the form to type a code.

Public, no login. Shows only what a certificate proves (name, program, cohort, dates, history,
state): never contact details nor a revocation's reason. Rate limited per IP and `noindex`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from liaison.certificates import services
from liaison.certificates.models import Certificate
from liaison.errors import NotFound
from liaison.extensions import limiter
from liaison.templating import program_name

bp = Blueprint("certificates", __name__)

NOINDEX = {"X-Robots-Tag": "noindex"}


def _verify_limit() -> str:
    return current_app.config["RATELIMIT_VERIFY"]


# One budget per IP for every way of looking a code up (page, JSON, form).
verify_limit = limiter.shared_limit(_verify_limit, scope="certificate-verify")


class VerifyCodeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET lookup form changes nothing

    code = StringField(
        _l("Certificate code"),
        description=_l("It is printed on the certificate, for example LNP-7K3D-Q9XA-M2RT."),
        validators=[DataRequired(_l("Enter the certificate code.")), Length(max=40)],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"},
    )


@bp.get("/verify")
@verify_limit
def verify_form() -> Any:
    form = VerifyCodeForm(request.args)
    if "code" not in request.args:
        return render_template("certificates/verify_form.html", form=form), 200, NOINDEX
    if form.validate():
        code = services.normalise_code(form.code.data)
        if code:
            return redirect(url_for("certificates.verify", code=code))
        form.code.errors = [
            *form.code.errors,
            str(_l("That is not a certificate code. Codes look like LNP-7K3D-Q9XA-M2RT.")),
        ]
    return render_template("certificates/verify_form.html", form=form), 422, NOINDEX


@bp.get("/verify/<code>")
@verify_limit
def verify(code: str) -> Any:
    certificate = services.find_by_code(code)
    state = services.certificate_state(certificate)
    return (
        render_template("certificates/verify.html", certificate=certificate, state=state.value),
        200,
        NOINDEX,
    )


def _w3c(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def verification(certificate: Certificate) -> dict[str, Any]:
    """The public answer about one certificate, for software (no contact details, no reason)."""
    return {
        "code": certificate.code,
        "name": certificate.user.full_name,
        "program": str(program_name()),
        "cohort": certificate.cohort.name if certificate.cohort else None,
        "state": services.certificate_state(certificate).value,
        "issued_at": _w3c(certificate.issued_at),
        "expires_at": _w3c(certificate.expires_at),
        "revoked_at": _w3c(certificate.revoked_at),
        "periods": [
            {"kind": period.kind.value, "starts_at": _w3c(period.starts_at), "ends_at": _w3c(period.ends_at)}
            for period in certificate.periods
        ],
    }


@bp.get("/verify/<code>.json")
@verify_limit
def verify_json(code: str) -> Any:
    try:
        certificate = services.find_by_code(code)
    except NotFound:
        return jsonify({"error": "not found"}), 404, NOINDEX
    return jsonify(verification(certificate)), 200, NOINDEX
