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

import logging
import mimetypes
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import segno
from flask import current_app, render_template, url_for
from flask_babel import format_date, get_locale
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from liaison.certificates.models import Certificate
from liaison.templating import program_name

logger = logging.getLogger(__name__)

_font_config: FontConfiguration | None = None
_font_config_lock = threading.Lock()
QR_BORDER = 4  # modules of quiet zone around the QR code, as the standard asks
# Images fetched from the static folder, parsed once per process (WeasyPrint's `cache` option).
_image_cache: dict[Any, Any] = {}
# Certificates rendered at once from which a cohort's PDFs are shared by worker processes (below
# it, starting the workers, about a second, costs more than it saves).
POOL_MIN = 40
DEFAULT_PROCESSES = 2


def font_configuration() -> FontConfiguration:
    """The process's FontConfiguration, created on first use."""
    global _font_config
    if _font_config is None:
        with _font_config_lock:
            if _font_config is None:
                _font_config = FontConfiguration()
    return _font_config


class StaticOnlyURLFetcher(URLFetcher):
    """Serves `data:` URIs and files inside the static folder; refuses everything else."""

    def __init__(self, static_folder: str | Path, static_url: str) -> None:
        # Only the data: handler of the parent is ever used (see fetch); no redirects, short timeout.
        super().__init__(timeout=1, allowed_protocols=("data",), allow_redirects=False)
        self.static_root = Path(static_folder).resolve()
        self.static_url = static_url if static_url.endswith("/") else static_url + "/"

    def static_path(self, url: str) -> Path | None:
        """The file inside the static folder that `url` names, or None when it names anything else."""
        if url.startswith("file:"):
            candidate = Path(url2pathname(urlsplit(url).path)).resolve()
        elif url.startswith(self.static_url):
            relative = unquote(urlsplit(url[len(self.static_url) :]).path)
            if not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative:
                return None
            candidate = (self.static_root / relative).resolve()
        else:
            return None
        if not candidate.is_relative_to(self.static_root) or not candidate.is_file():
            return None
        return candidate

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        path = self.static_path(url)
        if path is None:
            logger.warning("certificate PDF: refused to fetch %.200s", url)
            raise ValueError(f"Refused by the certificate URL fetcher: {url[:200]}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


def verify_url(certificate: Certificate) -> str:
    """The absolute address of the certificate's public verify page (what the QR code holds)."""
    return url_for("certificates.verify", code=certificate.code, _external=True)


def qr_svg(payload: str) -> str:
    """An inline SVG QR code (error correction M) for `payload`."""
    # viewBox only (no width/height): the stylesheet sets the printed size; border = quiet zone.
    return segno.make(payload, error="m").svg_inline(scale=1, border=QR_BORDER, dark="#000", omitsize=True)


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
        verify_url=link,
        qr_code=qr_svg(link),
        language=str(get_locale() or "en").replace("_", "-"),
    )


def _static_url(base_url: str) -> str:
    return urljoin(base_url, current_app.static_url_path.lstrip("/") + "/")


def _html_to_pdf(html: str, base_url: str, static_folder: str, static_url: str) -> bytes:
    """WeasyPrint's part, with no Flask app needed (it also runs in the worker processes)."""
    fetcher = StaticOnlyURLFetcher(static_folder, static_url)
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return document.write_pdf(font_config=font_configuration(), pdf_tags=True, cache=_image_cache)  # type: ignore[no-any-return]


def _html_to_pdf_job(job: tuple[str, str, str, str]) -> bytes:
    return _html_to_pdf(*job)


def html_to_pdf(html: str, *, base_url: str) -> bytes:
    """Render trusted certificate HTML with the deny-by-default fetcher and the shared fonts."""
    return _html_to_pdf(html, base_url, current_app.static_folder or "", _static_url(base_url))


def render_certificate_pdf(certificate: Certificate, *, base_url: str) -> bytes:
    """The certificate as PDF bytes; `base_url` is the app's root URL (e.g. request.url_root)."""
    return html_to_pdf(certificate_html(certificate), base_url=base_url)


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
    static_folder, static_url = current_app.static_folder or "", _static_url(base_url)
    jobs = [(certificate_html(certificate), base_url, static_folder, static_url) for certificate in certificates]
    if processes is None:
        processes = int(current_app.config.get("CERTIFICATE_RENDER_PROCESSES", DEFAULT_PROCESSES))
    if processes <= 1 or len(jobs) < POOL_MIN:
        return [_html_to_pdf_job(job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=context) as pool:
        return list(pool.map(_html_to_pdf_job, jobs, chunksize=max(1, min(16, len(jobs) // (4 * processes)))))
