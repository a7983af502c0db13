"""Account rules, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from liaison.audit import AuditEvent
from liaison.auth import services
from liaison.auth.models import Role, User, WebSession
from liaison.auth.passwords import hash_password, verify_password
from liaison.auth.tokens import TokenPurpose, load_token, make_token
from liaison.errors import ValidationFailed
from liaison.extensions import db
from tests import factories


def test_authenticate_accepts_the_right_password_whatever_the_email_case(app_ctx):
    user = factories.make_liaison(email="Ana@Example.org")
    assert user.email == "ana@example.org"
    assert services.authenticate("  ANA@example.ORG ", factories.PASSWORD) == user


def test_authenticate_refuses_a_wrong_password_an_unknown_email_and_a_deactivated_account(app_ctx):
    user = factories.make_liaison()
    assert services.authenticate(user.email, "not the password") is None
    assert services.authenticate("nobody@example.org", factories.PASSWORD) is None
    user.active = False
    db.session.commit()
    assert services.authenticate(user.email, factories.PASSWORD) is None


def test_authenticate_records_the_login_time(app_ctx):
    user = factories.make_liaison()
    assert user.last_login_at is None
    services.authenticate(user.email, factories.PASSWORD)
    assert user.last_login_at is not None


def test_passwords_are_hashed_with_argon2id_and_the_configured_cost(app_ctx):
    password_hash = hash_password("a long enough password")
    assert password_hash.startswith("$argon2id$")
    # TestingConfig: t=1, m=8 KiB, p=1 (production: t=2, m=19 MiB).
    assert "m=8,t=1,p=1" in password_hash
    assert verify_password(password_hash, "a long enough password")
    assert not verify_password(password_hash, "another password")


def test_a_hash_made_with_older_parameters_is_upgraded_at_login(app, app_ctx):
    user = factories.make_liaison()
    app.config["PASSWORD_HASH_TIME_COST"] = 2
    app.extensions.pop("liaison.password_hasher")
    services.authenticate(user.email, factories.PASSWORD)
    assert "t=2" in user.password_hash


def test_a_short_password_is_refused_with_a_message_for_the_password_field(app_ctx):
    user = factories.make_liaison()
    with pytest.raises(ValidationFailed) as raised:
        services.set_password(user, "short")
    assert raised.value.field == "password"
    assert "12" in str(raised.value.message)


def test_the_email_address_is_refused_as_a_password(app_ctx):
    user = factories.make_liaison(email="someone.long@example.org")
    with pytest.raises(ValidationFailed):
        services.set_password(user, "Someone.Long@example.org")


def test_changing_a_password_needs_the_current_one(app_ctx):
    user = factories.make_liaison()
    with pytest.raises(ValidationFailed) as raised:
        services.change_password(user, "wrong current", "a brand new password")
    assert raised.value.field == "current_password"
    services.change_password(user, factories.PASSWORD, "a brand new password")
    assert verify_password(user.password_hash, "a brand new password")


def test_setting_a_password_ends_every_session_of_that_user(app_ctx):
    user = factories.make_liaison()
    other = factories.make_liaison()
    for owner in (user, user, other):
        db.session.add(
            WebSession(
                id=f"s{len(owner.email)}{owner.id}{db.session.query(WebSession).count()}", user_id=owner.id, data="{}"
            )
        )
    db.session.commit()
    services.set_password(user, "another fine password")
    db.session.commit()
    remaining = db.session.scalars(db.select(WebSession.user_id)).all()
    assert remaining == [other.id]


def test_deactivating_a_user_ends_their_sessions_and_is_audited(app_ctx):
    admin = factories.make_admin()
    user = factories.make_liaison()
    db.session.add(WebSession(id="abc", user_id=user.id, data="{}"))
    db.session.commit()
    services.deactivate_user(admin, user)
    db.session.commit()
    assert not user.active
    assert db.session.get(WebSession, "abc") is None
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "user.deactivated")).one()
    assert event.actor_id == admin.id
    assert event.subject_id == str(user.id)


def test_a_second_account_with_the_same_email_is_refused(app_ctx):
    factories.make_liaison(email="dup@example.org")
    with pytest.raises(ValidationFailed) as raised:
        services.create_user(email="DUP@example.org", full_name="X", role=Role.LIAISON)
    assert raised.value.field == "email"


def test_an_invitation_token_opens_the_account_once(app_ctx):
    user = factories.make_liaison(password=None)
    token = make_token(user, TokenPurpose.INVITATION)
    assert load_token(token, TokenPurpose.INVITATION) == user
    services.set_password(user, "my very own password")
    db.session.commit()
    assert load_token(token, TokenPurpose.INVITATION) is None


def test_an_invitation_token_expires_after_seven_days(app_ctx):
    user = factories.make_liaison(password=None)
    token = make_token(user, TokenPurpose.INVITATION)
    with time_machine.travel(timedelta(days=6, hours=23), tick=False):
        assert load_token(token, TokenPurpose.INVITATION) == user
    with time_machine.travel(timedelta(days=7, minutes=1), tick=False):
        assert load_token(token, TokenPurpose.INVITATION) is None


def test_a_reset_token_is_not_an_invitation_and_expires_after_two_hours(app_ctx):
    user = factories.make_liaison()
    token = make_token(user, TokenPurpose.PASSWORD_RESET)
    assert load_token(token, TokenPurpose.INVITATION) is None
    assert load_token(token, TokenPurpose.PASSWORD_RESET) == user
    with time_machine.travel(timedelta(hours=2, minutes=1), tick=False):
        assert load_token(token, TokenPurpose.PASSWORD_RESET) is None


def test_a_tampered_token_opens_nothing(app_ctx):
    user = factories.make_liaison()
    token = make_token(user, TokenPurpose.PASSWORD_RESET)
    assert load_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), TokenPurpose.PASSWORD_RESET) is None
    assert load_token("garbage", TokenPurpose.PASSWORD_RESET) is None


def test_a_token_for_a_deactivated_account_opens_nothing(app_ctx):
    user = factories.make_liaison()
    token = make_token(user, TokenPurpose.PASSWORD_RESET)
    user.active = False
    db.session.commit()
    assert load_token(token, TokenPurpose.PASSWORD_RESET) is None


def test_password_reset_emails_a_link_in_the_users_language(app_ctx, outbox):
    user = factories.make_liaison(preferred_language="es")
    services.request_password_reset(user.email.upper())
    db.session.commit()
    [message] = outbox()
    assert message["To"] == user.email
    body = message.get_content()
    assert "/password/reset/" in body
    assert message["Subject"] == "Restablezca su contraseña de Programa de Enlaces Comunitarios"


def test_password_reset_for_an_unknown_email_sends_nothing_and_raises_nothing(app_ctx, outbox):
    services.request_password_reset("nobody@example.org")
    db.session.commit()
    assert outbox() == []


def test_mail_is_not_sent_when_the_transaction_rolls_back(app_ctx, outbox):
    user = factories.make_liaison()
    services.request_password_reset(user.email)
    db.session.rollback()
    assert outbox() == []


def test_mail_logs_carry_the_user_id_but_never_the_address(app_ctx, outbox, caplog):
    user = factories.make_liaison(email="private.person@example.org", full_name="Private Person")
    caplog.set_level("INFO")
    services.request_password_reset(user.email)
    db.session.commit()
    assert len(outbox()) == 1
    assert f"user {user.id}" in caplog.text
    assert "private.person" not in caplog.text
    assert "Private Person" not in caplog.text


def test_users_repr_never_shows_personal_data(app_ctx):
    user = factories.make_liaison(email="secret@example.org")
    assert "secret" not in repr(user)
    assert isinstance(db.session.get(User, user.id), User)
