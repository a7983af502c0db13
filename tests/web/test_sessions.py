"""Training sessions: coordinators schedule them and take attendance; liaisons see them and
download calendar files."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import calendar
from liaison.enrollment import services as enrollment
from liaison.enrollment import sessions as training
from liaison.enrollment.models import Attendance, SessionKind, TrainingSession
from liaison.extensions import db

LOCAL = ZoneInfo("America/New_York")
PM = "\u202fPM"  # CLDR puts a narrow no-break space before AM/PM


# Test data, made through the same services the app uses ------------------------------------


@dataclass
class Cohort:
    id: int
    coordinator_id: int
    member_ids: list[int]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL).astimezone(UTC)


def in_days(days: int) -> date:
    return (utcnow().astimezone(LOCAL) + timedelta(days=days)).date()


@pytest.fixture
def make_cohort(app, make_user):
    """A cohort with `members` liaisons (each can log in), placed through approve_application."""

    def make(members: int = 3, name: str = "Cedar Park spring", **cohort_fields) -> Cohort:
        coordinator = make_user(Role.COORDINATOR)
        liaisons = [make_user(Role.LIAISON, full_name=f"{name} Member {n:02d}") for n in range(members)]
        with app.test_request_context():
            actor = db.session.get(User, coordinator.id)
            cohort = enrollment.create_cohort(
                actor, enrollment.CohortInput(name=name, capacity=max(members, 1) + 5, **cohort_fields)
            )
            for liaison in liaisons:
                application = enrollment.submit_application(
                    enrollment.ApplicationInput(full_name=liaison.full_name, email=liaison.email, consent=True),
                    notify=False,
                )
                enrollment.approve_application(actor, application, cohort.id)
            db.session.commit()
            return Cohort(cohort.id, coordinator.id, [liaison.id for liaison in liaisons])

    return make


@pytest.fixture
def schedule(app):
    """Schedule a session (by default in person, 6-8 PM local, ten days from now)."""

    def schedule(cohort: Cohort, title: str = "How 311 works", **fields) -> int:
        day = in_days(fields.pop("days", 10))
        values = {
            "title": title,
            "kind": SessionKind.IN_PERSON,
            "starts_at": local(day, 18),
            "ends_at": local(day, 20),
            "location": "Cedar Park Library, Room 2",
        }
        values.update(fields)
        with app.test_request_context():
            actor = db.session.get(User, cohort.coordinator_id)
            session = training.schedule_session(
                actor, enrollment.get_cohort(cohort.id), training.SessionInput(**values)
            )
            db.session.commit()
            return session.id

    return schedule


def mark(app, cohort: Cohort, session_id: int, user_id: int, present: bool = True) -> None:
    with app.test_request_context():
        actor = db.session.get(User, cohort.coordinator_id)
        training.set_attendance(actor, training.get_session(session_id), user_id, present)
        db.session.commit()


def log_in(client, app, user_id: int) -> None:
    from tests.conftest import login

    with app.app_context():
        email = db.session.get(User, user_id).email
    assert login(client, email).status_code == 302


def stored_session(app, session_id: int) -> TrainingSession | None:
    with app.app_context():
        session = db.session.get(TrainingSession, session_id)
        if session is not None:
            db.session.expunge(session)
        return session


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for event in found:
            db.session.expunge(event)
        return found


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>\s*([^<]+?)\s*<', html)
    assert match, f"no error message next to {field_id}"
    return html_lib.unescape(match.group(1))


def session_form(when: date, **changes: str) -> dict[str, str]:
    data = {
        "title": "Filing requests in bulk",
        "kind": "in_person",
        "day": when.isoformat(),
        "start_time": "18:00",
        "end_time": "20:00",
        "location": "Fairhill Rec Center",
        "link": "",
        "capacity": "",
        "notes": "Bring a phone.",
    }
    data.update(changes)
    return data


def sessions_url(cohort: Cohort, suffix: str = "") -> str:
    return f"/coordinator/cohorts/{cohort.id}/sessions{suffix}"


# Scheduling -----------------------------------------------------------------------------------


def test_a_coordinator_schedules_a_session_typed_in_local_time_and_stored_in_utc(app, client, login_as, make_cohort):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    day = in_days(12)
    response = client.post(sessions_url(cohort, "/new"), data=session_form(day, capacity="20"))
    assert response.status_code == 302
    assert response.location == sessions_url(cohort)
    with app.app_context():
        [session] = db.session.scalars(select(TrainingSession)).all()
        assert session.starts_at == local(day, 18)
        assert session.ends_at == local(day, 20)
        assert (session.location, session.capacity, session.notes) == ("Fairhill Rec Center", 20, "Bring a phone.")
    listing = client.get(sessions_url(cohort)).get_data(as_text=True)
    assert "Filing requests in bulk is scheduled." in listing
    assert f"6:00{PM} to 8:00{PM}" in listing
    assert [event.subject_id for event in events(app, "session.scheduled")] == [str(session.id)]


def test_a_virtual_session_keeps_its_https_link_and_drops_a_stale_place(app, client, login_as, make_cohort):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    response = client.post(
        sessions_url(cohort, "/new"),
        data=session_form(in_days(5), kind="virtual", link="https://meet.example.org/liaisons", location="Old place"),
    )
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalars(select(TrainingSession)).one()
        assert (session.kind, session.link, session.location) == (
            SessionKind.VIRTUAL,
            "https://meet.example.org/liaisons",
            "",
        )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"start_time": "20:00", "end_time": "18:00"}, "end_time", "The session must end after it starts."),
        ({"end_time": "18:00"}, "end_time", "The session must end after it starts."),
        ({"kind": "virtual", "link": ""}, "link", "Give the link to join the session."),
        ({"kind": "virtual", "link": "http://meet.example.org/x"}, "link", "The link must start with https://"),
        ({"kind": "in_person", "location": "  "}, "location", "Say where the session takes place."),
        ({"title": ""}, "title", "Give the session a title."),
        ({"start_time": ""}, "start_time", "Enter the start time."),
        ({"capacity": "0"}, "capacity", "Enter a number of places between 1 and 10,000."),
        ({"kind": "on the moon"}, "kind", "Not a valid choice."),
        ({"day": "9999-12-31"}, "day", "Enter a date between 2000 and 2100."),
        ({"day": "0001-01-01"}, "day", "Enter a date between 2000 and 2100."),
        ({"day": "2031-02-30"}, "day", "Enter a real date, like 2026-03-15."),
        ({"start_time": "25:99"}, "start_time", "Enter a time like 18:30."),
        ({"capacity": "99999999999999999999999"}, "capacity", "Enter a number of places between 1 and 10,000."),
        ({"title": "x" * 201}, "title", "Field cannot be longer than 200 characters."),
    ],
)
def test_an_invalid_session_is_refused_next_to_the_field_and_keeps_what_was_typed(
    app, client, login_as, make_cohort, changes, field, message
):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    response = client.post(sessions_url(cohort, "/new"), data=session_form(in_days(5), **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(html, field) == message
    assert 'value="Bring a phone.' not in html  # notes is a textarea: its text is the content
    assert "Bring a phone.</textarea>" in html
    if field != "title":
        assert 'value="Filing requests in bulk"' in html
    with app.app_context():
        assert db.session.scalars(select(TrainingSession)).all() == []


def test_nul_characters_are_dropped_rather_than_failing_on_postgresql(app, client, login_as, make_cohort):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    response = client.post(
        sessions_url(cohort, "/new"), data=session_form(in_days(5), title="Intro\x00duction", notes="a\x00b")
    )
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalars(select(TrainingSession)).one()
        assert (session.title, session.notes) == ("Introduction", "ab")


def test_a_time_skipped_when_clocks_go_forward_is_refused(client, login_as, make_cohort):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    response = client.post(
        sessions_url(cohort, "/new"), data=session_form(date(2031, 3, 9), start_time="02:30", end_time="04:00")
    )
    assert response.status_code == 422
    assert error_next_to(response.get_data(as_text=True), "start_time") == (
        "This time does not exist on that day: the clocks go forward."
    )


def test_editing_shows_local_times_and_saves_the_changes(app, client, login_as, make_cohort, schedule):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    session_id = schedule(cohort)
    form_html = client.get(sessions_url(cohort, f"/{session_id}/edit")).get_data(as_text=True)
    assert 'value="18:00"' in form_html
    assert 'value="20:00"' in form_html
    assert 'value="How 311 works"' in form_html
    assert "Eastern Time" in form_html

    day = in_days(20)
    response = client.post(
        sessions_url(cohort, f"/{session_id}/edit"),
        data=session_form(day, title="How 311 works, part 2", start_time="09:30", end_time="11:00"),
    )
    assert response.status_code == 302
    session = stored_session(app, session_id)
    assert session.title == "How 311 works, part 2"
    assert session.starts_at == local(day, 9, 30)
    assert [event.subject_id for event in events(app, "session.updated")] == [str(session_id)]


def test_an_invalid_edit_keeps_the_typed_values_and_changes_nothing(app, client, login_as, make_cohort, schedule):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    session_id = schedule(cohort)
    response = client.post(
        sessions_url(cohort, f"/{session_id}/edit"),
        data=session_form(in_days(3), title="Renamed", start_time="19:00", end_time="18:00"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Renamed"' in html
    assert 'value="19:00"' in html
    assert stored_session(app, session_id).title == "How 311 works"


def test_cancelling_needs_a_confirmation_then_removes_the_session_and_its_attendance(
    app, client, login_as, make_cohort, schedule
):
    login_as("coordinator")
    cohort = make_cohort(members=2)
    session_id = schedule(cohort)
    mark(app, cohort, session_id, cohort.member_ids[0])
    edit_page = client.get(sessions_url(cohort, f"/{session_id}/edit")).get_data(as_text=True)
    assert "1 liaison was marked present; that record will be deleted too." in edit_page

    refused = client.post(sessions_url(cohort, f"/{session_id}/cancel"), data={})
    assert refused.status_code == 422
    assert error_next_to(refused.get_data(as_text=True), "confirm") == "Tick the box to confirm."
    assert stored_session(app, session_id) is not None

    response = client.post(sessions_url(cohort, f"/{session_id}/cancel"), data={"confirm": "y"})
    assert response.status_code == 302
    assert stored_session(app, session_id) is None
    with app.app_context():
        assert db.session.scalars(select(Attendance)).all() == []
    [event] = events(app, "session.cancelled")
    assert event.details["title"] == "How 311 works"
    assert "How 311 works is cancelled." in client.get(response.location).get_data(as_text=True)


def test_a_session_cannot_be_reached_through_another_cohorts_address(client, login_as, make_cohort, schedule):
    login_as("coordinator")
    cohort = make_cohort(members=0)
    other = make_cohort(members=0, name="Other cohort")
    session_id = schedule(cohort)
    assert client.get(sessions_url(other, f"/{session_id}/edit")).status_code == 404
    assert client.get(sessions_url(other, f"/{session_id}/attendance")).status_code == 404
    assert client.post(sessions_url(other, f"/{session_id}/cancel"), data={"confirm": "y"}).status_code == 404
    assert client.get("/coordinator/cohorts/99999/sessions/new").status_code == 404


def test_the_sessions_list_shows_each_session_with_how_many_attended(app, client, login_as, make_cohort, schedule):
    login_as("coordinator")
    cohort = make_cohort(members=3)
    first = schedule(cohort, "Welcome", days=2)
    schedule(
        cohort, "Virtual check-in", days=9, kind=SessionKind.VIRTUAL, location="", link="https://meet.example.org/a"
    )
    mark(app, cohort, first, cohort.member_ids[0])
    mark(app, cohort, first, cohort.member_ids[1])
    html = client.get(sessions_url(cohort)).get_data(as_text=True)
    welcome_row = html[html.index(f'id="session-{first}"') :].split("</tr>")[0]
    assert '<td data-label="Present">2</td>' in welcome_row
    assert "Cedar Park Library, Room 2" in welcome_row
    assert 'href="https://meet.example.org/a"' in html
    assert html.index("Welcome") < html.index("Virtual check-in")


# Attendance ----------------------------------------------------------------------------------


def test_the_attendance_sheet_lists_every_active_member_with_a_running_count(
    app, client, login_as, make_cohort, schedule
):
    login_as("coordinator")
    cohort = make_cohort(members=3)
    session_id = schedule(cohort)
    mark(app, cohort, session_id, cohort.member_ids[1])
    with app.test_request_context():
        actor = db.session.get(User, cohort.coordinator_id)
        enrollment.withdraw_member(actor, enrollment.active_membership(cohort.member_ids[2]), "Moved away")
        db.session.commit()
    html = client.get(sessions_url(cohort, f"/{session_id}/attendance")).get_data(as_text=True)
    assert "1 of 2 present" in html
    assert "Cedar Park spring Member 00" in html
    assert "Cedar Park spring Member 01" in html
    assert "Cedar Park spring Member 02" not in html
    assert re.search(rf'id="attendance-toggle-{cohort.member_ids[1]}"[^>]*aria-pressed="true"', html)
    assert re.search(rf'id="attendance-toggle-{cohort.member_ids[0]}"[^>]*aria-pressed="false"', html)
    assert "Cedar Park Library, Room 2" in html


def test_the_attendance_sheet_runs_the_same_queries_for_3_or_40_members(
    client, login_as, make_cohort, schedule, count_queries, app
):
    login_as("coordinator")
    small, large = make_cohort(members=3, name="Small"), make_cohort(members=40, name="Large")
    small_session, large_session = schedule(small), schedule(large)
    for member in large.member_ids[:20]:
        mark(app, large, large_session, member)
    client.get(sessions_url(small, f"/{small_session}/attendance"))  # the first view saves the session
    with count_queries() as few:
        assert client.get(sessions_url(small, f"/{small_session}/attendance")).status_code == 200
    with count_queries() as many:
        html = client.get(sessions_url(large, f"/{large_session}/attendance")).get_data(as_text=True)
    assert "20 of 40 present" in html
    assert len(few) == len(many) <= 6


def test_marking_present_with_htmx_returns_just_that_row_and_the_new_count(
    app, client, login_as, make_cohort, schedule
):
    login_as("coordinator")
    cohort = make_cohort(members=3)
    session_id = schedule(cohort)
    member = cohort.member_ids[0]
    response = client.post(
        sessions_url(cohort, f"/{session_id}/attendance/{member}"),
        data={"present": "1"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li class="liaison-attendance__item" id="attendee-{member}">')
    assert "<html" not in html
    assert 'aria-pressed="true"' in html
    assert 'name="present" value="0"' in html  # the next tap undoes it
    assert re.search(r'id="attendance-count" hx-swap-oob="innerHTML">\s*1 of 3 present', html)
    assert re.search(
        r'id="attendance-announcement" hx-swap-oob="innerHTML">Cedar Park spring Member 00 is marked present\.', html
    )
    with app.app_context():
        assert training.sessions_attended(member, cohort.id) == 1


def test_marking_without_javascript_saves_and_returns_to_the_row_on_the_sheet(
    app, client, login_as, make_cohort, schedule
):
    login_as("coordinator")
    cohort = make_cohort(members=3)
    session_id = schedule(cohort)
    member = cohort.member_ids[2]
    response = client.post(sessions_url(cohort, f"/{session_id}/attendance/{member}"), data={"present": "1"})
    assert response.status_code == 302
    assert response.location == sessions_url(cohort, f"/{session_id}/attendance#attendee-{member}")
    sheet = client.get(response.location).get_data(as_text=True)
    assert "Cedar Park spring Member 02 is marked present." in sheet
    assert "1 of 3 present" in sheet

    client.post(sessions_url(cohort, f"/{session_id}/attendance/{member}"), data={"present": "0"})
    assert "0 of 3 present" in client.get(sessions_url(cohort, f"/{session_id}/attendance")).get_data(as_text=True)


def test_each_attendance_change_is_audited_with_who_and_what(app, client, login_as, make_cohort, schedule):
    coordinator = login_as("coordinator")
    cohort = make_cohort(members=2)
    session_id = schedule(cohort)
    member = cohort.member_ids[1]
    url = sessions_url(cohort, f"/{session_id}/attendance/{member}")
    client.post(url, data={"present": "1"})
    client.post(url, data={"present": "1"})  # no change, nothing new to record
    client.post(url, data={"present": "0"})
    changes = events(app, "attendance.changed")
    assert [(e.actor_id, e.subject_id, e.details) for e in changes] == [
        (coordinator.id, str(session_id), {"user_id": member, "present": True}),
        (coordinator.id, str(session_id), {"user_id": member, "present": False}),
    ]


def test_attendance_for_someone_outside_the_cohort_is_a_404_and_records_nothing(
    app, client, login_as, make_cohort, schedule
):
    login_as("coordinator")
    cohort = make_cohort(members=1)
    other = make_cohort(members=1, name="Other cohort")
    session_id = schedule(cohort)
    outsider = other.member_ids[0]
    response = client.post(sessions_url(cohort, f"/{session_id}/attendance/{outsider}"), data={"present": "1"})
    assert response.status_code == 404
    htmx = client.post(
        sessions_url(cohort, f"/{session_id}/attendance/{outsider}"),
        data={"present": "1"},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 404
    assert "That person is not in this cohort." in htmx.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Attendance)).all() == []


def test_an_attendance_value_other_than_1_or_0_is_refused(app, client, login_as, make_cohort, schedule):
    login_as("coordinator")
    cohort = make_cohort(members=1)
    session_id = schedule(cohort)
    url = sessions_url(cohort, f"/{session_id}/attendance/{cohort.member_ids[0]}")
    assert client.post(url, data={"present": "yes"}).status_code == 422
    assert client.post(url, data={}).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(Attendance)).all() == []


def test_sessions_attended_counts_only_present_marks_in_that_cohort(app, make_cohort, schedule):
    cohort = make_cohort(members=2)
    other = make_cohort(members=1, name="Other cohort")
    liaison = cohort.member_ids[0]
    first, second, third = schedule(cohort, "One", days=1), schedule(cohort, "Two", days=2), schedule(cohort, "Three")
    mark(app, cohort, first, liaison)
    mark(app, cohort, second, liaison)
    mark(app, cohort, third, liaison, present=False)
    mark(app, cohort, first, cohort.member_ids[1])
    elsewhere = schedule(other)
    with app.test_request_context():
        # Moved to the other cohort, where one session is attended: it counts there, not here.
        actor = db.session.get(User, cohort.coordinator_id)
        enrollment.move_member(actor, enrollment.active_membership(liaison), other.id)
        training.set_attendance(actor, training.get_session(elsewhere), liaison, True)
        db.session.commit()
        assert training.sessions_attended(liaison, cohort.id) == 2
        assert training.sessions_attended(liaison, other.id) == 1
        assert training.sessions_attended(cohort.member_ids[1], cohort.id) == 1
        assert training.sessions_attended(other.member_ids[0], other.id) == 0


# Calendar files ------------------------------------------------------------------------------


def unfold(body: bytes) -> list[str]:
    """Content lines of an iCalendar file, with folded lines joined again (RFC 5545 3.1)."""
    text = body.decode("utf-8")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_a_liaison_downloads_a_calendar_file_for_a_session_of_their_cohort(app, client, make_cohort, schedule):
    cohort = make_cohort(members=1)
    day = in_days(10)
    session_id = schedule(cohort, notes="Use the side door.")
    log_in(client, app, cohort.member_ids[0])
    response = client.get(f"/my/sessions/{session_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="training-session-{session_id}.ics"'
    body = response.get_data()
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    lines = unfold(body)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert f"UID:session-{session_id}@liaison" in lines
    assert "DTSTART:" + local(day, 18).strftime("%Y%m%dT%H%M%SZ") in lines
    assert "DTEND:" + local(day, 20).strftime("%Y%m%dT%H%M%SZ") in lines
    assert "SUMMARY:How 311 works" in lines
    assert "LOCATION:Cedar Park Library\\, Room 2" in lines
    assert any(line.startswith("DTSTAMP:") and line.endswith("Z") for line in lines)
    [description] = [line for line in lines if line.startswith("DESCRIPTION:")]
    assert "Use the side door." in description
    assert not any(line.startswith("URL:") for line in lines)


def test_a_virtual_session_file_has_the_link_as_its_url(app, client, make_cohort, schedule):
    cohort = make_cohort(members=1)
    session_id = schedule(cohort, kind=SessionKind.VIRTUAL, location="", link="https://meet.example.org/a?b=1,2;3")
    log_in(client, app, cohort.member_ids[0])
    lines = unfold(client.get(f"/my/sessions/{session_id}.ics").get_data())
    assert "URL:https://meet.example.org/a?b=1,2;3" in lines
    assert "LOCATION:Online" in lines


def test_a_liaison_of_another_cohort_cannot_download_this_cohorts_session(app, client, make_cohort, schedule):
    cohort = make_cohort(members=1)
    other = make_cohort(members=1, name="Other cohort")
    session_id = schedule(cohort, "Not yours")
    schedule(other, "Yours")
    log_in(client, app, other.member_ids[0])
    assert client.get(f"/my/sessions/{session_id}.ics").status_code == 404
    everything = client.get("/my/sessions.ics")
    assert everything.status_code == 200
    assert b"SUMMARY:Yours" in everything.get_data()
    assert b"Not yours" not in everything.get_data()


def test_the_all_sessions_file_has_every_upcoming_session_and_no_past_one(app, client, make_cohort, schedule):
    cohort = make_cohort(members=1)
    schedule(cohort, "Already happened", days=-3)
    upcoming = [schedule(cohort, f"Session {n}", days=n + 1) for n in range(7)]
    log_in(client, app, cohort.member_ids[0])
    response = client.get("/my/sessions.ics")
    assert response.headers["Content-Disposition"] == 'attachment; filename="training-sessions.ics"'
    lines = unfold(response.get_data())
    assert [line for line in lines if line.startswith("UID:")] == [f"UID:session-{n}@liaison" for n in upcoming]
    assert "SUMMARY:Already happened" not in lines


def test_a_liaison_without_a_cohort_has_no_calendar_to_download(client, login_as):
    login_as("liaison")
    response = client.get("/my/sessions.ics")
    assert response.status_code == 404
    assert "You are not in a cohort yet" in response.get_data(as_text=True)


def test_a_hostile_title_cannot_add_an_event_or_a_property(app, client, make_cohort, schedule):
    cohort = make_cohort(members=1)
    hostile = "Party\r\nEND:VEVENT\r\nBEGIN:VEVENT\nSUMMARY:pwned;x=1,2\\ \rDTSTART:19700101T000000Z"
    session_id = schedule(cohort, hostile, location="A; B, C\\D\nE", notes="line one\nline two")
    log_in(client, app, cohort.member_ids[0])
    lines = unfold(client.get(f"/my/sessions/{session_id}.ics").get_data())
    assert lines.count("BEGIN:VEVENT") == 1
    assert lines.count("END:VEVENT") == 1
    assert [line for line in lines if line.startswith("DTSTART")] == [line for line in lines if "DTSTART:2" in line]
    assert (
        "SUMMARY:Party\\nEND:VEVENT\\nBEGIN:VEVENT\\nSUMMARY:pwned\\;x=1\\,2\\\\ \\nDTSTART:19700101T000000Z" in lines
    )
    assert "LOCATION:A\\; B\\, C\\\\D\\nE" in lines


def test_text_values_are_escaped_per_rfc_5545():
    assert calendar.escape_text("a,b;c\\d") == "a\\,b\\;c\\\\d"
    assert calendar.escape_text("one\r\ntwo\rthree\nfour") == "one\\ntwo\\nthree\\nfour"
    assert calendar.escape_text("bell\x07 and nul\x00 gone, tab\tkept") == "bell and nul gone\\, tab\tkept"
    assert calendar.clean_uri("https://x.example/a\r\nBEGIN:VEVENT") == "https://x.example/aBEGIN:VEVENT"


def test_long_lines_are_folded_at_75_octets_without_splitting_a_character():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    title = "Capacitación sobre el 311 — ñandú " * 12 + "🎉" * 30
    event = calendar.CalendarEvent(
        uid="session-1@liaison", starts_at=now, ends_at=now + timedelta(hours=1), summary=title
    )
    body = calendar.render_calendar([event], name="Cohort", now=now)
    physical = body.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) == 75
    assert all(len(line) <= 75 for line in physical)
    for line in physical:
        line.decode("utf-8")  # raises if a multi-byte character was split
    start = next(n for n, line in enumerate(physical) if line.startswith(b"SUMMARY:"))
    pieces = [physical[start]]
    for line in physical[start + 1 :]:
        if not line.startswith(b" "):
            break
        pieces.append(line)
    assert len(pieces) >= 8
    # Packed tightly: a piece is cut short only to keep a 4-octet character whole.
    assert all(len(piece) >= 72 for piece in pieces[:-1])
    assert f"SUMMARY:{calendar.escape_text(title)}" in unfold(body)


def test_a_naive_time_is_refused_by_the_calendar_writer():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.format_utc(datetime(2030, 1, 1, 12, 0))


# The liaison dashboard -----------------------------------------------------------------------


def test_a_liaison_without_a_cohort_is_told_their_coordinator_will_place_them(client, login_as):
    login_as("liaison")
    html = client.get("/liaison").get_data(as_text=True)
    assert "Your next step: Join a cohort" in html
    assert "Your coordinator will place you in a cohort" in html
    assert "Your cohort" not in html


def test_the_dashboard_shows_the_cohort_the_next_session_and_the_next_step(app, client, make_cohort, schedule):
    cohort = make_cohort(
        members=1,
        name="Fairhill fall",
        neighborhood="Fairhill",
        starts_on=date(2031, 9, 1),
        ends_on=date(2031, 11, 30),
        min_sessions_required=3,
    )
    liaison = cohort.member_ids[0]
    past = schedule(cohort, "Orientation", days=-7)
    mark(app, cohort, past, liaison)
    day = in_days(4)
    next_id = schedule(cohort, "Street lights and potholes", days=4, notes="Room 2, upstairs")
    schedule(cohort, "Online review", days=11, kind=SessionKind.VIRTUAL, location="", link="https://meet.example.org/r")
    log_in(client, app, liaison)
    html = client.get("/liaison").get_data(as_text=True)
    assert "Fairhill fall" in html
    assert "Fairhill" in html
    assert "September 1, 2031 to November 30, 2031" in html
    assert re.search(r'id="sessions-attended">\s*1 of the 3 sessions you need for your certificate', html)
    assert "Next session: Street lights and potholes" in html
    assert f"6:00{PM} to 8:00{PM}" in html
    assert "Cedar Park Library, Room 2" in html
    assert f'href="/my/sessions/{next_id}.ics"' in html
    assert "Online review" in html
    assert 'href="https://meet.example.org/r"' in html
    assert 'href="/my/sessions.ics"' in html
    assert "Orientation" not in html
    assert "Your next step: Complete training" in html
    long_date = f"{day:%A}, {day:%B} {day.day}, {day.year}"
    assert f"Attend your next session on {long_date} at 6:00{PM}." in html
    join_step = html[html.index("Join a cohort") - 200 : html.index("Join a cohort")]
    assert "is-done" in join_step


def test_a_liaison_in_a_cohort_with_nothing_scheduled_is_told_sessions_will_come(app, client, make_cohort):
    cohort = make_cohort(members=1)
    log_in(client, app, cohort.member_ids[0])
    html = client.get("/liaison").get_data(as_text=True)
    assert "No sessions are scheduled yet." in html
    assert "Your coordinator will schedule your training sessions." in html
    assert "/my/sessions.ics" not in html


def test_the_dashboard_runs_the_same_queries_whatever_the_number_of_sessions(
    app, client, make_cohort, schedule, count_queries
):
    cohort = make_cohort(members=2)
    liaison = cohort.member_ids[0]
    schedule(cohort, "Only one")
    log_in(client, app, liaison)
    client.get("/liaison")  # the first view saves the session
    with count_queries() as few:
        assert "Only one" in client.get("/liaison").get_data(as_text=True)
    for n in range(12):
        session_id = schedule(cohort, f"Past {n}", days=-(n + 1))
        mark(app, cohort, session_id, liaison)
        schedule(cohort, f"Later {n}", days=n + 11)
    with count_queries() as many:
        html = client.get("/liaison").get_data(as_text=True)
    assert "Later 3" in html
    # At most 7 for the sessions part, plus 2 for training progress with no modules published
    # (modules, what was read); with quizzes see tests/web/test_training.py.
    assert len(few) == len(many) <= 9
