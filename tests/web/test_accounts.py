"""Admin coordinators manage accounts: list, search, invite, deactivate."""

from __future__ import annotations

import re

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.extensions import db


def test_the_accounts_list_shows_people_with_their_status(client, login_as, make_user):
    login_as("admin")
    make_user(Role.LIAISON, full_name="Invited Person", password=None)
    make_user(Role.LIAISON, full_name="Gone Person", active=False)
    html = client.get("/admin/accounts/").get_data(as_text=True)
    assert "Invited Person" in html
    assert "Invited" in html
    assert "Gone Person" in html
    assert "Deactivated" in html
    assert "Resend invitation" in html


def test_search_and_filters_narrow_the_list(client, login_as, make_user):
    login_as("admin")
    make_user(Role.LIAISON, full_name="Alma Torres")
    make_user(Role.COORDINATOR, full_name="Bruno Diaz")
    html = client.get("/admin/accounts/?q=alma").get_data(as_text=True)
    assert "Alma Torres" in html
    assert "Bruno Diaz" not in html
    html = client.get("/admin/accounts/?role=coordinator").get_data(as_text=True)
    assert "Bruno Diaz" in html
    assert "Alma Torres" not in html
    assert 'value="alma"' in client.get("/admin/accounts/?q=alma").get_data(as_text=True)


def test_htmx_search_gets_only_the_results_fragment(client, login_as):
    login_as("admin")
    response = client.get("/admin/accounts/?q=x", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="account-results">')
    assert "<html" not in html


def test_the_accounts_list_paginates_with_a_fixed_number_of_queries(app, client, login_as, count_queries):
    login_as("admin")
    with app.test_request_context():
        db.session.add_all(
            User(email=f"bulk{n}@example.org", full_name=f"Bulk {n}", role=Role.LIAISON, active=True)
            for n in range(120)
        )
        db.session.commit()
    client.get("/admin/accounts/")  # the first page view after login also saves the session
    with count_queries() as small_page:
        first = client.get("/admin/accounts/")
    with count_queries() as last_page:
        third = client.get("/admin/accounts/?page=3")
    assert first.status_code == third.status_code == 200
    assert "Page 3" in first.get_data(as_text=True)
    assert len(first.get_data(as_text=True).split('<tr id="account-')) - 1 == 50
    assert len(small_page) == len(last_page) <= 6


def test_inviting_a_person_creates_the_account_and_emails_a_link(client, login_as, outbox, app):
    admin = login_as("admin")
    response = client.post(
        "/admin/accounts/invite",
        data={"full_name": "Rosa Park", "email": "Rosa@Example.org", "role": "liaison", "preferred_language": "es"},
    )
    assert response.status_code == 302
    [message] = outbox()
    assert message["To"] == "rosa@example.org"
    assert re.search(r"/invitation/\S+", message.get_content())
    with app.app_context():
        user = db.session.scalars(db.select(User).where(User.email == "rosa@example.org")).one()
        assert user.password_hash is None
        assert user.preferred_language == "es"
        actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.actor_id == admin.id)))
    assert {"user.created", "user.invitation_sent"} <= actions


def test_inviting_an_existing_email_says_so_next_to_the_email_and_keeps_the_form(client, login_as, make_user, outbox):
    login_as("admin")
    make_user(Role.LIAISON, email="taken@example.org")
    response = client.post(
        "/admin/accounts/invite",
        data={"full_name": "Someone New", "email": "taken@example.org", "role": "liaison", "preferred_language": "en"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="email-error"[^>]*>\s*An account with this email already exists.', html)
    assert 'value="Someone New"' in html
    assert outbox() == []


def test_an_invalid_role_is_refused(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/accounts/invite",
        data={"full_name": "X", "email": "x@example.org", "role": "superuser", "preferred_language": "en"},
    )
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_deactivating_from_the_list_with_htmx_swaps_just_the_row(client, login_as, make_user):
    login_as("admin")
    target = make_user(Role.LIAISON, full_name="Row Person")
    response = client.post(f"/admin/accounts/{target.id}/active", data={"active": "0"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="account-{target.id}">')
    assert "Deactivated" in html
    assert "Reactivate" in html
    again = client.post(f"/admin/accounts/{target.id}/active", data={"active": "1"}, headers={"HX-Request": "true"})
    assert "Deactivate" in again.get_data(as_text=True)


def test_an_admin_cannot_deactivate_themselves(client, login_as):
    admin = login_as("admin")
    response = client.post(f"/admin/accounts/{admin.id}/active", data={"active": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert client.get("/coordinator").status_code == 200


def test_managing_an_unknown_account_is_a_404(client, login_as):
    login_as("admin")
    assert client.post("/admin/accounts/99999/active", data={"active": "0"}).status_code == 404
    assert client.post("/admin/accounts/99999/invitation").status_code == 404


def test_resending_an_invitation_emails_a_new_link(client, login_as, make_user, outbox):
    login_as("admin")
    invited = make_user(Role.LIAISON, password=None)
    response = client.post(f"/admin/accounts/{invited.id}/invitation", follow_redirects=True)
    assert "Invitation sent again" in response.get_data(as_text=True)
    assert len(outbox()) == 1


def test_the_coordinator_dashboard_counts_people_and_shows_recent_activity(client, login_as, make_user):
    login_as("coordinator")
    make_user(Role.LIAISON, password=None)
    html = client.get("/coordinator").get_data(as_text=True)
    assert "invited, password not yet set" in html
    assert "Account created" in html
