"""Coordinators oversee training: a liaison's progress, accommodations, unlocking, item analysis, roster."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.enrollment.models import Membership
from liaison.errors import Conflict
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import QuestionKind, Quiz, QuizAccommodation, QuizAttempt

HTMX = {"HX-Request": "true"}


# Helpers -------------------------------------------------------------------------------------


def _coordinator() -> User:
    return db.session.scalar(select(User).where(User.role == Role.COORDINATOR).order_by(User.id).limit(1))


def make_module(
    app,
    title: str,
    *,
    questions: list[tuple[str, list[tuple[str, bool]]]] | None = None,
    required: bool = True,
    published: bool = True,
    **quiz_settings,
) -> tuple[int, int | None]:
    """A module (with a quiz of single-choice questions unless questions == []); (module id, quiz id)."""
    if questions is None:
        questions = [("Where do emergencies go?", [("911", True), ("311", False)])]
    with app.test_request_context():
        actor = _coordinator()
        module = training.create_module(
            actor,
            training.ModuleInput(
                title={"en": title, "es": f"{title} (es)"}, body={"en": "Read me."}, required=required
            ),
        )
        quiz_id = None
        if questions:
            quiz = training.save_quiz_settings(actor, module, training.QuizSettings(**quiz_settings))
            for prompt, choices in questions:
                training.add_question(
                    actor,
                    quiz,
                    training.QuestionInput(
                        kind=QuestionKind.SINGLE,
                        prompt={"en": prompt},
                        explanation={"en": f"Explained: {prompt}"},
                        choices=[training.ChoiceInput({"en": text}, correct) for text, correct in choices],
                    ),
                )
            quiz_id = quiz.id
        if published:
            training.set_module_published(actor, module, True)
        db.session.commit()
        return module.id, quiz_id


def take_quiz(app, user_id: int, quiz_id: int, picks: dict[str, str] | None = None, *, right: bool = False) -> int:
    """One submitted attempt choosing, per question prompt, the choice with that text (or all right/wrong)."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        quiz = db.session.get(Quiz, quiz_id)
        attempt = training.start_attempt(user, quiz, language="en")
        answers = {}
        for question in attempt.snapshot:
            if picks is not None:
                wanted = picks.get(question["prompt"])
                answers[question["key"]] = [c["key"] for c in question["choices"] if c["text"] == wanted]
            else:
                answers[question["key"]] = [c["key"] for c in question["choices"] if c["correct"] == right][:1]
        training.submit_attempt(user, attempt.id, answers)
        db.session.commit()
        return attempt.id


def mark_read(app, user_id: int, module_id: int) -> None:
    with app.test_request_context():
        training.mark_read(db.session.get(User, user_id), training.get_module(module_id))
        db.session.commit()


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events


def can_start(app, user_id: int, quiz_id: int) -> bool:
    with app.test_request_context():
        try:
            training.start_attempt(db.session.get(User, user_id), db.session.get(Quiz, quiz_id), language="en")
        except Conflict:
            return False
        finally:
            db.session.rollback()
        return True


def page_url(user_id: int) -> str:
    return f"/coordinator/training/liaisons/{user_id}"


def grant_url(user_id: int, quiz_id: int) -> str:
    return f"/coordinator/training/liaisons/{user_id}/quizzes/{quiz_id}/accommodation"


def unlock_url(user_id: int, quiz_id: int) -> str:
    return f"/coordinator/training/liaisons/{user_id}/quizzes/{quiz_id}/unlock"


def section(html: str, quiz_id: int) -> str:
    match = re.search(rf'<section[^>]*id="quiz-{quiz_id}".*?</section>', html, re.S)
    assert match, f"no section for quiz {quiz_id}"
    return match.group(0)


# A liaison's training page -------------------------------------------------------------------


def test_the_page_lists_every_published_module_with_state_attempts_and_best_score(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON, full_name="Rosa Liaison")
    passed_module, passed_quiz = make_module(app, "What 311 is")
    locked_module, locked_quiz = make_module(app, "Writing a request", attempts_allowed=1)
    reading, _ = make_module(app, "Safety", questions=[], required=False)
    make_module(app, "A draft module", published=False)
    mark_read(app, liaison.id, passed_module)
    take_quiz(app, liaison.id, passed_quiz, right=False)
    passing = take_quiz(app, liaison.id, passed_quiz, right=True)
    take_quiz(app, liaison.id, locked_quiz, right=False)

    response = client.get(page_url(liaison.id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Training of Rosa Liaison" in html
    assert "1 of 2 required modules complete" in html
    assert "A draft module" not in html
    first = section(html, passed_quiz)
    assert "Quiz passed" in first
    assert "2 of 3 used" in first
    assert "100 %" in first
    assert f"/coordinator/training/liaisons/{liaison.id}/attempts/{passing}" in first
    locked = section(html, locked_quiz)
    assert "Locked" in locked
    assert "1 of 1 used" in locked
    assert "Unlock" in locked
    assert "Unlock" not in first
    assert f'id="module-{reading}"' in html
    assert f"/coordinator/training/quizzes/{passed_quiz}/analysis" in first


def test_the_page_runs_the_same_queries_for_2_or_6_modules_with_attempts(
    app, client, login_as, make_user, count_queries
):
    login_as("coordinator")
    few, many = make_user(Role.LIAISON), make_user(Role.LIAISON)
    quizzes = [make_module(app, f"Module {n}", attempts_allowed=None)[1] for n in range(6)]
    for quiz_id in quizzes[:2]:
        take_quiz(app, few.id, quiz_id)
    for quiz_id in quizzes:
        for _ in range(7):
            take_quiz(app, many.id, quiz_id)
    client.get(page_url(few.id))  # the first page view after login also saves the session
    with count_queries() as few_queries:
        assert client.get(page_url(few.id)).status_code == 200
    with count_queries() as many_queries:
        html = client.get(page_url(many.id)).get_data(as_text=True)
    assert len(few_queries) == len(many_queries), many_queries
    # Only the newest five attempts of each quiz are listed.
    assert section(html, quizzes[0]).count("<tr>") == 1 + 5
    assert "Attempt 7" in html
    assert "Attempt 2" not in section(html, quizzes[0])


def test_a_user_who_is_not_a_liaison_is_404(app, client, login_as):
    coordinator = login_as("coordinator")
    _, quiz_id = make_module(app, "What 311 is")
    assert client.get(page_url(coordinator.id)).status_code == 404
    assert client.get(page_url(999_999)).status_code == 404
    assert client.post(grant_url(coordinator.id, quiz_id), data={"extra_attempts": "1"}).status_code == 404
    assert client.post(unlock_url(coordinator.id, quiz_id)).status_code == 404
    assert audit(app, "quiz.accommodation_granted") == []


def test_liaisons_get_403_on_every_oversight_page(app, client, login_as, make_user):
    other = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1)
    attempt = take_quiz(app, other.id, quiz_id)
    login_as("liaison")
    assert client.get(page_url(other.id)).status_code == 403
    assert client.get(f"{page_url(other.id)}/attempts/{attempt}").status_code == 403
    assert client.get(f"/coordinator/training/quizzes/{quiz_id}/analysis").status_code == 403
    assert client.post(grant_url(other.id, quiz_id), data={"extra_attempts": "3"}).status_code == 403
    assert client.post(unlock_url(other.id, quiz_id)).status_code == 403
    assert not can_start(app, other.id, quiz_id)
    assert audit(app, "quiz.accommodation_granted") == []


def test_every_coordinator_may_oversee_every_liaison(app, client, login_as, make_user):
    cohort_coordinator = make_user(Role.COORDINATOR)
    liaison = make_user(Role.LIAISON, full_name="Tomas Liaison")
    with app.test_request_context():
        cohort = enrollment.create_cohort(
            db.session.get(User, cohort_coordinator.id), enrollment.CohortInput(name="North", capacity=5)
        )
        db.session.add(Membership(cohort_id=cohort.id, user_id=liaison.id))
        db.session.commit()
        cohort_id = cohort.id
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1)
    take_quiz(app, liaison.id, quiz_id)
    other = login_as("coordinator")  # not a coordinator of the liaison's cohort
    html = client.get(page_url(liaison.id)).get_data(as_text=True)
    assert "Training of Tomas Liaison" in html
    assert f"/coordinator/cohorts/{cohort_id}" in html  # back to the liaison's roster
    assert "Locked" in section(html, quiz_id)
    assert client.post(unlock_url(liaison.id, quiz_id)).status_code == 302
    [event] = audit(app, "quiz.accommodation_granted")
    assert event.actor_id == other.id


# Accommodations ------------------------------------------------------------------------------


def test_granting_extra_attempts_unlocks_a_locked_liaison_who_can_start_again(app, client, login_as, make_user):
    coordinator = login_as("coordinator")
    liaison = make_user(Role.LIAISON, full_name="Ana Liaison")
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=2)
    take_quiz(app, liaison.id, quiz_id)
    take_quiz(app, liaison.id, quiz_id)
    assert not can_start(app, liaison.id, quiz_id)

    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "2", "extra_minutes": ""})
    assert response.status_code == 302
    assert response.location.endswith(f"{page_url(liaison.id)}#quiz-{quiz_id}")
    html = client.get(response.location).get_data(as_text=True)
    assert "Ana Liaison can take the quiz of What 311 is 2 more times." in html
    assert "2 of 4 used" in section(html, quiz_id)
    assert "includes 2 extra" in section(html, quiz_id)
    assert can_start(app, liaison.id, quiz_id)
    [event] = audit(app, "quiz.accommodation_granted")
    assert (event.actor_id, event.subject_type, event.subject_id) == (coordinator.id, "quiz", str(quiz_id))
    assert event.details == {"user_id": liaison.id, "extra_attempts": 2, "extra_minutes": 0}


def test_an_htmx_grant_swaps_only_the_quizs_section(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1)
    take_quiz(app, liaison.id, quiz_id)
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "1"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<section class="liaison-oversight-module" id="quiz-{quiz_id}"')
    assert "<html" not in html
    assert "1 more time." in html
    assert "Locked" not in html
    assert "1 of 2 used" in html


def test_extra_minutes_extend_the_next_attempts_deadline(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", time_limit_minutes=10, attempts_allowed=None)
    html = client.get(page_url(liaison.id)).get_data(as_text=True)
    assert f'id="quiz-{quiz_id}-extra-minutes"' in html
    assert f'id="quiz-{quiz_id}-extra-attempts"' not in html, "unlimited attempts: nothing to grant"
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_minutes": "15"})
    assert response.status_code == 302
    assert "10 minutes" in section(client.get(page_url(liaison.id)).get_data(as_text=True), quiz_id)
    with app.test_request_context():
        now = utcnow()
        attempt = training.start_attempt(
            db.session.get(User, liaison.id), db.session.get(Quiz, quiz_id), language="en", now=now
        )
        assert attempt.deadline_at - now == timedelta(minutes=25)
        db.session.rollback()
    [event] = audit(app, "quiz.accommodation_granted")
    assert event.details["extra_minutes"] == 15


def test_an_invalid_grant_comes_back_with_what_was_typed_and_changes_nothing(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1, time_limit_minutes=5)
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "", "extra_minutes": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give at least one extra attempt or one extra minute." in html
    assert "<html" in html, "without JavaScript the whole page comes back"
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "500", "extra_minutes": "7"})
    html = section(response.get_data(as_text=True), quiz_id)
    assert response.status_code == 422
    assert "Give from 0 to 20 extra attempts." in html
    assert 'value="500"' in html
    assert 'value="7"' in html
    assert 'aria-invalid="true"' in html
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "-1"}, headers=HTMX)
    assert response.status_code == 422
    assert response.get_data(as_text=True).lstrip().startswith("<section")
    assert audit(app, "quiz.accommodation_granted") == []
    with app.app_context():
        assert db.session.get(QuizAccommodation, (quiz_id, liaison.id)) is None


def test_unlock_works_only_when_the_quiz_is_locked(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON, full_name="Lee Liaison")
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1)

    response = client.post(unlock_url(liaison.id, quiz_id), follow_redirects=True)
    assert "This quiz is not locked for this liaison." in response.get_data(as_text=True)
    response = client.post(unlock_url(liaison.id, quiz_id), headers=HTMX)
    assert response.status_code == 409
    assert "This quiz is not locked for this liaison." in response.get_data(as_text=True)
    assert audit(app, "quiz.accommodation_granted") == []

    take_quiz(app, liaison.id, quiz_id)
    assert not can_start(app, liaison.id, quiz_id)
    response = client.post(unlock_url(liaison.id, quiz_id), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "What 311 is is unlocked: Lee Liaison can take its quiz once more." in html
    assert "1 of 2 used" in html
    assert "Unlock" not in html
    assert can_start(app, liaison.id, quiz_id)
    [event] = audit(app, "quiz.accommodation_granted")
    assert event.details == {"user_id": liaison.id, "extra_attempts": 1, "extra_minutes": 0}


def test_grants_and_unlocks_check_the_csrf_token(app_config, app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=1)
    take_quiz(app, liaison.id, quiz_id)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_attempts": "4"})
    assert response.status_code == 422
    assert 'value="4"' in response.get_data(as_text=True)
    assert client.post(unlock_url(liaison.id, quiz_id), headers=HTMX).status_code == 400
    assert audit(app, "quiz.accommodation_granted") == []


# Viewing an attempt --------------------------------------------------------------------------


def test_a_submitted_attempt_shows_what_the_liaison_chose_what_was_right_and_why(app, client, login_as, make_user):
    login_as("coordinator")
    liaison, other = make_user(Role.LIAISON), make_user(Role.LIAISON)
    _, quiz_id = make_module(
        app,
        "What 311 is",
        questions=[
            ("Where do emergencies go?", [("911", True), ("311", False)]),
            ("What does 311 take?", [("Potholes", True), ("Fires", False)]),
        ],
    )
    attempt = take_quiz(
        app, liaison.id, quiz_id, {"Where do emergencies go?": "311", "What does 311 take?": "Potholes"}
    )
    response = client.get(f"{page_url(liaison.id)}/attempts/{attempt}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not passed" in html
    assert "Score: 50 % (1 of 2 right). The pass mark is 80 %." in html
    emergencies = re.search(r"Where do emergencies go\?.*?</ul>", html, re.S).group(0)
    chosen = re.findall(r'<li class="liaison-result__choice is-chosen">\s*<span>(.*?)</span>', emergencies)
    correct = re.findall(r'<li class="liaison-result__choice[^"]*is-correct">\s*<span>(.*?)</span>', emergencies)
    assert (chosen, correct) == (["311"], ["911"])
    assert "Their answer" in emergencies
    assert "Correct answer" in emergencies
    assert "Explained: Where do emergencies go?" in html
    # The attempt belongs to `liaison`: under another liaison's id it does not exist.
    assert client.get(f"{page_url(other.id)}/attempts/{attempt}").status_code == 404
    assert client.get(f"{page_url(liaison.id)}/attempts/999999").status_code == 404


def test_an_open_attempt_has_no_result_yet(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON, full_name="Open Liaison")
    _, quiz_id = make_module(app, "What 311 is")
    with app.test_request_context():
        attempt = training.start_attempt(db.session.get(User, liaison.id), db.session.get(Quiz, quiz_id), language="en")
        db.session.commit()
        attempt_id = attempt.id
    html = client.get(f"{page_url(liaison.id)}/attempts/{attempt_id}").get_data(as_text=True)
    assert "This attempt is still open" in html
    # Nothing of the open attempt: neither its questions nor their explanations.
    assert "Where do emergencies go?" not in html
    assert "Explained" not in html
    listing = section(client.get(page_url(liaison.id)).get_data(as_text=True), quiz_id)
    assert "In progress" in listing
    assert f"/attempts/{attempt_id}" not in listing


# Item analysis -------------------------------------------------------------------------------

ANALYSIS_QUESTIONS = [
    ("Where do emergencies go?", [("911", True), ("311", False), ("A council office", False)]),
    ("What makes a request actionable?", [("An exact location", True), ("A long story", False), ("Anger", False)]),
    ("Is graffiti removal a 311 service?", [("Yes", True), ("No", False)]),
]


def test_item_analysis_shows_percent_right_and_the_most_chosen_wrong_answer_most_missed_first(
    app, client, login_as, make_user
):
    login_as("coordinator")
    _, quiz_id = make_module(app, "What 311 is", questions=ANALYSIS_QUESTIONS, attempts_allowed=None, pass_mark=60)
    emergencies, actionable, graffiti = (q[0] for q in ANALYSIS_QUESTIONS)
    liaisons = [make_user(Role.LIAISON) for _ in range(4)]
    # emergencies: 3 of 4 right; actionable: 1 of 4 ("A long story" twice, "Anger" once); graffiti: 4 of 4.
    answers = [
        {emergencies: "911", actionable: "An exact location", graffiti: "Yes"},  # 100 %: passed
        {emergencies: "911", actionable: "A long story", graffiti: "Yes"},  # 66 %: passed
        {emergencies: "311", actionable: "A long story", graffiti: "Yes"},  # 33 %
        {emergencies: "911", actionable: "Anger", graffiti: "Yes"},  # 66 %: passed
    ]
    for liaison, picks in zip(liaisons, answers, strict=True):
        take_quiz(app, liaison.id, quiz_id, picks)
    with app.test_request_context():  # an open attempt is not counted
        training.start_attempt(db.session.get(User, liaisons[0].id), db.session.get(Quiz, quiz_id), language="en")
        db.session.commit()

    response = client.get(f"/coordinator/training/quizzes/{quiz_id}/analysis")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    facts = re.sub(r"\s+", " ", re.search(r'<dl class="liaison-facts">.*?</dl>', html, re.S).group(0))
    assert "<dt>Attempts sent</dt><dd>4</dd>" in facts
    assert "<dt>Passed</dt><dd>3 (75 %)</dd>" in facts
    rows = re.findall(r"<tr>\s*<th scope=\"row\"[^>]*>(.*?)</th>(.*?)</tr>", html, re.S)
    assert [prompt for prompt, _cells in rows] == [actionable, emergencies, graffiti]
    cells = {prompt: re.sub(r"\s+", " ", re.sub(r"<svg.*?</svg>", "", body, flags=re.S)) for prompt, body in rows}
    assert "25 %" in cells[actionable]
    assert 'A long story <span class="usa-hint">(chosen 2 times)</span>' in cells[actionable]
    assert "75 %" in cells[emergencies]
    assert '311 <span class="usa-hint">(chosen 1 time)</span>' in cells[emergencies]
    assert "100 %" in cells[graffiti]
    assert "—" in cells[graffiti]
    bars = re.findall(r'<rect class="liaison-bar__value[^"]*" width="(\d+)"', html)
    assert bars == ["25", "75", "100"]
    assert 'aria-hidden="true"' in re.search(r"<svg[^>]*>", html).group(0)


def test_item_analysis_of_a_quiz_nobody_took_says_so_and_unknown_quizzes_are_404(app, client, login_as):
    login_as("coordinator")
    _, quiz_id = make_module(app, "What 311 is")
    html = client.get(f"/coordinator/training/quizzes/{quiz_id}/analysis").get_data(as_text=True)
    assert "Nobody has sent an attempt at this quiz yet." in html
    assert client.get("/coordinator/training/quizzes/999999/analysis").status_code == 404


# The cohort roster's training column ---------------------------------------------------------


def _roster_with_progress(app, make_user) -> tuple[int, int, int]:
    with app.test_request_context():
        cohort = enrollment.create_cohort(_coordinator(), enrollment.CohortInput(name="Cedar Park", capacity=10))
        db.session.commit()
        cohort_id = cohort.id
    ahead = make_user(Role.LIAISON, full_name="Ahead Liaison")
    behind = make_user(Role.LIAISON, full_name="Behind Liaison")
    with app.app_context():
        db.session.add_all(
            [Membership(cohort_id=cohort_id, user_id=ahead.id), Membership(cohort_id=cohort_id, user_id=behind.id)]
        )
        db.session.commit()
    first, first_quiz = make_module(app, "What 311 is")
    second, _ = make_module(app, "Safety", questions=[])
    make_module(app, "Writing a request")
    optional, optional_quiz = make_module(app, "Extra reading", required=False)
    for module_id, quiz_id in ((first, first_quiz), (second, None), (optional, optional_quiz)):
        mark_read(app, ahead.id, module_id)
        if quiz_id:
            take_quiz(app, ahead.id, quiz_id, right=True)
    return cohort_id, ahead.id, behind.id


def test_the_roster_shows_each_liaisons_required_training_and_links_to_it(app, client, login_as, make_user):
    login_as("coordinator")
    cohort_id, ahead, behind = _roster_with_progress(app, make_user)
    html = client.get(f"/coordinator/cohorts/{cohort_id}").get_data(as_text=True)
    header = re.findall(r'<th scope="col">(.*?)</th>', html)
    assert header.index("Training") == header.index("Sessions attended") + 1 == header.index("Status") - 1

    def training_cell(user_id: int) -> str:
        row = re.search(
            rf'<tr id="member-\d+">\s*<th[^>]*><a href="/coordinator/training/liaisons/{user_id}">.*?</tr>', html, re.S
        )
        assert row, f"no roster row linking to liaison {user_id}"
        return re.sub(r"\s+", " ", re.search(r'data-label="Training"[^>]*>(.*?)</td>', row.group(0), re.S).group(1))

    assert training_cell(ahead).startswith("2 of 3 required modules")
    assert '<rect class="liaison-progress__done" width="2"' in training_cell(ahead)
    assert training_cell(behind).startswith("0 of 3 required modules")


def test_roster_exports_carry_training_complete_as_done_of_required(app, client, login_as, make_user):
    login_as("coordinator")
    cohort_id, _ahead, _behind = _roster_with_progress(app, make_user)
    response = client.get(f"/coordinator/cohorts/{cohort_id}/roster.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    column = rows[0].index("Training complete")
    assert rows[0][column - 1 : column + 2] == ["Sessions attended", "Training complete", "Status"]
    # Words, not "2/3", which spreadsheet programs turn into a date.
    assert {row[0]: row[column] for row in rows[1:]} == {"Ahead Liaison": "2 of 3", "Behind Liaison": "0 of 3"}


def test_an_attempt_page_shows_the_quiz_as_it_was_taken_even_after_an_edit(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    module_id, quiz_id = make_module(app, "What 311 is")
    attempt_id = take_quiz(app, liaison.id, quiz_id, right=True)
    with app.test_request_context():
        quiz = db.session.get(Quiz, quiz_id)
        question = quiz.questions[0]
        training.update_question(
            _coordinator(),
            question,
            training.QuestionInput(
                kind=QuestionKind.SINGLE,
                prompt={"en": "Changed prompt"},
                explanation={"en": "Changed"},
                choices=[training.ChoiceInput({"en": "911"}), training.ChoiceInput({"en": "311"}, True)],
            ),
        )
        db.session.commit()
        assert db.session.get(QuizAttempt, attempt_id).score == 100
    html = client.get(f"{page_url(liaison.id)}/attempts/{attempt_id}").get_data(as_text=True)
    assert "Where do emergencies go?" in html
    assert "Changed prompt" not in html
    assert "Passed" in html


def test_a_refusal_about_a_field_the_quiz_does_not_show_appears_above_the_form(app, client, login_as, make_user):
    login_as("coordinator")
    liaison = make_user(Role.LIAISON)
    _, quiz_id = make_module(app, "What 311 is", attempts_allowed=None, time_limit_minutes=5)
    response = client.post(grant_url(liaison.id, quiz_id), data={"extra_minutes": ""}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="quiz-{quiz_id}-extra-attempts"' not in html
    alert = re.search(r'<div class="usa-alert usa-alert--error[^"]*" role="alert">.*?</div>\s*</div>', html, re.S)
    assert alert
    assert "Give at least one extra attempt or one extra minute." in alert.group(0)
    assert '<details class="liaison-oversight-grant" open>' in html


def test_the_roster_counts_only_the_people_its_search_and_filters_match(app, client, login_as, make_user):
    me = login_as("coordinator")
    cohort_id, ahead, behind = _roster_with_progress(app, make_user)
    with app.test_request_context():
        membership = db.session.scalar(select(Membership).where(Membership.user_id == behind))
        enrollment.withdraw_member(db.session.get(User, me.id), membership, "Moved away")
        db.session.commit()
    assert "1 person" in client.get(f"/coordinator/cohorts/{cohort_id}").get_data(as_text=True)
    assert "2 people" in client.get(f"/coordinator/cohorts/{cohort_id}?ended=y").get_data(as_text=True)
    assert "1 person" in client.get(f"/coordinator/cohorts/{cohort_id}?ended=y&q=behind").get_data(as_text=True)
    assert "0 people" in client.get(f"/coordinator/cohorts/{cohort_id}?q=nobody").get_data(as_text=True)


def test_item_analysis_runs_the_same_queries_for_2_or_5_questions_and_any_number_of_attempts(
    app, client, login_as, make_user, count_queries
):
    login_as("coordinator")
    small = make_module(app, "Small quiz", questions=ANALYSIS_QUESTIONS[:2], attempts_allowed=None)[1]
    large = make_module(app, "Large quiz", questions=(ANALYSIS_QUESTIONS * 2)[:5], attempts_allowed=None)[1]
    liaison = make_user(Role.LIAISON)
    take_quiz(app, liaison.id, small)
    for _ in range(6):
        take_quiz(app, liaison.id, large)
    client.get(f"/coordinator/training/quizzes/{small}/analysis")  # the first page view after login saves the session
    with count_queries() as small_queries:
        assert client.get(f"/coordinator/training/quizzes/{small}/analysis").status_code == 200
    with count_queries() as large_queries:
        html = client.get(f"/coordinator/training/quizzes/{large}/analysis").get_data(as_text=True)
    assert "<dt>Attempts sent</dt><dd>6</dd>" in re.sub(r"\s+", " ", html).replace("> <", "><")
    assert len(small_queries) == len(large_queries), large_queries
