"""Renewal reminders: 60, 30 and 7 days before a certificate expires, each once per period."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from liaison.certificates.models import Certificate, CertificateReminder, CertificateStatus
from liaison.db_types import utcnow
from liaison.extensions import db
from liaison.mail import queue_mail
from liaison.templating import program_name

logger = logging.getLogger(__name__)

# Most urgent last.
REMINDER_DAYS = (60, 30, 7)


def _record(certificate: Certificate, days_before: int, now: datetime) -> bool:
    """Insert the reminder row first; False when it already exists (sent earlier or concurrently)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                CertificateReminder(
                    certificate_id=certificate.id,
                    period_ends_at=certificate.expires_at,
                    days_before=days_before,
                    sent_at=now,
                )
            )
            db.session.flush()
    except IntegrityError:
        return False
    return True


def send_reminders(now: datetime | None = None) -> int:
    """Email each due reminder once; returns how many were sent. Idempotent: safe to run hourly.

    Only the most urgent due reminder goes out: a certificate 5 days from expiry that never got
    its 60- and 30-day reminders gets the 7-day one, and the other two are recorded (without
    sending) so they never arrive late. Mail leaves when the caller commits.
    """
    now = now or utcnow()
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    certificates = list(
        db.session.scalars(
            select(Certificate)
            .where(
                Certificate.status == CertificateStatus.ACTIVE,
                Certificate.expires_at > now,
                Certificate.expires_at <= horizon,
            )
            .options(joinedload(Certificate.user))
            .order_by(Certificate.id)
        )
    )
    if not certificates:
        return 0
    recorded = {
        (certificate_id, period_ends_at, days_before)
        for certificate_id, period_ends_at, days_before in db.session.execute(
            select(
                CertificateReminder.certificate_id, CertificateReminder.period_ends_at, CertificateReminder.days_before
            ).where(CertificateReminder.certificate_id.in_([certificate.id for certificate in certificates]))
        )
    }
    sent = 0
    for certificate in certificates:
        left = certificate.expires_at - now
        due = [days for days in REMINDER_DAYS if left <= timedelta(days=days)]
        if not due:
            continue
        urgent = min(due)
        if (certificate.id, certificate.expires_at, urgent) in recorded:
            continue
        if not _record(certificate, urgent, now):
            continue
        # The less urgent ones that were never sent are recorded too, so they never go out late.
        for days in due:
            if days != urgent and (certificate.id, certificate.expires_at, days) not in recorded:
                _record(certificate, days, now)
        user = certificate.user
        if not user.active:
            continue
        queue_mail(
            address=user.email,
            recipient_id=user.id,
            template="certificate_reminder",
            subject=_l("Your certificate expires soon: %(program)s", program=program_name()),
            locale=user.preferred_language,
            certificate=certificate,
            days_left=max(1, left.days),
        )
        sent += 1
        logger.info("certificate %s: %s-day reminder queued", certificate.id, urgent)
    return sent
