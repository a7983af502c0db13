"""The certificate as a PDF (WeasyPrint 70): A4 landscape, QR code to the public verify page.

Security (SECURITY.md pitfall 5): WeasyPrint is given a deny-by-default URL fetcher that serves
`data:` URIs and the app's own static files only, read from disk; anything else (http, https,
file:// outside the static folder, other schemes) is refused without touching the network. The
template is `.html`, so the liaison's name is autoescaped and can never become markup.

One FontConfiguration is shared by the process (a new one per render costs 40-100 ms). The PDF
is tagged for screen readers (`pdf_tags=True`, accepted by WeasyPrint 70's `write_pdf`). The QR
code is inline SVG (no PNG encoding, nothing fetched). A cohort's PDFs can be shared by worker
processes (render_certificate_pdfs).
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import segno
from flask import current_app, render_template, url_for
from flask_babel import format_date, get_locale

from liaison.certificates.models import Certificate
from liaison.certificates.pdf_render import (  # noqa: F401 - StaticOnlyURLFetcher: part of this module's interface
    StaticOnlyURLFetcher,
    font_configuration,
    render_html,
    render_job,
)
from liaison.templating import program_name

QR_BORDER = 4  # modules of quiet zone around the QR code, as the standard asks
# Certificates rendered at once from which a cohort's PDFs are shared by worker processes (below
# it, starting the workers, about a second, costs more than it saves).
POOL_MIN = 40
DEFAULT_PROCESSES = 2
QR_MASK = 2


def verify_url(certificate: Certificate) -> str:
    """The absolute address of the certificate's public verify page (what the QR code holds)."""
    return url_for("certificates.verify", code=certificate.code, _external=True)


def verify_address() -> str:
    """Where to type a code, as printed under the QR code: the verify form's address without its
    scheme (`city.example.org/verify`), short enough for one line."""
    return url_for("certificates.verify_form", _external=True).split("://", 1)[-1]


def qr_svg(payload: str) -> str:
    """An inline SVG QR code (error correction M) for `payload`."""
    # A fixed mask pattern: any of the eight is a valid code for every reader, and scoring all
    # eight to pick one was 4 of the 5.5 ms segno spent per certificate (measured).
    # viewBox only (no width/height): the stylesheet sets the printed size; border = quiet zone.
    return segno.make_qr(payload, error="m", mask=QR_MASK).svg_inline(
        scale=1, border=QR_BORDER, dark="#000", omitsize=True
    )


def certificate_html(certificate: Certificate) -> str:
    """The certificate page as HTML (autoescaped template), ready for WeasyPrint."""
    link = verify_url(certificate)
    return render_template(
        "certificates/pdf.html",
        certificate=certificate,
        program=program_name(),
        full_name=certificate.user.full_name,
        cohort_name=certificate.cohort.name if certificate.cohort is not None else "",
        issued_on=format_date(certificate.issued_at, "long") if certificate.issued_at else "",
        expires_on=format_date(certificate.expires_at, "long") if certificate.expires_at else "",
        verify_address=verify_address(),
        qr_code=qr_svg(link),
        language=str(get_locale() or "en").replace("_", "-"),
    )


def _static_url(base_url: str) -> str:
    return urljoin(base_url, current_app.static_url_path.lstrip("/") + "/")


def html_to_pdf(html: str, *, base_url: str) -> bytes:
    """Render trusted certificate HTML with the deny-by-default fetcher and the shared fonts."""
    return render_html(html, base_url, current_app.static_folder or "", _static_url(base_url))


@functools.cache
def _certificate_css(template_folder: str) -> str:
    return (Path(template_folder) / "certificates" / "pdf.css").read_text(encoding="utf-8")


def _certificate_job(certificate: Certificate, base_url: str) -> tuple[str, str, str, str, str]:
    return (
        certificate_html(certificate),
        base_url,
        current_app.static_folder or "",
        _static_url(base_url),
        _certificate_css(str(current_app.template_folder)),
    )


def render_certificate_pdf(certificate: Certificate, *, base_url: str) -> bytes:
    """The certificate as PDF bytes; `base_url` is the app's root URL (e.g. request.url_root)."""
    return render_job(_certificate_job(certificate, base_url))


def render_certificate_pdfs(
    certificates: Sequence[Certificate], *, base_url: str, processes: int | None = None
) -> list[bytes]:
    """The PDFs of many certificates, in order (a cohort's ZIP).

    The HTML is rendered here, in the app; with at least POOL_MIN certificates the WeasyPrint
    work is shared by `processes` worker processes (CERTIFICATE_RENDER_PROCESSES, default 2),
    started for this call with "spawn" (nothing of this process is inherited: no database
    connection, no lock) and stopped at its end. Workers only turn this trusted HTML into PDF,
    with the same deny-by-default URL fetcher and one FontConfiguration each.
    """
    # A generator: the workers start on the first PDFs while the next HTML is being rendered.
    jobs = (_certificate_job(certificate, base_url) for certificate in certificates)
    if processes is None:
        processes = int(current_app.config.get("CERTIFICATE_RENDER_PROCESSES", DEFAULT_PROCESSES))
    if processes <= 1 or len(certificates) < POOL_MIN:
        return [render_job(job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        return list(pool.map(render_job, jobs, chunksize=4))
