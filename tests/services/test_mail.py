"""Mail goes out after the commit: into the outbox folder, or over one SMTP connection per commit."""

from __future__ import annotations

import smtplib
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from liaison.extensions import db
from liaison.mail import queue_mail


class FakeSMTP:
    """Stands in for smtplib.SMTP: records connections and messages; refuses `refused`."""

    connections: list[FakeSMTP] = []
    refused: set[str] = set()

    def __init__(self, host: str, port: int, **kwargs: Any) -> None:
        self.host, self.port, self.sent, self.logged_in = host, port, [], None
        FakeSMTP.connections.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def starttls(self, context: Any = None) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        self.logged_in = user

    def send_message(self, message: Any) -> None:
        if message["To"] in FakeSMTP.refused:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        self.sent.append(message)


@pytest.fixture
def smtp(app, monkeypatch):
    FakeSMTP.connections, FakeSMTP.refused = [], set()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.org", MAIL_PORT=587, MAIL_USE_TLS=True, MAIL_USERNAME="liaison")
    return FakeSMTP


def queue(address: str) -> None:
    queue_mail(
        address=address,
        template="application_declined",
        subject="Your application",
        locale="en",
        application=SimpleNamespace(full_name="Dana Example"),
    )


def test_the_messages_of_one_commit_share_one_smtp_connection(app, smtp):
    with app.test_request_context():
        for number in range(3):
            queue(f"liaison{number}@example.org")
        assert smtp.connections == []  # nothing leaves before the commit
        db.session.commit()
    [connection] = smtp.connections
    assert [message["To"] for message in connection.sent] == [f"liaison{n}@example.org" for n in range(3)]
    assert connection.logged_in == "liaison"


def test_a_refused_recipient_is_logged_and_the_others_still_get_theirs(app, smtp, caplog):
    smtp.refused = {"gone@example.org"}
    with app.test_request_context():
        for address in ("first@example.org", "gone@example.org", "last@example.org"):
            queue(address)
        db.session.commit()
    assert [message["To"] for message in smtp.connections[0].sent] == ["first@example.org", "last@example.org"]
    assert "mail delivery failed" in caplog.text
    assert "gone@example.org" not in caplog.text  # logs name the user id, never the address


def test_a_rolled_back_change_sends_nothing(app, smtp):
    with app.test_request_context():
        db.session.execute(text("SELECT 1"))  # the change that is then rolled back
        queue("never@example.org")
        db.session.rollback()
        db.session.commit()
    assert smtp.connections == []


def test_without_a_mail_server_each_message_lands_in_the_outbox(app, outbox):
    with app.test_request_context():
        queue("a@example.org")
        queue("b@example.org")
        db.session.commit()
    assert [message["To"] for message in outbox()] == ["a@example.org", "b@example.org"]
