"""The `flask liaison ...` commands."""

from __future__ import annotations

from liaison.auth.models import Role, User
from liaison.auth.services import authenticate
from liaison.extensions import db


def _users(app) -> list[tuple[str, Role, bool]]:
    with app.app_context():
        return [(u.email, u.role, u.is_admin) for u in db.session.scalars(db.select(User).order_by(User.email))]


def test_seed_demo_creates_the_demo_accounts_once(app, runner):
    first = runner.invoke(args=["liaison", "seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["liaison", "seed-demo"])
    assert second.exit_code == 0
    assert "Demo program ready." in second.output
    users = _users(app)
    assert ("coordinator@example.org", Role.COORDINATOR, True) in users
    assert ("liaison@example.org", Role.LIAISON, False) in users
    assert len(users) == len(set(users))


def test_demo_accounts_log_in_with_the_documented_password(app, runner):
    runner.invoke(args=["liaison", "seed-demo"])
    with app.test_request_context():
        assert authenticate("coordinator@example.org", "liaison-demo") is not None
        assert authenticate("liaison@example.org", "liaison-demo") is not None


def test_create_user_sends_an_invitation(app, runner, outbox):
    result = runner.invoke(
        args=["liaison", "create-user", "--email", "New@Example.org", "--name", "New Coordinator", "--admin"]
    )
    assert result.exit_code == 0, result.output
    assert "sent an invitation" in result.output
    [message] = outbox()
    assert message["To"] == "new@example.org"
    assert "/invitation/" in message.get_content()
    assert ("new@example.org", Role.COORDINATOR, True) in _users(app)


def test_create_user_with_a_password_asks_for_it_twice(app, runner):
    result = runner.invoke(
        args=["liaison", "create-user", "--email", "p@example.org", "--name", "P", "--role", "liaison", "--password"],
        input="a good long password\na good long password\n",
    )
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert authenticate("p@example.org", "a good long password") is not None


def test_create_user_refuses_a_duplicate_email_with_a_message(runner):
    runner.invoke(args=["liaison", "create-user", "--email", "d@example.org", "--name", "D"])
    result = runner.invoke(args=["liaison", "create-user", "--email", "D@example.org", "--name", "D"])
    assert result.exit_code != 0
    assert "An account with this email already exists." in result.output


def test_deploy_check_lists_every_insecure_setting_of_a_test_setup(app, runner):
    runner.invoke(args=["liaison", "seed-demo"])
    result = runner.invoke(args=["liaison", "deploy-check"])
    assert result.exit_code == 1
    for problem in (
        "TESTING is on",
        "SESSION_COOKIE_SECURE is off",
        "process memory",
        "Demo accounts",
        "CSRF protection is off",
    ):
        assert problem in result.output


def test_deploy_check_passes_a_production_setup(app, runner):
    app.config.update(
        TESTING=False,
        SESSION_COOKIE_SECURE=True,
        WTF_CSRF_ENABLED=True,
        RATELIMIT_STORAGE_URI="database://",
        SECRET_KEY="x" * 64,
    )
    result = runner.invoke(args=["liaison", "deploy-check"])
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.output


def test_deploy_check_refuses_a_weak_secret_key_and_debug(app, runner):
    app.config.update(
        TESTING=False, SESSION_COOKIE_SECURE=True, WTF_CSRF_ENABLED=True, RATELIMIT_STORAGE_URI="database://"
    )
    app.config["SECRET_KEY"] = "short"
    result = runner.invoke(args=["liaison", "deploy-check"])
    assert result.exit_code == 1
    assert "SECRET_KEY is shorter" in result.output
    # The CLI resets app.debug from FLASK_DEBUG, so the debug check is asked directly.
    from liaison.deploy_check import run_deploy_checks

    app.debug = True
    with app.app_context():
        assert any("Debug mode is on" in problem for problem in run_deploy_checks(app))


def test_purge_expired_reports_what_it_removed(runner):
    result = runner.invoke(args=["liaison", "purge-expired"])
    assert result.exit_code == 0
    assert "Removed 0 expired session(s) and 0 rate-limit counter(s)." in result.output
    assert "from 0 closed request(s), 0 row(s) of filed batches and 0 abandoned draft batch(es)." in result.output


def test_the_demo_program_has_applications_in_every_state_cohorts_and_attendance(app, runner):
    from liaison.enrollment import services as enrollment
    from liaison.enrollment.models import ApplicationStatus, Attendance, TrainingSession

    runner.invoke(args=["liaison", "seed-demo"])
    runner.invoke(args=["liaison", "seed-demo"])
    with app.app_context():
        counts = enrollment.application_counts()
        for status in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.APPROVED,
            ApplicationStatus.WAITLISTED,
            ApplicationStatus.DECLINED,
        ):
            assert counts[status] > 0, status
        overview = enrollment.cohorts_overview()
        assert len(overview) == 2
        assert all(members > 0 for _, members in overview)
        assert db.session.query(TrainingSession).count() >= 3
        assert db.session.query(Attendance).filter_by(present=True).count() > 0
        liaison = db.session.scalars(db.select(User).where(User.email == "liaison@example.org")).one()
        assert enrollment.active_membership(liaison.id) is not None


def test_the_demo_certifies_liaison_and_leaves_the_others_in_training(app, runner):
    from liaison.certificates.models import Certificate
    from liaison.certificates.services import current_certificate, filing_gate
    from liaison.training.models import QuizAttempt

    runner.invoke(args=["liaison", "seed-demo"])
    with app.test_request_context():
        certificates = db.session.query(Certificate).count()
        attempts = db.session.query(QuizAttempt).count()
    second = runner.invoke(args=["liaison", "seed-demo"])
    assert second.exit_code == 0, second.output
    with app.test_request_context():
        assert db.session.query(Certificate).count() == certificates
        assert db.session.query(QuizAttempt).count() == attempts
        certified = db.session.scalars(db.select(User).where(User.email == "liaison@example.org")).one()
        assert current_certificate(certified.id) is not None
        assert filing_gate(certified).allowed
        for email in ("thuy.nguyen@example.org", "james.whitaker@example.org"):
            in_training = db.session.scalars(db.select(User).where(User.email == email)).one()
            assert current_certificate(in_training.id) is None, email
            assert not filing_gate(in_training).allowed, email
        assert authenticate("thuy.nguyen@example.org", "liaison-demo") is not None


def test_the_demo_ships_a_bilingual_curriculum_of_required_modules_with_quizzes(app, runner):
    from liaison.training import services as training

    runner.invoke(args=["liaison", "seed-demo"])
    with app.app_context():
        modules = training.published_modules()
        required = [module for module in modules if module.required]
        assert len(required) >= 6
        for module in modules:
            assert module.title.get("en")
            assert module.title.get("es")
            assert module.body.get("en")
            assert module.body.get("es")
            assert module.quiz is not None
            assert len(module.quiz.questions) >= 5
            for question in module.quiz.questions:
                assert question.explanation.get("en")
                assert question.explanation.get("es")


def test_the_demo_liaison_has_a_filed_batch_being_followed_and_a_draft_with_a_row_to_fix(app, runner):
    from liaison.certificates.services import filing_gate
    from liaison.service_requests import demo
    from liaison.service_requests.models import BatchRow, BatchStatus, RequestBatch, RequestState, ServiceRequest

    first = runner.invoke(args=["liaison", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "requests and a draft of 4 rows" in first.output
    runner.invoke(args=["liaison", "seed-demo"])
    with app.test_request_context():
        batches = list(db.session.scalars(db.select(RequestBatch).order_by(RequestBatch.id)))
        assert [(b.title, b.status) for b in batches] == [
            (demo.FILED_TITLE, BatchStatus.SUBMITTED),
            (demo.DRAFT_TITLE, BatchStatus.DRAFT),
        ]
        filed, draft = batches
        liaison = db.session.get(User, filed.liaison_id)
        assert liaison.email == "liaison@example.org"
        assert draft.liaison_id == liaison.id
        assert filing_gate(liaison).allowed
        requests = list(db.session.scalars(db.select(ServiceRequest).where(ServiceRequest.batch_id == filed.id)))
        assert len(requests) == len(demo.FILED_ROWS) == 12
        assert len({r.service_type_id for r in requests}) >= 8
        states = {r.state for r in requests}
        assert {RequestState.FORWARDED, RequestState.IN_PROGRESS, RequestState.CLOSED, RequestState.REJECTED} <= states
        assert RequestState.SUBMITTED in states
        assert any(r.needs_review for r in requests)
        rows = list(db.session.scalars(db.select(BatchRow).where(BatchRow.batch_id == draft.id)))
        assert draft.row_count == len(rows) == 4
        assert [sorted(r.errors or {}) for r in sorted(rows, key=lambda r: r.position)] == [[], ["zipcode"], [], []]
