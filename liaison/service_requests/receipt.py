"""The printable receipt a liaison hands or sends to a neighbor (WeasyPrint, A6-like half page).

It holds the request number, the service, the filing date, the public status page's address as
text and as a QR code, and the program's name; the neighbor's first name only when they agreed
to be contacted. No other personal data, and the street address only at block level, so a lost
slip says nothing about who asked.

Rendering reuses the certificate's deny-by-default URL fetcher and shared fonts
(`liaison.certificates.pdf.html_to_pdf`) and its QR helper: nothing is fetched from the network
or the disk outside the static folder. The template is `.html`, so every value is autoescaped.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import format_date, get_locale

from liaison.certificates.pdf import html_to_pdf, qr_svg
from liaison.service_requests.models import ServiceRequest
from liaison.service_requests.tracking import PUBLIC_STATE_TEXT, public_location, service_name, state_label, status_url
from liaison.templating import program_name


def receipt_html(service_request: ServiceRequest) -> str:
    """The receipt as HTML (autoescaped template), ready for WeasyPrint."""
    link = status_url(service_request)
    return render_template(
        "service_requests/requests/receipt_pdf.html",
        number=service_request.id,
        program=program_name(),
        service=service_name(service_request.service_type),
        filed_on=format_date(service_request.requested_at, "long"),
        location=public_location(service_request.address),
        zipcode=service_request.zipcode,
        state=state_label(service_request.state),
        state_text=PUBLIC_STATE_TEXT[service_request.state],
        first_name=service_request.neighbor_first_name.strip() if service_request.contact_consent else "",
        external_id=service_request.external_id,
        status_url=link,
        qr_code=qr_svg(link),
        language=str(get_locale() or "en").replace("_", "-"),
    )


def render_receipt_pdf(service_request: ServiceRequest, *, base_url: str) -> bytes:
    """The receipt as PDF bytes; `base_url` is the app's root URL (e.g. request.url_root)."""
    return html_to_pdf(receipt_html(service_request), base_url=base_url)
