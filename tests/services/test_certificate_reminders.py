"""Renewal reminders go out 60, 30 and 7 days before expiry, once each, and never late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from liaison.certificates.models import Certificate, CertificateReminder, CertificateStatus
from liaison.certificates.reminders import send_reminders
from liaison.certificates.services import new_code, revoke_certificate
from liaison.extensions import db
from tests import factories

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _certificate(user, *, expires_in: timedelta, status=CertificateStatus.ACTIVE) -> Certificate:
    certificate = Certificate(
        user_id=user.id,
        code=new_code(),
        status=status,
        issued_at=START + expires_in - timedelta(days=365),
        expires_at=START + expires_in,
    )
    db.session.add(certificate)
    db.session.commit()
    return certificate


def _run(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        sent = send_reminders()
        db.session.commit()
    return sent


def _subjects_to(outbox, address: str) -> list[str]:
    return [message["Subject"] for message in outbox() if message["To"] == address]


def test_each_threshold_is_sent_once_as_expiry_approaches(app_ctx, outbox):
    liaison = factories.make_liaison(preferred_language="en")
    certificate = _certificate(liaison, expires_in=timedelta(days=100))
    counts = [_run(START + timedelta(days=day)) for day in range(0, 101)]
    # Day 40 → 60 days left, day 70 → 30 left, day 93 → 7 left; nothing else on any other day.
    assert [day for day, count in enumerate(counts) if count] == [40, 70, 93]
    assert sum(counts) == 3
    assert len(_subjects_to(outbox, liaison.email)) == 3
    days = db.session.scalars(
        select(CertificateReminder.days_before).where(CertificateReminder.certificate_id == certificate.id)
    )
    assert sorted(days) == [7, 30, 60]


def test_running_twice_sends_nothing_more(app_ctx, outbox):
    liaison = factories.make_liaison()
    _certificate(liaison, expires_in=timedelta(days=25))
    assert _run(START) == 1
    assert _run(START) == 0
    assert _run(START + timedelta(hours=1)) == 0
    assert len(_subjects_to(outbox, liaison.email)) == 1


def test_a_late_first_run_sends_only_the_most_urgent_reminder(app_ctx, outbox):
    liaison = factories.make_liaison()
    certificate = _certificate(liaison, expires_in=timedelta(days=5))
    assert _run(START) == 1
    [message] = outbox()
    assert "5 days" in message.get_content()
    assert "January 15, 2026" in message.get_content()
    assert "renewal quiz" in message.get_content()
    # The 60- and 30-day ones are recorded so they never go out late.
    assert _run(START + timedelta(days=1)) == 0
    days = db.session.scalars(
        select(CertificateReminder.days_before).where(CertificateReminder.certificate_id == certificate.id)
    )
    assert sorted(days) == [7, 30, 60]


def test_the_reminder_is_in_the_liaisons_language(app_ctx, outbox):
    liaison = factories.make_liaison(preferred_language="es")
    _certificate(liaison, expires_in=timedelta(days=6))
    english = factories.make_liaison(preferred_language="en")
    _certificate(english, expires_in=timedelta(days=6))
    assert _run(START) == 2
    bodies = {message["To"]: message.get_content() for message in outbox()}
    assert bodies[english.email] != bodies[liaison.email]
    assert "enero" in bodies[liaison.email]


def test_revoked_expired_and_pending_certificates_get_no_reminder(app_ctx, outbox):
    coordinator = factories.make_coordinator()
    revoked = _certificate(factories.make_liaison(), expires_in=timedelta(days=20))
    revoke_certificate(coordinator, revoked, "Left the program")
    db.session.commit()
    _certificate(factories.make_liaison(), expires_in=-timedelta(days=2))
    pending = Certificate(user_id=factories.make_liaison().id, code=new_code(), status=CertificateStatus.PENDING)
    db.session.add(pending)
    db.session.commit()
    assert _run(START) == 0
    assert outbox() == []


def test_a_renewed_period_gets_its_own_reminders(app_ctx, outbox):
    liaison = factories.make_liaison()
    certificate = _certificate(liaison, expires_in=timedelta(days=6))
    assert _run(START) == 1
    certificate.expires_at = certificate.expires_at + timedelta(days=365)
    db.session.commit()
    assert _run(START + timedelta(days=365)) == 1


def test_the_cli_prints_how_many_it_sent(app, runner, outbox):
    with app.test_request_context():
        liaison = factories.make_liaison()
        _certificate(liaison, expires_in=timedelta(days=29))
    with time_machine.travel(START, tick=False):
        first = runner.invoke(args=["liaison", "send-reminders"])
        second = runner.invoke(args=["liaison", "send-reminders"])
    assert first.exit_code == 0, first.output
    assert "Sent 1 certificate reminder(s)." in first.output
    assert "Sent 0 certificate reminder(s)." in second.output
    assert len(outbox()) == 1
