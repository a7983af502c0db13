"""Certificate PDF downloads: the liaison's own current certificate, any certificate for coordinators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_babel import lazy_gettext as _l

from liaison.certificates import services
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.pdf import render_certificate_pdf
from liaison.errors import NotFound
from liaison.extensions import db
from liaison.permissions import acting_user, coordinator_required, liaison_required

bp = Blueprint("certificate_pdf", __name__)


def _pdf_response(certificate: Certificate) -> Response:
    data = render_certificate_pdf(certificate, base_url=request.url_root)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{certificate.code}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/my/certificate.pdf")
@liaison_required
def mine() -> Any:
    certificate = services.current_certificate(acting_user().id)
    if certificate is None or certificate.status is not CertificateStatus.ACTIVE:
        raise NotFound(_l("You have no certificate to download yet. It appears on your dashboard once it is issued."))
    return _pdf_response(certificate)


@bp.get("/coordinator/certificates/<int:certificate_id>.pdf")
@coordinator_required
def for_coordinator(certificate_id: int) -> Any:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(_l("We could not find that certificate."))
    return _pdf_response(certificate)
