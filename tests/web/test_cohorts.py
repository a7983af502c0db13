"""Coordinators manage cohorts: list, create, edit, archive, roster, moves, withdrawals, exports, imports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import services
from liaison.enrollment import sessions as training
from liaison.enrollment.models import (
    Application,
    ApplicationSource,
    Cohort,
    CohortStatus,
    Membership,
    MembershipStatus,
    SessionKind,
)
from liaison.exports import XLSX_MIMETYPE
from liaison.extensions import db
from tests.conftest import login

HTMX = {"HX-Request": "true"}


def make_cohort(app, name: str = "Spring cohort", capacity: int = 10, **fields) -> int:
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR).limit(1))
        cohort = services.create_cohort(actor, services.CohortInput(name=name, capacity=capacity, **fields))
        db.session.commit()
        return cohort.id


def add_members(app, cohort_id: int, count: int, *, prefix: str = "Member", **user_fields) -> list[int]:
    """Liaisons with an active place in the cohort; returns their membership ids."""
    with app.test_request_context():
        users = [
            User(
                email=f"{prefix.lower().replace(' ', '.')}{n}@example.org",
                full_name=f"{prefix} {n:03d}",
                role=Role.LIAISON,
                **{"active": True, **user_fields},
            )
            for n in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        memberships = [Membership(cohort_id=cohort_id, user_id=user.id) for user in users]
        db.session.add_all(memberships)
        db.session.commit()
        return [membership.id for membership in memberships]


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def cohort_form(**overrides) -> dict[str, object]:
    values = {
        "name": "Autumn cohort",
        "neighborhood": "Cedar Park",
        "starts_on": "2026-09-01",
        "ends_on": "2026-11-30",
        "capacity": "20",
        "status": "planned",
        "min_sessions_required": "2",
    }
    values.update(overrides)
    return values


# The cohort list -----------------------------------------------------------------------------


def test_the_cohort_list_shows_status_dates_and_places_taken(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(
        app,
        "Kensington spring",
        capacity=12,
        neighborhood="Kensington",
        starts_on=date(2026, 3, 2),
        status=CohortStatus.ACTIVE,
    )
    add_members(app, cohort_id, 3)
    html = client.get("/coordinator/cohorts/").get_data(as_text=True)
    row = html[html.index(f'id="cohort-{cohort_id}"') :].split("</tr>")[0]
    assert "Kensington spring" in row
    assert "Active" in row
    assert "Kensington" in row
    assert "Mar 2, 2026" in row
    assert "3 of 12" in row
    assert "/coordinator/cohorts/new" in html


def test_archived_cohorts_are_hidden_until_asked_for(app, client, login_as):
    login_as("coordinator")
    make_cohort(app, "Old cohort", status=CohortStatus.ARCHIVED)
    make_cohort(app, "Current cohort")
    html = client.get("/coordinator/cohorts/").get_data(as_text=True)
    assert "Current cohort" in html
    assert "Old cohort" not in html
    html = client.get("/coordinator/cohorts/?archived=1").get_data(as_text=True)
    assert "Old cohort" in html
    assert "Archived" in html


def test_liaisons_cannot_open_cohort_pages(app, client, login_as):
    login_as("coordinator")  # someone must create the cohort
    cohort_id = make_cohort(app)
    client.post("/logout")
    login_as("liaison")
    for url in (
        "/coordinator/cohorts/",
        f"/coordinator/cohorts/{cohort_id}",
        f"/coordinator/cohorts/{cohort_id}/roster.csv",
    ):
        assert client.get(url).status_code == 403
    assert client.post(f"/coordinator/cohorts/{cohort_id}/archive", data={"confirm": "yes"}).status_code == 403
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status is CohortStatus.PLANNED


# Create, edit, archive -----------------------------------------------------------------------


def test_creating_a_cohort_saves_every_field_and_its_coordinators(app, client, login_as, make_user):
    me = login_as("coordinator")
    colleague = make_user(Role.COORDINATOR, full_name="Colleague Coordinator")
    form = client.get("/coordinator/cohorts/new").get_data(as_text=True)
    assert "Colleague Coordinator" in form
    assert re.search(rf'value="{me.id}"[^>]*checked|checked[^>]*value="{me.id}"', form), "creator ticked by default"
    response = client.post(
        "/coordinator/cohorts/new", data={**cohort_form(), "coordinator_ids": [str(me.id), str(colleague.id)]}
    )
    assert response.status_code == 302
    with app.app_context():
        cohort = db.session.scalars(select(Cohort)).one()
        assert response.location.endswith(f"/coordinator/cohorts/{cohort.id}")
        assert (cohort.name, cohort.neighborhood, cohort.capacity, cohort.min_sessions_required) == (
            "Autumn cohort",
            "Cedar Park",
            20,
            2,
        )
        assert (cohort.starts_on, cohort.ends_on) == (date(2026, 9, 1), date(2026, 11, 30))
        assert {user.id for user in cohort.coordinators} == {me.id, colleague.id}
    assert "cohort.created" in audit_actions(app)


def test_an_end_date_before_the_start_is_shown_next_to_the_end_date_and_nothing_typed_is_lost(app, client, login_as):
    login_as("coordinator")
    response = client.post("/coordinator/cohorts/new", data=cohort_form(ends_on="2026-08-01"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="ends_on-error"[^>]*>\s*The end date must be on or after the start date.', html)
    assert 'value="Autumn cohort"' in html
    assert 'value="Cedar Park"' in html
    assert 'value="2026-08-01"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Cohort)) == 0


def test_shape_errors_name_the_field(client, login_as):
    login_as("coordinator")
    response = client.post("/coordinator/cohorts/new", data=cohort_form(name="", capacity="0", starts_on="soon"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="name-error"[^>]*>\s*Give the cohort a name.', html)
    assert re.search(r'id="capacity-error"[^>]*>\s*Use a number from 1 to 10000.', html)
    assert 'id="starts_on-error"' in html


def test_editing_shows_the_saved_values_and_saves_changes(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app, "Spring cohort", neighborhood="Fairhill", starts_on=date(2026, 4, 1))
    html = client.get(f"/coordinator/cohorts/{cohort_id}/edit").get_data(as_text=True)
    assert 'value="Spring cohort"' in html
    assert 'value="2026-04-01"' in html
    response = client.post(
        f"/coordinator/cohorts/{cohort_id}/edit", data=cohort_form(name="Spring cohort B", status="active")
    )
    assert response.status_code == 302
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        assert (cohort.name, cohort.status) == ("Spring cohort B", CohortStatus.ACTIVE)
    assert "cohort.updated" in audit_actions(app)


def test_capacity_cannot_go_below_the_people_already_in_the_cohort(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app, capacity=10)
    add_members(app, cohort_id, 4)
    response = client.post(f"/coordinator/cohorts/{cohort_id}/edit", data=cohort_form(capacity="3"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(
        r'id="capacity-error"[^>]*>\s*4 liaisons are already in this cohort; capacity cannot be lower.', html
    )
    assert 'value="3"' in html
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).capacity == 10


def test_archiving_asks_first_then_hides_the_cohort_and_keeps_its_roster(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app, "Closing cohort")
    add_members(app, cohort_id, 2)
    page = client.get(f"/coordinator/cohorts/{cohort_id}/archive").get_data(as_text=True)
    assert "Archive Closing cohort?" in page
    assert "Its 2 liaisons keep their places" in page
    response = client.post(f"/coordinator/cohorts/{cohort_id}/archive", data={"confirm": "yes"})
    assert response.status_code == 302
    listing = client.get("/coordinator/cohorts/").get_data(as_text=True)
    assert "Cohort Closing cohort is archived." in listing
    assert f'id="cohort-{cohort_id}"' not in listing
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status is CohortStatus.ARCHIVED
        assert services.active_member_count(cohort_id) == 2
    assert "cohort.archived" in audit_actions(app)


def test_archiving_without_the_confirmation_changes_nothing(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    response = client.post(f"/coordinator/cohorts/{cohort_id}/archive", data={})
    assert response.status_code == 422
    assert "Confirm to archive the cohort." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Cohort, cohort_id).status is CohortStatus.PLANNED


def test_an_unknown_cohort_is_a_404(client, login_as):
    login_as("coordinator")
    assert client.get("/coordinator/cohorts/999").status_code == 404
    assert client.get("/coordinator/cohorts/999/edit").status_code == 404


# The roster ----------------------------------------------------------------------------------


def test_the_roster_shows_invitation_state_last_login_and_sessions_attended(app, client, login_as):
    me = login_as("coordinator")
    cohort_id = make_cohort(app, "Roster cohort")
    [pending] = add_members(app, cohort_id, 1, prefix="Pending Person")
    [accepted] = add_members(
        app, cohort_id, 1, prefix="Accepted Person", password_hash="x", last_login_at=utcnow() - timedelta(days=1)
    )
    [gone] = add_members(app, cohort_id, 1, prefix="Gone Person", password_hash="x", active=False)
    with app.test_request_context():
        actor = db.session.get(User, me.id)
        cohort = db.session.get(Cohort, cohort_id)
        start = utcnow() - timedelta(days=2)
        sessions = [
            training.schedule_session(
                actor,
                cohort,
                training.SessionInput(
                    title=f"Session {n}",
                    kind=SessionKind.IN_PERSON,
                    starts_at=start + timedelta(hours=n * 3),
                    ends_at=start + timedelta(hours=n * 3 + 2),
                    location="Library",
                ),
            )
            for n in (1, 2)
        ]
        accepted_user = db.session.get(Membership, accepted).user_id
        for session in sessions:
            training.set_attendance(actor, session, accepted_user, True)
        db.session.commit()
        session_ids = [session.id for session in sessions]
    html = client.get(f"/coordinator/cohorts/{cohort_id}").get_data(as_text=True)

    def row(membership_id: int) -> str:
        return html[html.index(f'<tr id="member-{membership_id}">') :].split("</tr>")[0]

    assert "Pending Person 000" in row(pending)
    assert "pending" in row(pending)
    assert "Never" in row(pending)
    assert "accepted" in row(accepted)
    assert "Never" not in row(accepted)
    assert re.search(r'data-label="Sessions attended">\s*2\s*<', row(accepted))
    assert "deactivated" in row(gone)
    for session_id in session_ids:
        assert f"/coordinator/cohorts/{cohort_id}/sessions/{session_id}/attendance" in html
    assert "Session 1" in html
    assert "1 present" in html


def test_the_roster_searches_and_shows_people_who_left_only_when_asked(app, client, login_as):
    me = login_as("coordinator")
    cohort_id = make_cohort(app)
    [alma] = add_members(app, cohort_id, 1, prefix="Alma Torres")
    [bruno] = add_members(app, cohort_id, 1, prefix="Bruno Diaz")
    with app.test_request_context():
        services.withdraw_member(db.session.get(User, me.id), db.session.get(Membership, bruno), "Moved away")
        db.session.commit()
    html = client.get(f"/coordinator/cohorts/{cohort_id}").get_data(as_text=True)
    assert f'id="member-{alma}"' in html
    assert f'id="member-{bruno}"' not in html
    html = client.get(f"/coordinator/cohorts/{cohort_id}?ended=y").get_data(as_text=True)
    assert f'id="member-{bruno}"' in html
    assert "Moved away" in html
    html = client.get(f"/coordinator/cohorts/{cohort_id}?q=ALMA").get_data(as_text=True)
    assert f'id="member-{alma}"' in html
    assert 'value="ALMA"' in html


def test_htmx_roster_search_gets_only_the_roster_fragment(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    response = client.get(f"/coordinator/cohorts/{cohort_id}?q=x", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="roster-results">')
    assert "<html" not in html


def _training_for(app, user_ids: list[int], *, modules: int = 4) -> None:
    """Published modules with quizzes, and a spread of reads and attempts by these liaisons."""
    from liaison.training import services as training_services
    from liaison.training.models import QuestionKind

    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR).limit(1))
        quizzes = []
        for number in range(modules):
            module = training_services.create_module(
                actor, training_services.ModuleInput(title={"en": f"Module {number}"}, body={"en": "Text"})
            )
            quiz = training_services.save_quiz_settings(actor, module, training_services.QuizSettings())
            training_services.add_question(
                actor,
                quiz,
                training_services.QuestionInput(
                    kind=QuestionKind.TRUE_FALSE,
                    prompt={"en": "True?"},
                    explanation={"en": "Yes."},
                    choices=[
                        training_services.ChoiceInput({"en": "True"}, True),
                        training_services.ChoiceInput({"en": "False"}),
                    ],
                ),
            )
            training_services.set_module_published(actor, module, True)
            quizzes.append((module, quiz))
        for index, user_id in enumerate(user_ids):
            user = db.session.get(User, user_id)
            for module, quiz in quizzes[: index % (modules + 1)]:
                training_services.mark_read(user, module)
                attempt = training_services.start_attempt(user, quiz, language="en")
                answers = {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}
                training_services.submit_attempt(user, attempt.id, answers)
        db.session.commit()


def _member_user_ids(app, membership_ids: list[int]) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Membership.user_id).where(Membership.id.in_(membership_ids))))


def _main(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index("<main") : html.index("</main>")]


def test_the_roster_runs_the_same_queries_for_10_or_120_people_and_pages_by_50(app, client, login_as, count_queries):
    login_as("coordinator")
    small = make_cohort(app, "Small", capacity=200)
    large = make_cohort(app, "Large", capacity=200)
    small_members = add_members(app, small, 10, prefix="Small")
    large_members = add_members(app, large, 120, prefix="Large", password_hash="x")
    # Every liaison's training progress is on the roster too (the "Training" column).
    _training_for(app, _member_user_ids(app, small_members + large_members))
    client.get("/coordinator/cohorts/")  # the first page view after login also saves the session
    with count_queries() as small_queries:
        small_page = client.get(f"/coordinator/cohorts/{small}")
    with count_queries() as large_queries:
        large_page = client.get(f"/coordinator/cohorts/{large}")
    with count_queries() as last_page_queries:
        last_page = client.get(f"/coordinator/cohorts/{large}?page=3")
    assert small_page.status_code == large_page.status_code == last_page.status_code == 200
    assert large_page.get_data(as_text=True).count('<tr id="member-') == 50
    assert last_page.get_data(as_text=True).count('<tr id="member-') == 20
    assert f"/coordinator/cohorts/{large}?page=3" in large_page.get_data(as_text=True)
    assert "120 people" in large_page.get_data(as_text=True)
    assert "4 of 4 required modules" in large_page.get_data(as_text=True)
    assert "0 of 4 required modules" in large_page.get_data(as_text=True)
    assert len(small_queries) == len(large_queries) == len(last_page_queries), large_queries
    # Seen again with nothing changed, the page is the one rendered before (liaison/page_cache.py):
    # the session and user, the cohort, and the data version.
    with count_queries() as repeat_queries:
        repeat = client.get(f"/coordinator/cohorts/{large}")
    assert _main(repeat) == _main(large_page)  # (the layout's CSRF token is signed with the time)
    assert len(repeat_queries) == 3, repeat_queries


def _roster_row(html: str, name: str) -> str:
    match = re.search(r'<tr id="member-\d+">(?:(?!</tr>).)*?' + re.escape(name) + r".*?</tr>", html, re.S)
    return match.group(0) if match else ""


def _cell(row: str, label: str) -> str:
    match = re.search(rf'data-label="{label}"[^>]*>(.*?)</t[dh]>', row, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).split() if match else []


def test_the_roster_seen_again_shows_every_change_made_since(app, client, login_as, make_user):
    """The page is reused between changes (liaison/page_cache.py); no kind of change is missed."""
    coordinator = login_as("coordinator")
    cohort_id = make_cohort(app, "Harbor cohort")
    member = make_user(Role.LIAISON, full_name="Lucia Serrano")
    with app.test_request_context():
        db.session.add(Membership(cohort_id=cohort_id, user_id=member.id))
        db.session.commit()
    _training_for(app, [])  # four published modules with quizzes, nobody's progress yet
    url = f"/coordinator/cohorts/{cohort_id}"

    def row() -> str:
        return _roster_row(client.get(url).get_data(as_text=True), "Lucia Serrano")

    first = row()
    assert _cell(first, "Last login") == ["Never"]
    assert "0 of 4 required modules" in first
    assert _cell(first, "Sessions attended") == ["0"]
    assert row() == first  # nothing changed: the same rows

    # The liaison logs in.
    assert login(app.test_client(), member.email).status_code == 302
    assert _cell(row(), "Last login") != ["Never"]

    # She reads a module and passes its quiz.
    from liaison.training import services as training_services
    from liaison.training.models import Module

    with app.test_request_context():
        user = db.session.get(User, member.id)
        module = db.session.scalars(select(Module).order_by(Module.position)).first()
        training_services.mark_read(user, module)
        attempt = training_services.start_attempt(user, module.quiz, language="en")
        answers = {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}
        training_services.submit_attempt(user, attempt.id, answers)
        db.session.commit()
    assert "1 of 4 required modules" in row()

    # The coordinator takes a module out of the curriculum.
    with app.test_request_context():
        actor = db.session.get(User, coordinator.id)
        last = db.session.scalars(select(Module).order_by(Module.position.desc())).first()
        training_services.set_module_published(actor, last, False)
        db.session.commit()
    assert "1 of 3 required modules" in row()

    # She attends a session.
    with app.test_request_context():
        actor = db.session.get(User, coordinator.id)
        starts = utcnow() - timedelta(days=1)
        session = training.schedule_session(
            actor,
            db.session.get(Cohort, cohort_id),
            training.SessionInput(
                "Orientation", SessionKind.IN_PERSON, starts, starts + timedelta(hours=2), location="Library"
            ),
        )
        db.session.flush()
        training.set_attendance(actor, session, member.id, True)
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Orientation" in page
    assert "1 present" in page
    assert _cell(_roster_row(page, "Lucia Serrano"), "Sessions attended") == ["1"]

    # Her name is corrected, and the cohort renamed.
    with app.test_request_context():
        db.session.get(User, member.id).full_name = "Lucía Serrano"
        db.session.get(Cohort, cohort_id).name = "Harbor cohort 2027"
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Lucía Serrano" in page
    assert "Lucia Serrano" not in page
    assert "Harbor cohort 2027" in page

    # The roster alone, as htmx asks for it, is kept apart from the page, and changes too.
    fragment = client.get(url + "?q=Luc", headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="roster-results">')
    assert "Lucía Serrano" in fragment
    with app.test_request_context():
        services.withdraw_member(
            db.session.get(User, coordinator.id), db.session.scalar(select(Membership)), "Moved away"
        )
        db.session.commit()
    fragment = client.get(url + "?q=Luc", headers=HTMX).get_data(as_text=True)
    assert "Lucía Serrano" not in fragment
    assert "Nobody on this roster matches your search." in fragment


# Moving and withdrawing ----------------------------------------------------------------------


def test_moving_a_liaison_inline_swaps_the_row_and_keeps_the_history(app, client, login_as):
    login_as("coordinator")
    source = make_cohort(app, "Source cohort")
    target = make_cohort(app, "Target cohort", capacity=2)
    [membership] = add_members(app, source, 1, prefix="Mover")
    url = f"/coordinator/cohorts/{source}/members/{membership}/move"
    form = client.get(url, headers=HTMX).get_data(as_text=True)
    assert form.lstrip().startswith(f'<tr id="member-{membership}"')
    assert "Target cohort (2 free places)" in form
    assert "Source cohort (" not in form
    response = client.post(
        url,
        data={f"member-{membership}-cohort_id": str(target), f"member-{membership}-reason": "Closer to home"},
        headers=HTMX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="member-{membership}">')
    assert "Mover 000 moved to Target cohort." in html
    assert "moved" in html
    with app.app_context():
        old = db.session.get(Membership, membership)
        assert (old.status, old.end_reason) == (MembershipStatus.MOVED, "Closer to home")
        new = db.session.scalars(select(Membership).where(Membership.cohort_id == target)).one()
        assert (new.user_id, new.status) == (old.user_id, MembershipStatus.ACTIVE)
    assert "membership.moved" in audit_actions(app)
    assert f'id="member-{membership}"' in client.get(f"/coordinator/cohorts/{source}?ended=y").get_data(as_text=True)


def test_moving_into_a_full_cohort_is_refused_next_to_the_choice(app, client, login_as):
    login_as("coordinator")
    source = make_cohort(app, "Source cohort")
    full = make_cohort(app, "Full cohort", capacity=1)
    add_members(app, full, 1, prefix="Already There")
    [membership] = add_members(app, source, 1, prefix="Mover")
    url = f"/coordinator/cohorts/{source}/members/{membership}/move"
    assert "Full cohort" not in client.get(url).get_data(as_text=True), "full cohorts are not offered"
    response = client.post(url, data={f"member-{membership}-cohort_id": str(full)}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Full cohort is full." in html
    assert f'id="member-{membership}-cohort_id-error"' in html
    with app.app_context():
        assert db.session.get(Membership, membership).status is MembershipStatus.ACTIVE
        assert services.active_member_count(full) == 1


def test_moving_without_javascript_uses_its_own_page_and_comes_back_with_a_message(app, client, login_as):
    login_as("coordinator")
    source = make_cohort(app, "Source cohort")
    target = make_cohort(app, "Target cohort")
    [membership] = add_members(app, source, 1, prefix="Mover")
    url = f"/coordinator/cohorts/{source}/members/{membership}/move"
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page
    assert "Move Mover 000 to another cohort" in page
    response = client.post(url, data={f"member-{membership}-cohort_id": str(target)}, follow_redirects=True)
    assert response.request.path == f"/coordinator/cohorts/{source}"
    assert "Mover 000 moved to Target cohort." in response.get_data(as_text=True)


def test_withdrawing_needs_a_reason_then_keeps_the_history(app, client, login_as):
    login_as("coordinator")
    cohort_id = make_cohort(app)
    [membership] = add_members(app, cohort_id, 1, prefix="Leaver")
    url = f"/coordinator/cohorts/{cohort_id}/members/{membership}/withdraw"
    response = client.post(url, data={f"member-{membership}-reason": "  "}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith(f'<tr id="member-{membership}"')
    assert re.search(rf'id="member-{membership}-reason-error"[^>]*>\s*Write the reason for withdrawing.', html)
    response = client.post(url, data={f"member-{membership}-reason": "Took a new job"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Leaver 000 was withdrawn from this cohort." in html
    assert "Took a new job" in html
    with app.app_context():
        ended = db.session.get(Membership, membership)
        assert (ended.status, ended.end_reason) == (MembershipStatus.WITHDRAWN, "Took a new job")
        assert db.session.get(User, ended.user_id).active, "the account stays"
    assert "membership.withdrawn" in audit_actions(app)
    again = client.post(url, data={f"member-{membership}-reason": "Twice"})
    assert again.status_code == 422
    assert "no longer in this cohort" in again.get_data(as_text=True)


def test_a_membership_of_another_cohort_is_a_404(app, client, login_as):
    login_as("coordinator")
    first = make_cohort(app, "First")
    second = make_cohort(app, "Second")
    [membership] = add_members(app, second, 1)
    response = client.post(
        f"/coordinator/cohorts/{first}/members/{membership}/withdraw", data={f"member-{membership}-reason": "x"}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Membership, membership).status is MembershipStatus.ACTIVE


# Exports -------------------------------------------------------------------------------------


def _export_cohort(app) -> int:
    cohort_id = make_cohort(app, "Export cohort")
    add_members(app, cohort_id, 1, prefix="=HYPERLINK(1)", password_hash="x")
    add_members(app, cohort_id, 1, prefix="Smith-Jones")
    return cohort_id


def test_the_csv_export_is_an_attachment_with_guarded_cells_and_is_audited(app, client, login_as):
    login_as("coordinator")
    cohort_id = _export_cohort(app)
    response = client.get(f"/coordinator/cohorts/{cohort_id}/roster.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=roster-Export-cohort-")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == [
        "Name",
        "Email address",
        "Invitation",
        "Joined",
        "Last login",
        "Sessions attended",
        "Training complete",
        "Status",
    ]
    by_email = {row[1]: row for row in rows[1:]}
    formula = by_email["'=hyperlink(1)0@example.org"]
    assert formula[0] == "'=HYPERLINK(1) 000"
    assert (formula[2], formula[5], formula[6], formula[7]) == ("accepted", "0", "", "active")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", formula[3]), "joined, in local time"
    assert by_email["smith-jones0@example.org"][0] == "Smith-Jones 000"
    assert by_email["smith-jones0@example.org"][2] == "pending"
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.exported")).one()
        assert (event.subject_type, event.subject_id, event.details["format"], event.details["rows"]) == (
            "cohort",
            str(cohort_id),
            "csv",
            2,
        )


def test_the_xlsx_export_is_a_workbook_with_guarded_cells_and_is_audited(app, client, login_as):
    login_as("coordinator")
    cohort_id = _export_cohort(app)
    response = client.get(f"/coordinator/cohorts/{cohort_id}/roster.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIMETYPE
    assert response.headers["Content-Disposition"].startswith("attachment; filename=roster-Export-cohort-")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    names = sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == ["'=HYPERLINK(1) 000", "Smith-Jones 000"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    with app.app_context():
        formats = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "roster.exported")).all()
        assert [details["format"] for details in formats] == ["xlsx"]


# Import --------------------------------------------------------------------------------------

IMPORT_HEADER = "full_name,email,phone,address,zip_code,neighborhood,group_type,group_name,languages\n"


def upload(client, content: bytes, filename: str = "event.csv", **kwargs):
    return client.post(
        "/coordinator/cohorts/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def test_the_import_template_has_the_expected_columns(client, login_as):
    login_as("coordinator")
    response = client.get("/coordinator/cohorts/import/template.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.get_data().decode("utf-8-sig") == IMPORT_HEADER.replace("\n", "\r\n")


def test_importing_a_file_makes_applications_awaiting_review(app, client, login_as, outbox):
    login_as("coordinator")
    content = (
        IMPORT_HEADER
        + "Ana Ruiz,ana@example.org,215-555-0100,12 Oak St,19104,Cedar Park,block_club,Oak Club,English; Spanish\n"
        + "Bo Li,bo@example.org,,,,,,,\n"
    ).encode()
    response = upload(client, content, follow_redirects=True)
    assert response.status_code == 200
    assert "2 applications from event.csv are waiting for review." in response.get_data(as_text=True)
    with app.app_context():
        applications = db.session.scalars(select(Application).order_by(Application.id)).all()
        assert [(a.full_name, a.source, a.languages) for a in applications] == [
            ("Ana Ruiz", ApplicationSource.IMPORT, ["en", "es"]),
            ("Bo Li", ApplicationSource.IMPORT, []),
        ]
    assert outbox() == []
    assert "roster.imported" in audit_actions(app)


def test_one_bad_row_imports_nobody_and_the_report_names_the_line_column_and_file(app, client, login_as):
    login_as("coordinator")
    content = (IMPORT_HEADER + "Ana Ruiz,ana@example.org,,,,,,,\n" + "Bo Li,not-an-email,,,,,,,\n").encode()
    response = upload(client, content, filename="Cedar Park meeting.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported from Cedar Park meeting.csv" in html
    assert "You uploaded: Cedar Park meeting.csv" in html
    assert re.search(r'data-label="Line">\s*3\s*<.*?data-label="Column">\s*email\s*<', html, re.S)
    assert "&#34;not-an-email&#34; is not an email address" in html or '"not-an-email" is not an email address' in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_an_htmx_import_with_problems_returns_just_the_import_section(client, login_as):
    login_as("coordinator")
    response = upload(client, b"", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<div id="import-section">')
    assert "The file is empty" in html


def test_an_htmx_import_that_succeeds_redirects_the_page(client, login_as):
    login_as("coordinator")
    response = upload(client, (IMPORT_HEADER + "Ana,ana@example.org,,,,,,,\n").encode(), headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/coordinator/cohorts/import"


def test_importing_without_a_file_says_so_next_to_the_field(client, login_as):
    login_as("coordinator")
    response = client.post("/coordinator/cohorts/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert re.search(r'id="file-error"[^>]*>\s*Choose the file to upload.', response.get_data(as_text=True))


def test_importing_a_workbook_works_like_a_csv(app, client, login_as):
    from openpyxl import Workbook

    login_as("coordinator")
    workbook = Workbook()
    workbook.active.append(["Full Name", "Email", "ZIP code", "Group type"])
    workbook.active.append(["Ana Ruiz", "ana@example.org", 19104, "Faith group"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, buffer.getvalue(), filename="event.xlsx", follow_redirects=True)
    assert "1 application from event.xlsx is waiting for review." in response.get_data(as_text=True)
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        assert (application.zip_code, application.group_type.value) == ("19104", "faith_group")


def test_the_cohort_page_names_its_coordinators_alphabetically(app, client, login_as, make_user):
    login_as("coordinator")
    zoe = make_user(Role.COORDINATOR, full_name="Zoe Coordinator")
    ana = make_user(Role.COORDINATOR, full_name="ana Coordinator")
    cohort_id = make_cohort(app, "Named cohort", coordinator_ids=[zoe.id, ana.id])
    html = client.get(f"/coordinator/cohorts/{cohort_id}").get_data(as_text=True)
    assert "<dt>Coordinators</dt><dd>ana Coordinator, Zoe Coordinator</dd>" in html
