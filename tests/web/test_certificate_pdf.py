"""Downloading certificate PDFs: a liaison gets their own active one; coordinators get any."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf
import pytest

from liaison.auth.models import User
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.services import new_code
from liaison.db_types import utcnow
from liaison.extensions import db


@pytest.fixture
def give_certificate(app):
    """Give a user a certificate in a given status; returns (id, code)."""

    def give(user: User, status: CertificateStatus = CertificateStatus.ACTIVE) -> tuple[int, str]:
        with app.test_request_context():
            now = utcnow()
            certificate = Certificate(
                user_id=user.id,
                code=new_code(),
                status=status,
                issued_at=None if status is CertificateStatus.PENDING else now,
                expires_at=None if status is CertificateStatus.PENDING else now + timedelta(days=365),
                revoked_at=now if status is CertificateStatus.REVOKED else None,
            )
            db.session.add(certificate)
            db.session.commit()
            return certificate.id, certificate.code

    return give


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_liaison_downloads_their_certificate_as_a_pdf_attachment(client, login_as, give_certificate):
    liaison = login_as("liaison", full_name="Zoë Achterberg")
    _, code = give_certificate(liaison)

    response = client.get("/my/certificate.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="certificate-{code}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "Zoë Achterberg" in text
    assert code in text


@pytest.mark.parametrize("status", [None, CertificateStatus.PENDING, CertificateStatus.REVOKED])
def test_a_liaison_without_an_active_certificate_gets_a_friendly_404(client, login_as, give_certificate, status):
    liaison = login_as("liaison")
    if status is not None:
        give_certificate(liaison, status)

    response = client.get("/my/certificate.pdf")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "You have no certificate to download yet" in response.get_data(as_text=True)


def test_a_liaison_cannot_download_someone_elses_certificate(client, login_as, make_user, give_certificate):
    other = make_user(full_name="Someone Else")
    other_id, other_code = give_certificate(other)
    login_as("liaison")

    mine = client.get("/my/certificate.pdf")
    theirs = client.get(f"/coordinator/certificates/{other_id}.pdf")

    assert mine.status_code == 404
    assert theirs.status_code == 403
    assert other_code.encode() not in mine.data + theirs.data


def test_a_coordinator_downloads_any_certificate(client, login_as, make_user, give_certificate):
    liaison = make_user(full_name="Ngozi Ferreira")
    certificate_id, code = give_certificate(liaison)
    login_as("coordinator")

    response = client.get(f"/coordinator/certificates/{certificate_id}.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="certificate-{code}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert "Ngozi Ferreira" in pdf_text(response.data)


def test_a_coordinator_asking_for_an_unknown_certificate_gets_404(client, login_as):
    login_as("coordinator")

    assert client.get("/coordinator/certificates/999999.pdf").status_code == 404


def test_the_pdf_dates_follow_the_liaisons_language(client, login_as, give_certificate):
    liaison = login_as("liaison", preferred_language="es")
    give_certificate(liaison)

    text = pdf_text(client.get("/my/certificate.pdf").data)

    year = utcnow().year
    assert f"de {year}" in text  # e.g. "22 de noviembre de 2026"
