"""The certificate PDF: its text, its QR code, and that hostile names fetch and embed nothing."""

from __future__ import annotations

import io
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pypdf
import pytest
import segno
from flask import url_for
from flask_babel import force_locale

from liaison.auth.models import Role
from liaison.certificates import pdf
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.pdf import QR_MASK
from liaison.certificates.services import new_code
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.extensions import db
from tests import factories

BASE_URL = "http://localhost/"


def make_certificate(full_name: str, *, cohort_name: str = "Eastside spring cohort") -> Certificate:
    coordinator = factories.make_coordinator()
    cohort = enrollment.create_cohort(coordinator, enrollment.CohortInput(name=cohort_name, capacity=10))
    liaison = factories.make_user(Role.LIAISON, full_name=full_name)
    now = utcnow()
    certificate = Certificate(
        user_id=liaison.id,
        cohort_id=cohort.id,
        code=new_code(),
        status=CertificateStatus.ACTIVE,
        issued_at=now,
        expires_at=now + timedelta(days=365),
    )
    db.session.add(certificate)
    db.session.commit()
    return certificate


def pdf_text(data: bytes) -> str:
    """The PDF's text layer (pypdf), with line breaks and runs of spaces as single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def squeeze(text: str) -> str:
    """Text without whitespace: a long name wraps onto several lines in the PDF."""
    return re.sub(r"\s+", "", text)


def embedded_files(data: bytes) -> list[str]:
    """Every attached or embedded file pypdf can find: the attachments API, the name tree, annotations."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    found = list(reader.attachments)
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        found.append("/EmbeddedFiles name tree")
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("/FileAttachment annotation")
    return found


class Canary:
    """A loopback HTTP server that counts every request it receives."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                canary.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/svg+xml")
                self.end_headers()
                self.wfile.write(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_the_pdf_shows_the_name_the_code_the_program_and_the_cohort(app_ctx):
    certificate = make_certificate("Marguerite Okonkwo-Lindqvist")

    data = pdf.render_certificate_pdf(certificate, base_url=BASE_URL)

    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (297, 210)  # A4 landscape
    text = pdf_text(data)
    assert "Marguerite Okonkwo-Lindqvist" in text
    assert certificate.code in text
    assert "Neighborhood Liaison Program" in text
    assert "Eastside spring cohort" in text


def issued_in_march(certificate: Certificate) -> Certificate:
    """Noon in Philadelphia, so the printed dates are the same in every time zone's evening."""
    certificate.issued_at = datetime(2026, 3, 14, 16, 0, tzinfo=UTC)
    certificate.expires_at = datetime(2027, 3, 14, 16, 0, tzinfo=UTC)
    db.session.commit()
    return certificate


def test_the_pdf_gives_the_dates_and_where_to_type_the_code_each_on_one_line(app_ctx):
    certificate = issued_in_march(make_certificate("Marguerite Okonkwo-Lindqvist"))
    data = pdf.render_certificate_pdf(certificate, base_url=BASE_URL)

    layout = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    lines = [" ".join(line.split()) for line in layout.decode().splitlines()]
    assert "Issued on March 14, 2026" in lines
    assert "Valid until March 14, 2027" in lines
    # The address of the form to type a code in, for readers without a QR scanner.
    assert any(line.endswith("Verify at localhost/verify") for line in lines)


def test_in_spanish_the_dates_and_the_address_are_spanish_too(app_ctx):
    certificate = issued_in_march(make_certificate("Marguerite Okonkwo-Lindqvist"))
    with force_locale("es"):
        text = pdf_text(pdf.render_certificate_pdf(certificate, base_url=BASE_URL))

    assert "Emitido el 14 de marzo de 2026" in text
    assert "Vigente hasta el 14 de marzo de 2027" in text
    assert "Verifíquelo en localhost/verify" in text


def test_a_cohort_shared_by_worker_processes_gets_each_persons_pdf_in_order(app_ctx, monkeypatch):
    monkeypatch.setattr(pdf, "POOL_MIN", 2)
    certificates = [make_certificate(name) for name in ("Ngozi Ferreira", "Zoë Achterberg", "Amal Haddad")]

    rendered = pdf.render_certificate_pdfs(certificates, base_url=BASE_URL, processes=2)

    assert len(rendered) == 3
    for certificate, data in zip(certificates, rendered, strict=True):
        reader = pypdf.PdfReader(io.BytesIO(data))
        assert len(reader.pages) == 1
        text = pdf_text(data)
        assert certificate.user.full_name in text
        assert certificate.code in text
        assert not embedded_files(data)


def test_a_name_with_accents_comes_out_literally(app_ctx):
    certificate = make_certificate("José Ñúñez-Ortíz")

    text = pdf_text(pdf.render_certificate_pdf(certificate, base_url=BASE_URL))

    assert "José Ñúñez-Ortíz" in text


def test_the_program_name_setting_is_printed(app_ctx):
    app_ctx.config["PROGRAM_NAME"] = "Riverside Block Captains"
    certificate = make_certificate("Ada Byron")

    text = pdf_text(pdf.render_certificate_pdf(certificate, base_url=BASE_URL))

    assert "Riverside Block Captains" in text


def svg_modules(svg: str) -> list[list[int]]:
    """Read back the dark modules of segno's inline SVG path (M/m moves, h runs, 1 unit per module)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    grid = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, first, second in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r'd="([^"]+)"', svg)[1]):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            for column in range(int(x), int(x + float(first))):
                grid[int(y)][column] = 1
            x += float(first)
    return grid


def test_the_qr_code_in_the_certificate_encodes_the_public_verify_url(app_ctx):
    certificate = make_certificate("Ada Byron")

    html = pdf.certificate_html(certificate)

    expected_url = url_for("certificates.verify", code=certificate.code, _external=True)
    assert expected_url.startswith("http://")
    assert expected_url.endswith(f"/verify/{certificate.code}")
    embedded = re.search(r"<svg\b.*?</svg>", html, re.S)[0]
    reference = segno.make_qr(expected_url, error="m", mask=QR_MASK)
    # The modules drawn in the certificate are exactly those of the QR code for the verify URL.
    expected = [[int(bool(module)) for module in row] for row in reference.matrix_iter(border=pdf.QR_BORDER)]
    assert svg_modules(embedded) == expected
    # ... and of no other code: another certificate's URL draws a different pattern.
    other = segno.make_qr(expected_url.replace(certificate.code, new_code()), error="m", mask=QR_MASK)
    assert svg_modules(embedded) != [[int(bool(m)) for m in row] for row in other.matrix_iter(border=pdf.QR_BORDER)]
    assert pdf.verify_url(certificate) == expected_url


def hostile_names(canary: Canary) -> list[str]:
    return [
        "<link rel=attachment href=file:///etc/passwd>",
        f"<img src={canary.url('/img')}>",
        f'<p style="background: url({canary.url("/x")})">Eve</p>',
        f"<style>body {{ background: url({canary.url('/css')}) }}</style>",
        f'<a rel="attachment" href="{canary.url("/a")}">Eve</a>',
    ]


@pytest.mark.parametrize("which", range(5))
def test_a_hostile_name_fetches_nothing_embeds_nothing_and_is_printed_as_typed(app_ctx, canary, which):
    name = hostile_names(canary)[which]
    certificate = make_certificate(name)

    data = pdf.render_certificate_pdf(certificate, base_url=BASE_URL)

    assert canary.requests == []
    assert embedded_files(data) == []
    assert squeeze(name) in squeeze(pdf_text(data))


def test_the_fetcher_itself_refuses_hostile_markup_even_if_it_reached_weasyprint(app_ctx, canary):
    # Defense in depth: raw markup, as if escaping had failed.
    html = (
        "<p>Shown</p>"
        "<link rel=attachment href=file:///etc/passwd>"
        f"<link rel=attachment href={canary.url('/attachment')}>"
        f"<link rel=stylesheet href={canary.url('/style.css')}>"
        f"<img src={canary.url('/img')}>"
        f"<p style='background: url({canary.url('/x')})'>x</p>"
        "<img src=/static/../../../../etc/passwd>"
        "<img src=/static/%2e%2e/%2e%2e/liaison/config.py>"
    )

    data = pdf.html_to_pdf(html, base_url=BASE_URL)

    assert canary.requests == []
    assert embedded_files(data) == []
    assert "Shown" in pdf_text(data)


def test_the_fetcher_serves_data_uris_and_static_files_only(app_ctx, tmp_path):
    fetcher = pdf.StaticOnlyURLFetcher(app_ctx.static_folder, "http://localhost/static/")

    icon = fetcher.fetch("http://localhost/static/img/favicon.svg")
    assert icon.read().startswith(b"<svg")
    assert icon.content_type == "image/svg+xml"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    assert fetcher.fetch(f"file://{app_ctx.static_folder}/img/favicon.svg").read().startswith(b"<svg")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    for refused in [
        "file:///etc/passwd",
        f"file://{secret}",
        f"file://{app_ctx.static_folder}/../liaison/config.py",
        "http://localhost/static/../liaison/config.py",
        "http://localhost/static/%2e%2e/liaison/config.py",
        "http://localhost/static/img/",
        "http://localhost/static//etc/passwd",
        "http://localhost/login",
        "https://example.org/static/img/favicon.svg",
        "ftp://localhost/static/img/favicon.svg",
    ]:
        with pytest.raises(ValueError, match="Refused by the certificate URL fetcher"):
            fetcher.fetch(refused)


def test_one_font_configuration_serves_every_render(app_ctx):
    assert pdf.font_configuration() is pdf.font_configuration()


def test_the_pdf_is_tagged_for_screen_readers_and_names_its_language(app_ctx):
    certificate = make_certificate("Ada Byron")

    reader = pypdf.PdfReader(io.BytesIO(pdf.render_certificate_pdf(certificate, base_url=BASE_URL)))

    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"].value is True
    assert str(root["/Lang"]).startswith("en")


def test_the_completion_sentence_is_not_broken_after_its_first_word(app_ctx):
    # A sentence that only just fits the line: WeasyPrint once put "completed" alone on a line.
    certificate = make_certificate("Marguerite Okonkwo-Lindqvist", cohort_name="Benchmark cohort")
    data = pdf.render_certificate_pdf(certificate, base_url=BASE_URL)
    layout = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    [line] = [line for line in layout.decode().splitlines() if "completed" in line]
    assert "completed the liaison training" in " ".join(line.split())
