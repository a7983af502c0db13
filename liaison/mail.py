"""Mail: rendered in the recipient's language, sent only after the transaction commits.

Services call `queue_mail()`; the messages wait in the SQLAlchemy session and go out from its
`after_commit` hook, so a rolled-back change never sends an email. With `MAIL_SERVER` set they
go over SMTP; otherwise each is written to `MAIL_OUTBOX_DIR` as an .eml file. Logs carry the
subject and the recipient's user id, never an address or the body.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from liaison.db_types import utcnow
from liaison.extensions import db

logger = logging.getLogger(__name__)
OUTBOX_KEY = "liaison.outbox"


@dataclass(frozen=True)
class OutgoingMail:
    """A rendered message waiting for the commit."""

    recipient_id: int | None
    address: str
    subject: str
    body: str


def queue_mail(
    *,
    address: str,
    template: str,
    subject: Any,
    locale: str | None,
    recipient_id: int | None = None,
    **context: Any,
) -> OutgoingMail:
    """Render `mail/<template>.txt` in `locale` and send it when the current transaction commits."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = OutgoingMail(
            recipient_id=recipient_id,
            address=address,
            subject=str(subject),
            body=render_template(f"mail/{template}.txt", **context),
        )
    db.session().info.setdefault(OUTBOX_KEY, []).append(message)
    return message


def deliver_all(messages: Sequence[OutgoingMail]) -> None:
    """Send messages now: over one SMTP connection (a cohort's 500 certificates are one
    connection, not 500), or into the outbox folder. A message that fails is logged and the
    others still go: the change they announce is committed, a failed email must not undo it."""
    if not messages:
        return
    if not current_app.config["MAIL_SERVER"]:
        for message in messages:
            _guarded(_write_to_outbox, message)
        return
    try:
        with _smtp_connection() as smtp:
            for message in messages:
                _guarded(lambda message: smtp.send_message(_compose(message)), message)
    except Exception as error:  # noqa: BLE001 - connecting or logging in failed: logged, never a 500
        logger.error(
            "mail server unavailable (%s: %s): %d messages not sent", type(error).__name__, error, len(messages)
        )


def _guarded(send: Callable[[OutgoingMail], Any], message: OutgoingMail) -> None:
    try:
        send(message)
    except Exception as error:  # noqa: BLE001 - logged; the other messages still go
        # The error's name only: SMTP errors quote the recipient's address, which logs never carry.
        logger.error(
            "mail delivery failed (%s): %r to user %s", type(error).__name__, message.subject, message.recipient_id
        )
    else:
        logger.info("mail sent: %r to user %s", message.subject, message.recipient_id)


def _compose(message: OutgoingMail) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="liaison.local")
    email.set_content(message.body)
    return email


def _write_to_outbox(message: OutgoingMail) -> None:
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    # Time-ordered names, so the newest message sorts last.
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(_compose(message)))


@contextmanager
def _smtp_connection() -> Iterator[smtplib.SMTP]:
    config = current_app.config
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    kwargs: dict[str, Any] = {"timeout": 20}
    if config["MAIL_USE_SSL"]:
        kwargs["context"] = context
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], **kwargs) as smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        yield smtp


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    deliver_all(session.info.pop(OUTBOX_KEY, []))


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX_KEY, None)
