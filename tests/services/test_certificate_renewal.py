"""Certificate renewal: the window, what renews, the new period, and what the liaison sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.certificates import services as certificates
from liaison.certificates.models import Certificate, CertificatePeriod, CertificateStatus, PeriodKind
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.errors import Conflict
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import QuestionKind
from tests import factories

DAYS = timedelta(days=1)


def make_module(actor: User, title: str, *, required: bool = True, **settings) -> training.Module:
    module = training.create_module(
        actor, training.ModuleInput(title={"en": title}, body={"en": "Text"}, required=required)
    )
    quiz = training.save_quiz_settings(actor, module, training.QuizSettings(pass_mark=100, **settings))
    training.add_question(
        actor,
        quiz,
        training.QuestionInput(
            kind=QuestionKind.TRUE_FALSE,
            prompt={"en": "911 is for emergencies."},
            explanation={"en": "Yes."},
            choices=[training.ChoiceInput({"en": "True"}, True), training.ChoiceInput({"en": "False"})],
        ),
    )
    training.set_module_published(actor, module, True)
    db.session.flush()
    return module


def enrolled_liaison(actor: User, email: str = "member@example.org") -> User:
    cohort = enrollment.create_cohort(actor, enrollment.CohortInput(name=f"Cohort {email}", capacity=5))
    application = enrollment.submit_application(
        enrollment.ApplicationInput(full_name="Member", email=email, consent=True)
    )
    membership = enrollment.approve_application(actor, application, cohort.id)
    db.session.flush()
    return db.session.get(User, membership.user_id)


def take_quiz(user: User, module: training.Module, *, right: bool = True) -> training.QuizAttempt:
    """Read the module and submit an attempt at its quiz (right or wrong answers), at the current time."""
    training.mark_read(user, module)
    attempt = training.start_attempt(user, module.quiz, language="en")
    answers = {q["key"]: [c["key"] for c in q["choices"] if c["correct"] is right] for q in attempt.snapshot}
    return training.submit_attempt(user, attempt.id, answers)


@pytest.fixture
def coordinator(app_ctx) -> User:
    return factories.make_coordinator()


@pytest.fixture
def program(coordinator) -> dict[str, training.Module]:
    """A required training module and a (non-required) renewal quiz module."""
    return {
        "basics": make_module(coordinator, "311 basics"),
        "renewal": make_module(coordinator, "Yearly refresher", required=False, is_renewal=True),
    }


@pytest.fixture
def certified(coordinator, program) -> tuple[User, Certificate]:
    liaison = enrolled_liaison(coordinator)
    take_quiz(liaison, program["basics"])
    db.session.commit()
    certificate = certificates.current_certificate(liaison.id)
    assert certificate is not None
    assert certificate.status is CertificateStatus.ACTIVE
    return liaison, certificate


def renewed_events(certificate: Certificate) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "certificate.renewed", AuditEvent.subject_id == str(certificate.id)
            )
        )
    )


def test_the_window_opens_60_days_before_expiry_stays_open_after_it_and_never_when_revoked(certified, coordinator):
    _, certificate = certified
    expiry = certificate.expires_at
    assert not certificates.renewal_window_open(certificate, expiry - 61 * DAYS)
    assert certificates.renewal_window_open(certificate, expiry - 60 * DAYS)
    assert certificates.renewal_window_open(certificate, expiry + 400 * DAYS)
    certificates.revoke_certificate(coordinator, certificate, "Moved away")
    assert not certificates.renewal_window_open(certificate, expiry - 10 * DAYS)
    assert not certificates.renewal_window_open(certificate, expiry + 10 * DAYS)


def test_passing_the_renewal_quiz_early_continues_the_same_certificate_from_its_expiry(
    certified, program, outbox, coordinator
):
    liaison, certificate = certified
    code, old_expiry = certificate.code, certificate.expires_at
    with time_machine.travel(old_expiry - 20 * DAYS, tick=False):
        take_quiz(liaison, program["renewal"])
        db.session.commit()
    db.session.expire_all()
    certificate = certificates.current_certificate(liaison.id)
    assert certificate.code == code
    assert [period.kind for period in certificate.periods] == [PeriodKind.ISSUED, PeriodKind.RENEWED]
    renewed = certificate.periods[-1]
    assert renewed.starts_at == old_expiry
    assert renewed.ends_at == old_expiry + 365 * DAYS == certificate.expires_at
    assert len(renewed_events(certificate)) == 1
    message = outbox()[-1]
    assert "renewed" in message["Subject"]
    body = message.get_content()
    assert code in body
    assert f"/verify/{code}" in body
    assert db.session.scalar(select(db.func.count()).select_from(Certificate)) == 1


def test_renewing_after_expiry_starts_the_new_period_now_and_reopens_the_filing_gate(certified, program):
    liaison, certificate = certified
    later = certificate.expires_at + 30 * DAYS
    with time_machine.travel(later, tick=False):
        gate = certificates.filing_gate(liaison)
        assert not gate.allowed
        assert "expired" in gate.reason
        take_quiz(liaison, program["renewal"])
        db.session.commit()
        db.session.expire_all()
        certificate = certificates.current_certificate(liaison.id)
        assert certificate.periods[-1].starts_at == later
        assert certificate.expires_at == later + 365 * DAYS
        assert certificates.filing_gate(liaison).allowed


def test_passes_from_before_the_window_do_not_renew(certified, program):
    liaison, certificate = certified
    expiry = certificate.expires_at
    with time_machine.travel(expiry - 90 * DAYS, tick=False):
        take_quiz(liaison, program["renewal"])  # too early: the window is not open yet
        db.session.commit()
    assert len(db.session.get(Certificate, certificate.id).periods) == 1
    inside = expiry - 30 * DAYS
    needs = certificates.renewal_requirements(liaison, certificate, inside)
    assert needs.window_open
    assert needs.renewal_quiz
    assert [module.id for module in needs.missing] == [program["renewal"].id]
    assert certificates.renew_if_eligible(liaison, inside) is None
    # Neither the original training nor the early pass counts; a failed attempt in the window neither.
    with time_machine.travel(inside, tick=False):
        take_quiz(liaison, program["renewal"], right=False)
        db.session.commit()
    assert db.session.get(Certificate, certificate.id).expires_at == expiry
    assert renewed_events(certificate) == []


def test_without_a_renewal_quiz_every_required_quiz_must_be_passed_again(coordinator):
    first = make_module(coordinator, "311 basics")
    second = make_module(coordinator, "Privacy")
    make_module(coordinator, "Optional extra", required=False)
    liaison = enrolled_liaison(coordinator)
    take_quiz(liaison, first)
    take_quiz(liaison, second)
    db.session.commit()
    certificate = certificates.current_certificate(liaison.id)
    expiry = certificate.expires_at
    with time_machine.travel(expiry - 10 * DAYS, tick=False):
        needs = certificates.renewal_requirements(liaison, certificate)
        assert not needs.renewal_quiz
        assert [module.id for module in needs.missing] == [first.id, second.id]
        take_quiz(liaison, first)
        db.session.commit()
        assert db.session.get(Certificate, certificate.id).expires_at == expiry
        assert [m.id for m in certificates.renewal_requirements(liaison, certificate).missing] == [second.id]
        take_quiz(liaison, second)
        db.session.commit()
    assert db.session.get(Certificate, certificate.id).expires_at == expiry + 365 * DAYS


def test_a_revoked_or_pending_certificate_is_not_renewed(certified, program, coordinator):
    liaison, certificate = certified
    certificates.revoke_certificate(coordinator, certificate, "Moved away")
    db.session.commit()
    with time_machine.travel(certificate.expires_at - 10 * DAYS, tick=False):
        take_quiz(liaison, program["renewal"])
        db.session.commit()
        assert certificates.renew_if_eligible(liaison) is None
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.status is CertificateStatus.REVOKED
    assert len(certificate.periods) == 1


def test_a_liaison_with_attempts_left_renews_and_one_without_needs_a_coordinator(coordinator):
    basics = make_module(coordinator, "311 basics")
    renewal = make_module(coordinator, "Yearly refresher", required=False, is_renewal=True, attempts_allowed=2)
    liaison = enrolled_liaison(coordinator)
    other = enrolled_liaison(coordinator, "other@example.org")
    for user in (liaison, other):
        take_quiz(user, basics)
        take_quiz(user, renewal)  # one attempt used in the original training
    take_quiz(other, renewal)  # and the other liaison used both
    db.session.commit()
    expiry = certificates.current_certificate(liaison.id).expires_at
    with time_machine.travel(expiry - 5 * DAYS, tick=False):
        take_quiz(liaison, renewal)
        db.session.commit()
        assert certificates.current_certificate(liaison.id).expires_at == expiry + 365 * DAYS
        with pytest.raises(Conflict):
            take_quiz(other, renewal)
        db.session.rollback()
        training.unlock_quiz(coordinator, db.session.get(User, other.id), renewal.quiz)
        take_quiz(db.session.get(User, other.id), renewal)
        db.session.commit()
        assert certificates.current_certificate(other.id).expires_at > expiry + 300 * DAYS


def test_a_certificate_valid_for_less_than_the_window_is_not_renewed_twice_by_one_pass(app, program, coordinator):
    app.config["CERTIFICATE_VALID_DAYS"] = 30
    try:
        liaison = enrolled_liaison(coordinator)
        take_quiz(liaison, program["basics"])
        db.session.commit()
        certificate = certificates.current_certificate(liaison.id)
        # The pass that issued the certificate does not renew it, though the window is already open.
        assert certificates.renewal_window_open(certificate)
        assert len(certificate.periods) == 1
        with time_machine.travel(certificate.expires_at + DAYS, tick=False):
            take_quiz(liaison, program["renewal"])
            db.session.commit()
            assert certificates.renew_if_eligible(liaison) is None
        assert len(db.session.get(Certificate, certificate.id).periods) == 2
    finally:
        app.config["CERTIFICATE_VALID_DAYS"] = 365


def test_the_dashboard_says_which_quiz_renews_the_certificate(app, client, login_as):
    liaison = login_as("liaison")
    now = utcnow()
    with app.test_request_context():
        coordinator = factories.make_coordinator()
        basics_id = make_module(coordinator, "311 basics").id
        renewal_id = make_module(coordinator, "Yearly refresher", required=False, is_renewal=True).id
        certificate = Certificate(
            user_id=liaison.id, code=certificates.new_code(), status=CertificateStatus.ACTIVE, issued_at=now
        )
        certificate.expires_at = now + 200 * DAYS
        certificate.periods.append(CertificatePeriod(kind=PeriodKind.ISSUED, starts_at=now, ends_at=now + 200 * DAYS))
        db.session.add(certificate)
        db.session.commit()
        certificate_id = certificate.id
    page = client.get("/liaison")
    assert page.status_code == 200
    assert b"Renew your certificate" not in page.data

    with app.test_request_context():
        db.session.get(Certificate, certificate_id).expires_at = now + 30 * DAYS
        db.session.commit()
    text = client.get("/liaison").get_data(as_text=True)
    assert "Renew your certificate" in text
    box = text.split('id="certificate-renewal"')[1].split("</div>")[0]
    assert f'href="/training/modules/{renewal_id}"' in box
    assert f'action="/training/modules/{renewal_id}/quiz/start"' in box
    assert f"/training/modules/{basics_id}" not in box

    # The "Take the quiz" button posts straight to start_quiz (the module page offers no retake once passed).
    started = client.post(f"/training/modules/{renewal_id}/quiz/start")
    assert started.status_code == 302
    assert "/training/attempts/" in started.headers["Location"]
