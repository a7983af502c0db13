"""Headers, CSRF, error pages, language choice and outages: what every page promises."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.exc import OperationalError

from liaison.auth.models import Role
from liaison.extensions import db
from tests.conftest import login


def test_every_page_sends_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]
    assert "Strict-Transport-Security" not in response.headers  # only production (HTTPS)


def test_pages_for_a_logged_in_person_are_never_cached(client, login_as):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login_as("liaison")
    assert client.get("/liaison").headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite_lax(app, client):
    app.config["WTF_CSRF_ENABLED"] = True  # the login form stores its token in the session
    client.get("/login")
    cookie = client.get_cookie("liaison_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert len(cookie.value) >= 43  # 256 random bits, URL-safe base64


def test_no_page_embeds_an_inline_script(client, login_as):
    login_as("admin")
    for url in ("/", "/coordinator", "/admin/accounts/", "/account"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "onclick=" not in html
        assert "javascript:" not in html


def test_htmx_is_configured_safely_and_sends_the_csrf_token(client, login_as):
    login_as("liaison")
    html = client.get("/").get_data(as_text=True)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1)
    assert '"allowEval":false' in config
    assert '"allowScriptTags":false' in config
    assert '"selfRequestsOnly":true' in config
    assert '"historyCacheSize":0' in config
    assert '"code":"422","swap":true' in config
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', html)
    assert "vendor/htmx/htmx.min.js" in html


def test_unknown_pages_get_a_404_page_and_htmx_gets_just_the_message(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Page not found" in page.get_data(as_text=True)
    fragment = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Page not found" in fragment.get_data(as_text=True)


def test_a_forbidden_page_explains_whom_to_contact(client, login_as):
    login_as("liaison")
    response = client.get("/coordinator")
    assert response.status_code == 403
    assert "contact your program coordinator" in response.get_data(as_text=True)


def test_a_wrong_method_gets_405_with_allow(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.headers["Allow"]


def test_an_unexpected_error_gets_the_500_page_not_a_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("kaboom")

    response = client.get("/boom-for-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "kaboom" not in html
    assert "Traceback" not in html


def test_when_the_database_is_down_pages_answer_503_with_retry_after(app, client, login_as, monkeypatch):
    login_as("coordinator")

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", down)
    response = client.get("/coordinator")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "briefly unavailable" in response.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json == {"status": "unavailable", "database": "unreachable"}
    monkeypatch.undo()
    assert client.get("/coordinator").status_code == 200
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_a_form_sent_with_an_expired_token_comes_back_with_what_was_typed(csrf_app, client):
    response = client.post("/password/forgot", data={"email": "kept@example.org", "csrf_token": "stale"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your session expired. Check the form and send it again." in html
    assert 'value="kept@example.org"' in html
    assert re.search(r'name="csrf_token" type="hidden" value="[^"]+"', html)


def test_a_state_change_without_a_form_and_without_a_token_gets_the_400_page(csrf_app, client):
    response = client.post("/logout")
    assert response.status_code == 400
    assert "Your session expired or the form was sent twice" in response.get_data(as_text=True)


def test_state_changes_need_the_csrf_token_even_from_htmx(csrf_app, make_user):
    admin = make_user(Role.COORDINATOR, is_admin=True)
    target = make_user(Role.LIAISON)
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert (
        client.post(
            "/login", data={"email": admin.email, "password": "correct horse battery staple", "csrf_token": token}
        ).status_code
        == 302
    )

    refused = client.post(f"/admin/accounts/{target.id}/active", data={"active": "0"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert "<html" not in refused.get_data(as_text=True)

    accounts = client.get("/admin/accounts/").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', accounts).group(1)
    accepted = client.post(
        f"/admin/accounts/{target.id}/active",
        data={"active": "0"},
        headers={"HX-Request": "true", "X-CSRFToken": header_token},
    )
    assert accepted.status_code == 200
    assert "Deactivated" in accepted.get_data(as_text=True)


def test_csrf_tokens_last_as_long_as_the_session_not_one_hour(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_a_visitor_switches_to_spanish_and_it_is_remembered(client):
    response = client.post("/language", data={"language": "es", "next": "/login"})
    assert response.status_code == 302
    assert response.location == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="es"' in html


def test_the_language_comes_from_the_browser_when_nothing_was_chosen(client):
    assert '<html lang="es"' in client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en"' in client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_a_logged_in_persons_language_choice_is_saved_on_their_account(app, client, make_user):
    user = make_user(Role.LIAISON)
    login(client, user.email)
    client.post("/language", data={"language": "es", "next": "/liaison"})
    other_device = app.test_client()
    login(other_device, user.email)
    assert '<html lang="es"' in other_device.get("/liaison").get_data(as_text=True)


def test_an_unknown_language_or_foreign_next_url_changes_nothing(client):
    response = client.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.location == "/"
    assert client.get_cookie("liaison_lang") is None


def test_large_requests_are_refused_with_a_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login", data={"email": "a" * 5000, "password": "b"})
    assert response.status_code == 413
    assert "larger than we accept" in response.get_data(as_text=True)


def test_a_language_chosen_before_logging_in_is_kept_after_it(client, make_user):
    user = make_user(Role.LIAISON, preferred_language="en")
    client.post("/language", data={"language": "es", "next": "/login"})
    login(client, user.email)
    assert '<html lang="es"' in client.get("/liaison").get_data(as_text=True)


def test_nul_characters_in_typed_text_never_reach_the_database(client, login_as, app):
    login_as("admin")
    response = client.post(
        "/admin/accounts/invite",
        data={"full_name": "Nul\x00 Person", "email": "nul@example.org", "role": "liaison", "preferred_language": "en"},
    )
    assert response.status_code == 302
    from liaison.auth.models import User

    with app.app_context():
        user = db.session.scalars(db.select(User).where(User.email == "nul@example.org")).one()
        assert user.full_name == "Nul Person"


def test_searching_for_an_underscore_matches_it_literally(client, login_as, make_user):
    login_as("admin")
    make_user(Role.LIAISON, full_name="Plain Name")
    make_user(Role.LIAISON, full_name="Under_score Name")
    html = client.get("/admin/accounts/?q=_").get_data(as_text=True)
    assert "Under_score Name" in html
    assert "Plain Name" not in html


def test_visitors_reading_pages_without_forms_create_no_session_rows(app, client):
    from liaison.auth.models import WebSession

    app.config["WTF_CSRF_ENABLED"] = True
    for _ in range(3):
        assert client.get("/").status_code == 200
        assert client.get("/healthz").status_code == 200
    with app.app_context():
        assert db.session.query(WebSession).count() == 0
