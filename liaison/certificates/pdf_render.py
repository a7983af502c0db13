"""WeasyPrint's side of the certificate PDF: trusted HTML in, PDF bytes out, with the
deny-by-default URL fetcher and one FontConfiguration per process.

Kept apart from liaison.certificates.pdf (templates, Flask, the database models) so the worker
processes that share a cohort's PDFs start by importing WeasyPrint only.

Security (SECURITY.md pitfall 5): the fetcher serves `data:` URIs and the app's own static files
only, read from disk; anything else (http, https, file:// outside the static folder, other
schemes) is refused without touching the network.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger("liaison.certificates.pdf")

_font_config: FontConfiguration | None = None
_font_config_lock = threading.Lock()
# Images fetched from the static folder, parsed once per process (WeasyPrint's `cache` option).
_image_cache: dict[Any, Any] = {}


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


@functools.lru_cache(maxsize=8)
def stylesheet(css: str, static_folder: str, static_url: str) -> CSS:
    """A stylesheet parsed once per process (relative URLs point into the static folder)."""
    return CSS(
        string=css,
        base_url=static_url,
        url_fetcher=StaticOnlyURLFetcher(static_folder, static_url),
        font_config=font_configuration(),
    )


def render_html(html: str, base_url: str, static_folder: str, static_url: str, css: str | None = None) -> bytes:
    """WeasyPrint's part, with no Flask app needed (it also runs in the worker processes)."""
    fetcher = StaticOnlyURLFetcher(static_folder, static_url)
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    stylesheets = [stylesheet(css, static_folder, static_url)] if css else None
    return document.write_pdf(  # type: ignore[no-any-return]
        stylesheets=stylesheets, font_config=font_configuration(), pdf_tags=True, cache=_image_cache
    )


def render_job(job: tuple[str, str, str, str, str | None]) -> bytes:
    return render_html(*job)
