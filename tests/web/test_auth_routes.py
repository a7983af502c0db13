"""Logging in and out, sessions, passwords and invitations over HTTP."""

from __future__ import annotations

import re

import pytest

from liaison.auth.models import Role, User
from liaison.auth.tokens import TokenPurpose, make_token
from liaison.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD


def _session_cookie(client) -> str:
    cookie = client.get_cookie("liaison_session")
    assert cookie is not None
    return cookie.value


def test_a_liaison_logs_in_and_lands_on_their_dashboard(client, make_user):
    user = make_user(Role.LIAISON, full_name="Marta Ruiz")
    response = login(client, user.email)
    assert response.status_code == 302
    page = client.get(response.location, follow_redirects=True)
    assert page.request.path == "/liaison"
    assert "Hello, Marta Ruiz" in page.get_data(as_text=True)


def test_a_coordinator_lands_on_the_coordinator_dashboard(client, make_user):
    user = make_user(Role.COORDINATOR)
    login(client, user.email)
    page = client.get("/dashboard", follow_redirects=True)
    assert page.request.path == "/coordinator"


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client, make_user):
    user = make_user(Role.LIAISON)
    response = client.post("/login?next=/account", data={"email": user.email, "password": PASSWORD})
    assert response.location == "/account"
    client.post("/logout")
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(f"/login?next={hostile}", data={"email": user.email, "password": PASSWORD})
        assert response.location == "/dashboard", hostile
        client.post("/logout")


def test_a_wrong_password_gets_one_message_keeps_the_email_and_says_nothing_about_the_account(client, make_user):
    user = make_user(Role.LIAISON)
    wrong = client.post("/login", data={"email": user.email, "password": "wrong password!"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "wrong password!"})
    assert wrong.status_code == unknown.status_code == 422
    message = "That email and password do not match an active account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert f'value="{user.email}"' in wrong.get_data(as_text=True)


def test_empty_login_fields_get_a_message_next_to_each_field(client):
    response = client.post("/login", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html
    assert "Enter your email address." in html
    assert 'id="password-error"' in html
    assert "Enter your password." in html
    assert 'aria-describedby="email-error"' in html


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, make_user):
    user = make_user(Role.LIAISON)
    client = app.test_client()
    login(client, user.email)
    stolen = _session_cookie(client)
    assert client.get("/liaison").status_code == 200
    client.post("/logout")

    thief = app.test_client()
    thief.set_cookie("liaison_session", stolen)
    response = thief.get("/liaison")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_logging_in_gives_a_new_session_id(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True  # the login form's token starts a visitor's session
    user = make_user(Role.LIAISON)
    page = client.get("/login").get_data(as_text=True)
    before = _session_cookie(client)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert client.get("/liaison").status_code == 200
    assert _session_cookie(client) != before


def test_changing_the_password_logs_out_other_devices_but_not_this_one(app, make_user):
    user = make_user(Role.LIAISON)
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user.email)
    login(laptop, user.email)
    response = laptop.post(
        "/account",
        data={"current_password": PASSWORD, "password": "a new long password", "confirm": "a new long password"},
    )
    assert response.status_code == 302
    assert laptop.get("/liaison").status_code == 200
    assert phone.get("/liaison").status_code == 302


def test_changing_the_password_with_a_wrong_current_one_says_so_next_to_that_field(client, login_as):
    login_as("liaison")
    response = client.post(
        "/account",
        data={"current_password": "nope", "password": "a new long password", "confirm": "a new long password"},
    )
    assert response.status_code == 422
    assert re.search(
        r'id="current_password-error"[^>]*>\s*That is not your current password.', response.get_data(as_text=True)
    )


def test_mismatched_new_passwords_are_reported(client, login_as):
    login_as("liaison")
    response = client.post(
        "/account",
        data={"current_password": PASSWORD, "password": "a new long password", "confirm": "different one here"},
    )
    assert response.status_code == 422
    assert "The two passwords are not the same." in response.get_data(as_text=True)


def test_a_deactivated_liaison_is_logged_out_at_once(app, client, make_user, login_as):
    admin = make_user(Role.COORDINATOR, is_admin=True)
    liaison = login_as("liaison")
    assert client.get("/liaison").status_code == 200
    admin_client = app.test_client()
    login(admin_client, admin.email)
    assert admin_client.post(f"/admin/accounts/{liaison.id}/active", data={"active": "0"}).status_code == 302
    assert client.get("/liaison").status_code == 302
    assert login(client, liaison.email).status_code == 422


def test_forgot_password_says_the_same_for_known_and_unknown_emails(client, make_user, outbox):
    user = make_user(Role.LIAISON)
    known = client.post("/password/forgot", data={"email": user.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.data == unknown.data
    assert len(outbox()) == 1


def test_forgot_password_rejects_a_malformed_email_next_to_the_field(client):
    response = client.post("/password/forgot", data={"email": "not an email"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.org." in response.get_data(as_text=True)
    assert 'value="not an email"' in response.get_data(as_text=True)


def test_the_reset_link_from_the_email_sets_a_new_password_once(client, make_user, outbox):
    user = make_user(Role.LIAISON)
    client.post("/password/forgot", data={"email": user.email})
    link = re.search(r"http://localhost(/password/reset/\S+)", outbox()[0].get_content()).group(1)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "brand new password", "confirm": "brand new password"})
    assert response.status_code == 302
    assert client.get("/liaison").status_code == 200
    client.post("/logout")
    assert client.get(link).status_code == 404
    assert login(client, user.email, "brand new password").status_code == 302


def test_an_invitation_link_lets_the_person_choose_a_password_and_logs_them_in(app, client, make_user):
    user = make_user(Role.LIAISON, password=None, full_name="Nia Brooks")
    with app.test_request_context():
        token = make_token(db.session.get(User, user.id), TokenPurpose.INVITATION)
    page = client.get(f"/invitation/{token}")
    assert "Welcome, Nia Brooks" in page.get_data(as_text=True)
    short = client.post(f"/invitation/{token}", data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    done = client.post(f"/invitation/{token}", data={"password": "my chosen password", "confirm": "my chosen password"})
    assert done.status_code == 302
    assert client.get("/liaison").status_code == 200


def test_a_used_or_broken_invitation_link_explains_what_to_do(client):
    response = client.get("/invitation/expired-or-broken")
    assert response.status_code == 404
    assert "Ask your program coordinator to send your invitation again" in response.get_data(as_text=True)


@pytest.mark.parametrize("email_case", ["same@example.org", "SAME@example.org"])
def test_login_is_rate_limited_per_account_with_a_clear_page(app, client, make_user, email_case):
    app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "3 per 5 minutes"
    make_user(Role.LIAISON, email="same@example.org")
    for _ in range(3):
        assert client.post("/login", data={"email": email_case, "password": "wrong guess!"}).status_code == 422
    blocked = client.post("/login", data={"email": "same@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"]


def test_login_is_rate_limited_per_ip_across_accounts(app, client):
    app.config["RATELIMIT_LOGIN_PER_IP"] = "4 per 5 minutes"
    for number in range(4):
        client.post("/login", data={"email": f"guess{number}@example.org", "password": "x"})
    assert client.post("/login", data={"email": "another@example.org", "password": "x"}).status_code == 429


def test_successful_logins_do_not_count_against_the_account_limit(app, client, make_user):
    app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "2 per 5 minutes"
    user = make_user(Role.LIAISON)
    for _ in range(4):
        assert login(client, user.email).status_code == 302
        client.post("/logout")


def test_a_page_reads_the_session_and_who_is_logged_in_with_one_query(client, login_as, count_queries):
    login_as("liaison")
    client.get("/account")  # warm: the first request of a client may set things up
    with count_queries() as queries:
        assert client.get("/account").status_code == 200
    statements = [query.replace('"', "") for query in queries]  # PostgreSQL quotes "user"
    session_reads = [s for s in statements if "FROM web_session" in s]
    assert len(session_reads) == 1
    assert "user.email" in session_reads[0]
    # No second query for the user: Flask-Login finds it in the identity map.
    assert not [s for s in statements if "FROM user" in s and "web_session" not in s]


def test_a_post_reads_its_session_apart_from_its_unit_of_work(app, client, login_as):
    # A POST's session is read on a connection of its own (its transaction would otherwise take
    # SQLite's write lock before the rate limiter counts the request): it still knows who it is.
    me = login_as("liaison")
    response = client.post("/language", data={"language": "es", "next": "/account"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, me.id).preferred_language == "es"
    assert "Mi cuenta" in client.get("/account").get_data(as_text=True)
