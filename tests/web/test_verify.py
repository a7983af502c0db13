"""The public certificate verify page (/verify/<code>), its JSON form, the code form, and the
certificate box on the liaison's dashboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from liaison.auth.models import User
from liaison.certificates import services as certificates
from liaison.certificates.models import Certificate, CertificatePeriod, CertificateStatus, PeriodKind
from liaison.db_types import utcnow
from liaison.enrollment.models import Cohort
from liaison.extensions import db

NAME = "Zoë Okafor-Nguyễn"


def make_certificate(
    app,
    make_user,
    *,
    expires_in: timedelta = timedelta(days=300),
    status: CertificateStatus = CertificateStatus.ACTIVE,
    revoked_ago: timedelta | None = None,
    reason: str = "",
    renewed: bool = False,
    full_name: str = NAME,
) -> tuple[str, User]:
    """A liaison's certificate in the given shape; returns its code and the liaison."""
    liaison = make_user(full_name=full_name)
    now = utcnow()
    expires_at = now + expires_in
    with app.test_request_context():
        cohort = Cohort(name="Maple Street Spring", capacity=10)
        db.session.add(cohort)
        db.session.flush()
        certificate = Certificate(user_id=liaison.id, cohort_id=cohort.id, code=certificates.new_code(), status=status)
        if status is not CertificateStatus.PENDING:
            issued_at = expires_at - timedelta(days=730 if renewed else 365)
            certificate.issued_at = issued_at
            certificate.expires_at = expires_at
            certificate.periods.append(
                CertificatePeriod(kind=PeriodKind.ISSUED, starts_at=issued_at, ends_at=issued_at + timedelta(days=365))
            )
            if renewed:
                certificate.periods.append(
                    CertificatePeriod(
                        kind=PeriodKind.RENEWED, starts_at=issued_at + timedelta(days=365), ends_at=expires_at
                    )
                )
        if revoked_ago is not None:
            certificate.revoked_at = now - revoked_ago
            certificate.revoke_reason = reason
        db.session.add(certificate)
        db.session.commit()
        return certificate.code, liaison


def page(client, code: str) -> tuple[int, str]:
    response = client.get(f"/verify/{code}")
    return response.status_code, response.get_data(as_text=True)


def state_of(html: str) -> str:
    match = re.search(r'id="certificate-state" data-state="([a-z_]+)"', html)
    assert match, html[:2000]
    return match.group(1)


# States ----------------------------------------------------------------------------------------


def test_a_valid_certificate_shows_the_name_program_cohort_dates_and_valid(client, app, make_user):
    code, _liaison = make_certificate(app, make_user)
    status, html = page(client, code)
    assert status == 200
    assert state_of(html) == "valid"
    assert "usa-alert--success" in html
    assert NAME in html
    assert "Maple Street Spring" in html
    assert "This certificate is valid until" in html
    assert code in html
    history = html.split('id="certificate-history"')[1]
    assert history.count("<tr>") == 2  # the header and the one issue


def test_a_renewed_certificate_lists_its_history(client, app, make_user):
    code, _liaison = make_certificate(app, make_user, renewed=True)
    _status, html = page(client, code)
    history = html.split('id="certificate-history"')[1].split("</table>")[0]
    assert "Issued" in history
    assert "Renewed" in history
    assert history.index("Issued") < history.index("Renewed")


def test_a_certificate_expiring_within_30_days_says_so(client, app, make_user):
    code, _liaison = make_certificate(app, make_user, expires_in=timedelta(days=10))
    _status, html = page(client, code)
    assert state_of(html) == "expiring_soon"
    assert "usa-alert--warning" in html
    assert "It expires soon" in html


def test_an_expired_certificate_says_expired_with_its_date(client, app, make_user):
    code, _liaison = make_certificate(app, make_user, expires_in=-timedelta(days=3))
    _status, html = page(client, code)
    assert state_of(html) == "expired"
    assert "This certificate expired on" in html
    assert "is valid until" not in html


def test_a_revoked_certificate_shows_the_date_but_never_the_reason(client, app, make_user):
    code, _liaison = make_certificate(
        app,
        make_user,
        status=CertificateStatus.REVOKED,
        revoked_ago=timedelta(days=2),
        reason="Private medical matter",
    )
    _status, html = page(client, code)
    assert state_of(html) == "revoked"
    assert "This certificate was revoked on" in html
    assert 'id="certificate-revoked-at"' in html
    assert "Private medical matter" not in html
    data = client.get(f"/verify/{code}.json").get_json()
    assert data["state"] == "revoked"
    assert data["revoked_at"]
    assert "Private medical matter" not in str(data)


def test_the_state_follows_the_clock(client, app, make_user):
    import time_machine

    code, _liaison = make_certificate(app, make_user, expires_in=timedelta(days=40))
    assert state_of(page(client, code)[1]) == "valid"
    with time_machine.travel(timedelta(days=15), tick=False):
        assert state_of(page(client, code)[1]) == "expiring_soon"
    with time_machine.travel(timedelta(days=41), tick=False):
        assert state_of(page(client, code)[1]) == "expired"


# Finding a certificate ---------------------------------------------------------------------------


def test_an_unknown_code_is_the_404_page(client):
    status, html = page(client, "LNP-0000-0000-0000")
    assert status == 404
    assert "No certificate has this code" in html


def test_a_loosely_typed_code_finds_the_certificate(client, app, make_user):
    code, _liaison = make_certificate(app, make_user)
    loose = code.lower().replace("-", "").replace("0", "o").replace("1", "l")
    status, html = page(client, loose)
    assert status == 200
    assert NAME in html


def test_a_certificate_waiting_for_approval_is_not_found(client, app, make_user):
    code, _liaison = make_certificate(app, make_user, status=CertificateStatus.PENDING)
    assert page(client, code)[0] == 404
    assert client.get(f"/verify/{code}.json").status_code == 404


# Privacy and robots ----------------------------------------------------------------------------------


def test_the_page_is_not_indexed_by_search_engines(client, app, make_user):
    code, _liaison = make_certificate(app, make_user)
    response = client.get(f"/verify/{code}")
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in response.get_data(as_text=True)
    assert client.get(f"/verify/{code}.json").headers["X-Robots-Tag"] == "noindex"
    assert client.get("/verify").headers["X-Robots-Tag"] == "noindex"


def test_the_page_shows_no_contact_details(client, app, make_user):
    code, liaison = make_certificate(app, make_user)
    _status, html = page(client, code)
    assert liaison.email not in html
    assert "mailto:" not in html
    assert "tel:" not in html
    assert "@" not in html.split('id="main-content"')[1].split("</main>")[0]
    assert liaison.email not in client.get(f"/verify/{code}.json").get_data(as_text=True)


def test_the_json_form_gives_the_same_answer_for_software(client, app, make_user):
    code, _liaison = make_certificate(app, make_user, renewed=True)
    response = client.get(f"/verify/{code.lower()}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {
        "code", "name", "program", "cohort", "state", "issued_at", "expires_at", "revoked_at", "periods"
    }  # fmt: skip
    assert data["code"] == code
    assert data["name"] == NAME
    assert data["cohort"] == "Maple Street Spring"
    assert data["state"] == "valid"
    assert data["revoked_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expires_at"])
    assert [period["kind"] for period in data["periods"]] == ["issued", "renewed"]
    assert data["periods"][-1]["ends_at"] == data["expires_at"]


def test_the_json_form_of_an_unknown_code_is_a_json_404(client):
    response = client.get("/verify/LNP-0000-0000-0000.json")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not found"}


def test_lookups_are_rate_limited_per_address(client, app, make_user):
    code, _liaison = make_certificate(app, make_user)
    app.config["RATELIMIT_VERIFY"] = "3 per minute"
    assert page(client, code)[0] == 200
    assert client.get(f"/verify/{code}.json").status_code == 200
    assert page(client, "LNP-0000-0000-0000")[0] == 404
    assert page(client, code)[0] == 429
    assert client.get(f"/verify/{code}.json").status_code == 429
    other = client.get(f"/verify/{code}", environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


# The form to type a code ------------------------------------------------------------------------------


def test_the_verify_form_has_one_labelled_code_field(client):
    response = client.get("/verify")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label class="usa-label" for="code">' in html
    field = re.search(r"<input[^>]*id=\"code\"[^>]*>", html).group(0)
    assert 'autocapitalize="characters"' in field
    assert 'spellcheck="false"' in field
    assert 'method="get"' in html


def test_the_verify_form_sends_a_typed_code_to_its_page(client, app, make_user):
    code, _liaison = make_certificate(app, make_user)
    response = client.get("/verify", query_string={"code": f"  {code.lower().replace('-', ' ')} "})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/verify/{code}"


@pytest.mark.parametrize("typed", ["LNP-1234", "hello world!", ""])
def test_the_verify_form_refuses_what_is_not_a_code_and_keeps_it(client, typed):
    response = client.get("/verify", query_string={"code": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="code-error"' in html
    assert f'value="{typed}"' in html or typed == ""


def test_the_footer_links_to_the_verify_form(client):
    assert 'href="/verify"' in client.get("/").get_data(as_text=True)


# The liaison's dashboard -------------------------------------------------------------------------------


def test_a_certified_liaison_sees_their_certificate_on_the_dashboard(client, app, make_user):
    from tests.conftest import login

    code, liaison = make_certificate(app, make_user)
    login(client, liaison.email)
    html = client.get("/liaison").get_data(as_text=True)
    box = html.split('id="certificate-summary"')[1].split("</section>")[0]
    assert "Your certificate" in box
    assert code in box
    assert 'data-state="valid"' in box
    assert f'href="/verify/{code}"' in box
    assert 'href="/my/certificate.pdf"' in box


def test_a_revoked_certificate_on_the_dashboard_offers_no_pdf(client, app, make_user):
    from tests.conftest import login

    code, liaison = make_certificate(
        app, make_user, status=CertificateStatus.REVOKED, revoked_ago=timedelta(days=1), reason="x"
    )
    login(client, liaison.email)
    box = client.get("/liaison").get_data(as_text=True).split('id="certificate-summary"')[1].split("</section>")[0]
    assert 'data-state="revoked"' in box
    assert "certificate.pdf" not in box


def test_a_liaison_not_yet_certified_sees_what_is_missing(client, login_as):
    login_as("liaison")
    html = client.get("/liaison").get_data(as_text=True)
    box = html.split('id="certificate-summary"')[1].split("</section>")[0]
    assert "Your certificate" in box
    assert "Not in a cohort." in box
    assert "certificate.pdf" not in box
