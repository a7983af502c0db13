"""The permission matrix: every route × every kind of visitor has a declared expected status.

A route added without a line here (or in a `tests/web/matrix_<feature>.py` module's MATRIX)
fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import timedelta

import pytest

import tests.web
from liaison.auth.models import Role
from liaison.certificates.models import Certificate, CertificateStatus
from liaison.certificates.services import new_code
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.enrollment import sessions as training_sessions
from liaison.enrollment.models import GroupType, SessionKind
from liaison.extensions import db
from liaison.service_requests.models import AttributeDatatype, Neighborhood
from liaison.training import services as training
from liaison.training.models import QuestionKind
from tests import factories

ROLES = ["anonymous", "liaison", "coordinator", "admin", "deactivated"]

# Statuses: 200 page, 302 redirect (to login for anonymous / deactivated, or onward),
# 403 wrong role, 404 bad token. POST rows are sent with an empty form.
LOGIN = 302
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("main.index", "GET"): dict.fromkeys(ROLES, 200),
    ("main.healthz", "GET"): dict.fromkeys(ROLES, 200),
    ("main.dashboard", "GET"): {
        "anonymous": LOGIN,
        "liaison": 302,
        "coordinator": 302,
        "admin": 302,
        "deactivated": LOGIN,
    },
    ("main.coordinator_dashboard", "GET"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 200,
        "admin": 200,
        "deactivated": LOGIN,
    },
    ("main.liaison_dashboard", "GET"): {
        "anonymous": LOGIN,
        "liaison": 200,
        "coordinator": 403,
        "admin": 403,
        "deactivated": LOGIN,
    },
    ("main.set_language", "POST"): dict.fromkeys(ROLES, 302),
    ("auth.login", "GET"): {"anonymous": 200, "liaison": 302, "coordinator": 302, "admin": 302, "deactivated": 200},
    ("auth.login", "POST"): {"anonymous": 422, "liaison": 302, "coordinator": 302, "admin": 302, "deactivated": 422},
    ("auth.logout", "POST"): {
        "anonymous": LOGIN,
        "liaison": 302,
        "coordinator": 302,
        "admin": 302,
        "deactivated": LOGIN,
    },
    ("auth.forgot_password", "GET"): dict.fromkeys(ROLES, 200),
    ("auth.forgot_password", "POST"): dict.fromkeys(ROLES, 422),
    ("auth.accept_invitation", "GET"): dict.fromkeys(ROLES, 404),
    ("auth.accept_invitation", "POST"): dict.fromkeys(ROLES, 404),
    ("auth.reset_password", "GET"): dict.fromkeys(ROLES, 404),
    ("auth.reset_password", "POST"): dict.fromkeys(ROLES, 404),
    ("auth.account", "GET"): {
        "anonymous": LOGIN,
        "liaison": 200,
        "coordinator": 200,
        "admin": 200,
        "deactivated": LOGIN,
    },
    ("auth.account", "POST"): {
        "anonymous": LOGIN,
        "liaison": 422,
        "coordinator": 422,
        "admin": 422,
        "deactivated": LOGIN,
    },
    ("accounts.index", "GET"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 403,
        "admin": 200,
        "deactivated": LOGIN,
    },
    ("accounts.invite", "GET"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 403,
        "admin": 200,
        "deactivated": LOGIN,
    },
    ("accounts.invite", "POST"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 403,
        "admin": 422,
        "deactivated": LOGIN,
    },
    ("accounts.resend_invitation", "POST"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 403,
        "admin": 302,
        "deactivated": LOGIN,
    },
    ("accounts.set_active", "POST"): {
        "anonymous": LOGIN,
        "liaison": 403,
        "coordinator": 403,
        "admin": 302,
        "deactivated": LOGIN,
    },
}

for _module in pkgutil.iter_modules(tests.web.__path__):
    if _module.name.startswith("matrix_"):
        MATRIX.update(importlib.import_module(f"tests.web.{_module.name}").MATRIX)


@pytest.fixture
def world(app, make_user):
    """One of every record a URL can name: ids for URL parameters."""
    admin = make_user(Role.COORDINATOR, is_admin=True)
    bystander = make_user(Role.LIAISON)
    with app.test_request_context():
        actor = db.session.get(type(admin), admin.id)
        cohort = enrollment.create_cohort(actor, enrollment.CohortInput(name="Matrix cohort", capacity=10))
        applicant = enrollment.submit_application(
            enrollment.ApplicationInput(
                full_name="Bystander Applicant",
                email="bystander.applicant@example.org",
                group_type=GroupType.BLOCK_CLUB,
                consent=True,
            )
        )
        member_application = enrollment.submit_application(
            enrollment.ApplicationInput(full_name="Member", email="member@example.org", consent=True)
        )
        membership = enrollment.approve_application(actor, member_application, cohort.id)
        start = utcnow() + timedelta(days=3)
        session = training_sessions.schedule_session(
            actor,
            cohort,
            training_sessions.SessionInput(
                title="Matrix session",
                kind=SessionKind.IN_PERSON,
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                location="Library",
            ),
        )
        other_liaison = db.session.get(type(admin), bystander.id)
        module = training.create_module(actor, training.ModuleInput(title={"en": "Matrix module"}, body={"en": "Text"}))
        quiz = training.save_quiz_settings(actor, module, training.QuizSettings())
        question = training.add_question(
            actor,
            quiz,
            training.QuestionInput(
                kind=QuestionKind.TRUE_FALSE,
                prompt={"en": "True?"},
                explanation={"en": "Yes."},
                choices=[training.ChoiceInput({"en": "True"}, True), training.ChoiceInput({"en": "False"})],
            ),
        )
        training.set_module_published(actor, module, True)
        attempt = training.start_attempt(other_liaison, quiz, language="en")
        certificate = Certificate(
            user_id=bystander.id,
            cohort_id=cohort.id,
            code=new_code(),
            status=CertificateStatus.ACTIVE,
            issued_at=utcnow(),
            expires_at=utcnow() + timedelta(days=365),
        )
        db.session.add(certificate)
        db.session.commit()
        service_type = factories.make_service_type(
            "SR-MX01", attributes=[{"code": "pole_number", "datatype": AttributeDatatype.STRING}]
        )
        neighborhood = Neighborhood(name="Matrix Park", zipcodes=["19143"])
        db.session.add(neighborhood)
        # A draft batch and a filed request of the bystander: another liaison using these ids gets 404.
        batch = factories.make_batch(other_liaison, rows=[{"service_code": "SR-MX01", "address": "1 Main St"}])
        service_request = factories.make_service_request(other_liaison, service_type)
        values = {
            "token": "not-a-valid-token",
            "user_id": bystander.id,
            "cohort_id": cohort.id,
            "application_id": applicant.id,
            "membership_id": membership.id,
            "session_id": session.id,
            "module_id": module.id,
            "quiz_id": quiz.id,
            "question_id": question.id,
            # An attempt of another liaison: a liaison using this id must get 404.
            "attempt_id": attempt.id,
            "certificate_id": certificate.id,
            "code": certificate.code,
            "service_type_id": service_type.id,
            "attribute_id": service_type.attributes[0].id,
            "neighborhood_id": neighborhood.id,
            "batch_id": batch.id,
            "row_id": batch.rows[0].id,
            "request_id": service_request.id,
            "public_token": service_request.public_token,
        }
    return values


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((rule.endpoint, method))
    return routes


def test_every_route_is_in_the_matrix(app):
    routes = _routes(app)
    undeclared = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not undeclared, f"routes without a declared permission expectation: {undeclared}"
    assert not stale, f"matrix lines for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_each_kind_of_visitor_gets_the_declared_status_on_every_route(app, client, login_as, world, role):
    if role != "anonymous":
        login_as(role)
    failures = []
    for (endpoint, method), expected_by_role in sorted(MATRIX.items()):
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        values = {name: world[name] for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(endpoint, **values)
        response = client.open(url, method=method, data={} if method == "POST" else None)
        expected = expected_by_role[role]
        if response.status_code != expected:
            failures.append(f"{method} {url}: expected {expected}, got {response.status_code}")
        if endpoint == "auth.logout" and response.status_code == 302 and role != "anonymous":
            login_as(role)  # logging out ended the session; carry on logged in
    assert not failures, "\n".join(failures)


def test_anonymous_visitors_are_sent_to_login_with_a_way_back(client):
    response = client.get("/coordinator")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
