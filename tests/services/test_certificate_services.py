"""Certificate rules without HTTP: codes, eligibility, issue once, approval, revocation, filing gate."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from liaison.auth.models import User
from liaison.certificates import services as certificates
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.enrollment import sessions as training_sessions
from liaison.enrollment.models import SessionKind
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import QuestionKind
from tests import factories


def make_required_module(actor: User) -> training.Module:
    module = training.create_module(actor, training.ModuleInput(title={"en": "311 basics"}, body={"en": "Text"}))
    quiz = training.save_quiz_settings(actor, module, training.QuizSettings(pass_mark=100))
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


def enrolled_liaison(actor: User, *, min_sessions: int = 0, email: str = "member@example.org") -> tuple[User, int]:
    cohort = enrollment.create_cohort(
        actor, enrollment.CohortInput(name=f"Cohort {email}", capacity=5, min_sessions_required=min_sessions)
    )
    application = enrollment.submit_application(
        enrollment.ApplicationInput(full_name="Member", email=email, consent=True)
    )
    membership = enrollment.approve_application(actor, application, cohort.id)
    db.session.flush()
    return db.session.get(User, membership.user_id), cohort.id


def complete(user: User, module: training.Module) -> None:
    training.mark_read(user, module)
    attempt = training.start_attempt(user, module.quiz, language="en")
    answers = {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}
    training.submit_attempt(user, attempt.id, answers)


@pytest.fixture
def coordinator(app_ctx) -> User:
    return factories.make_coordinator()


def test_codes_are_human_typable_and_carry_60_random_bits(app_ctx):
    codes = {certificates.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        prefix, *groups = code.split("-")
        assert prefix == "LNP"
        assert [len(group) for group in groups] == [4, 4, 4]
        assert set("".join(groups)) <= set(certificates.CROCKFORD)


def test_a_loosely_typed_code_is_understood(app_ctx):
    assert certificates.normalise_code(" lnp 7k3d-q9xa-m2rt ") == "LNP-7K3D-Q9XA-M2RT"
    assert certificates.normalise_code("LNP-7K3D-Q9XA-M2RO") == "LNP-7K3D-Q9XA-M2R0"
    assert certificates.normalise_code("too short") == ""


def test_passing_the_last_required_quiz_issues_the_certificate_and_emails_it(app_ctx, coordinator, outbox):
    module = make_required_module(coordinator)
    liaison, cohort_id = enrolled_liaison(coordinator)
    assert certificates.current_certificate(liaison.id) is None
    complete(liaison, module)
    db.session.commit()
    certificate = certificates.current_certificate(liaison.id)
    assert certificate is not None
    assert certificate.status is CertificateStatus.ACTIVE
    assert certificate.cohort_id == cohort_id
    assert certificate.expires_at - certificate.issued_at == timedelta(days=365)
    assert [period.kind.value for period in certificate.periods] == ["issued"]
    assert any(certificate.code in message.get_content() for message in outbox())


def test_attendance_below_the_cohort_minimum_holds_the_certificate_back(app_ctx, coordinator):
    module = make_required_module(coordinator)
    liaison, cohort_id = enrolled_liaison(coordinator, min_sessions=1)
    complete(liaison, module)
    eligibility = certificates.check_eligibility(liaison)
    assert not eligibility.eligible
    assert any("session" in reason for reason in eligibility.missing)
    assert certificates.current_certificate(liaison.id) is None
    start = utcnow() - timedelta(days=1)
    session = training_sessions.schedule_session(
        coordinator,
        enrollment.get_cohort(cohort_id),
        training_sessions.SessionInput(
            title="Intro",
            kind=SessionKind.IN_PERSON,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            location="Library",
        ),
    )
    training_sessions.set_attendance(coordinator, session, liaison.id, True)
    db.session.commit()
    assert certificates.current_certificate(liaison.id) is not None


def test_nobody_outside_a_cohort_or_with_training_left_is_eligible(app_ctx, coordinator):
    make_required_module(coordinator)
    outsider = factories.make_liaison()
    assert not certificates.check_eligibility(outsider).eligible
    liaison, _ = enrolled_liaison(coordinator)
    assert certificates.check_eligibility(liaison).missing == ["Complete 311 basics."]


def test_concurrent_triggers_issue_exactly_one_certificate(app):
    with app.test_request_context():
        coordinator = factories.make_coordinator()
        module = make_required_module(coordinator)
        liaison, _ = enrolled_liaison(coordinator)
        training.mark_read(liaison, module)
        attempt = training.start_attempt(liaison, module.quiz, language="en")
        answers = {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}
        # Record the pass without the trigger, then fire the trigger from several threads at once.
        attempt.answers, attempt.score, attempt.passed = answers, 100, True
        attempt.status = training.AttemptStatus.SUBMITTED
        db.session.commit()
        liaison_id = liaison.id
    barrier = threading.Barrier(6, timeout=30)
    codes: list[str] = []

    def trigger() -> None:
        with app.test_request_context(method="POST"):
            barrier.wait()
            certificate = certificates.issue_if_eligible(db.session.get(User, liaison_id))
            db.session.commit()
            codes.append(certificate.code if certificate else "")

    threads = [threading.Thread(target=trigger) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(codes) == 6
    assert len(set(codes)) == 1
    with app.app_context():
        assert db.session.query(Certificate).count() == 1


def test_a_program_that_approves_by_hand_queues_the_certificate(app, coordinator):
    app.config["CERTIFICATE_APPROVAL"] = "manual"
    module = make_required_module(coordinator)
    liaison, _ = enrolled_liaison(coordinator)
    complete(liaison, module)
    certificate = certificates.current_certificate(liaison.id)
    assert certificate.status is CertificateStatus.PENDING
    assert certificates.certificate_state(certificate) is certificates.CertificateState.PENDING
    assert not certificates.filing_gate(liaison).allowed
    with pytest.raises(NotFound):
        certificates.find_by_code(certificate.code)
    certificates.approve_certificate(coordinator, certificate)
    assert certificate.status is CertificateStatus.ACTIVE
    assert certificates.filing_gate(liaison).allowed
    with pytest.raises(Conflict):
        certificates.approve_certificate(coordinator, certificate)


def test_states_follow_the_calendar_and_revocation(app_ctx, coordinator):
    module = make_required_module(coordinator)
    liaison, _ = enrolled_liaison(coordinator)
    complete(liaison, module)
    certificate = certificates.current_certificate(liaison.id)
    now = certificate.issued_at
    state = certificates.certificate_state
    assert state(certificate, now) is certificates.CertificateState.VALID
    assert state(certificate, now + timedelta(days=340)) is certificates.CertificateState.EXPIRING_SOON
    assert state(certificate, now + timedelta(days=366)) is certificates.CertificateState.EXPIRED
    with pytest.raises(ValidationFailed):
        certificates.revoke_certificate(coordinator, certificate, " ")
    certificates.revoke_certificate(coordinator, certificate, "Misused the program's name")
    assert state(certificate, now) is certificates.CertificateState.REVOKED
    assert certificates.find_by_code(certificate.code.lower()) == certificate


def test_the_filing_gate_says_why_not(app_ctx, coordinator):
    module = make_required_module(coordinator)
    liaison, _ = enrolled_liaison(coordinator)
    decision = certificates.filing_gate(liaison)
    assert not decision.allowed
    assert "not certified" in decision.reason
    complete(liaison, module)
    assert certificates.filing_gate(liaison).allowed
    certificate = certificates.current_certificate(liaison.id)
    assert "expired" in certificates.filing_gate(liaison, certificate.expires_at + timedelta(seconds=1)).reason
    certificates.revoke_certificate(coordinator, certificate, "Reason")
    assert "revoked" in certificates.filing_gate(liaison).reason
    membership = enrollment.active_membership(liaison.id)
    enrollment.withdraw_member(coordinator, membership, "Moved away")
    assert "not in an active cohort" in certificates.filing_gate(liaison).reason
    assert not certificates.filing_gate(coordinator).allowed
