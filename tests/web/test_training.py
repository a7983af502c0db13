"""A liaison trains: the module list, reading, quizzes (never with answers in the page),
results with explanations, retakes up to the limit, time limits, Spanish, the dashboard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from liaison.auth.models import Role, User
from liaison.db_types import utcnow
from liaison.enrollment import services as enrollment
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import AttemptStatus, QuestionKind, QuizAttempt

# Test data, made through the same services the app uses ------------------------------------


@dataclass
class Made:
    module_id: int
    quiz_id: int | None


def texts(en: str, es: str = "") -> dict[str, str]:
    return {"en": en, "es": es} if es else {"en": en}


def question_input(number: int, kind: QuestionKind = QuestionKind.SINGLE) -> training.QuestionInput:
    """Question `number`: its texts are unique, so a test can look for each one in a page."""
    if kind is QuestionKind.TRUE_FALSE:
        choices = [
            training.ChoiceInput(texts(f"Yes-{number}", f"Sí-{number}"), True),
            training.ChoiceInput(texts(f"No-{number}", f"No-es-{number}")),
        ]
    elif kind is QuestionKind.MULTIPLE:
        choices = [
            training.ChoiceInput(texts(f"Apple-{number}", f"Manzana-{number}"), True),
            training.ChoiceInput(texts(f"Banana-{number}", f"Plátano-{number}"), True),
            training.ChoiceInput(texts(f"Cherry-{number}", f"Cereza-{number}")),
        ]
    else:
        choices = [
            training.ChoiceInput(texts(f"Alpha-{number}", f"Alfa-{number}"), True),
            training.ChoiceInput(texts(f"Beta-{number}", f"Beta-es-{number}")),
            training.ChoiceInput(texts(f"Gamma-{number}", f"Gama-{number}")),
        ]
    return training.QuestionInput(
        kind=kind,
        prompt=texts(f"Prompt number {number}?", f"¿Pregunta número {number}?"),
        explanation=texts(f"Explanation number {number}.", f"Explicación número {number}."),
        choices=choices,
    )


@pytest.fixture
def coordinator(make_user) -> User:
    return make_user(Role.COORDINATOR, full_name="Rosa Coordinator")


@pytest.fixture
def make_module(app, coordinator):
    """A module (published by default) with a quiz of `kinds` questions, or none (kinds=None)."""

    def make(
        title: str = "What 311 is",
        *,
        kinds: tuple[QuestionKind, ...] | None = (QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.TRUE_FALSE),
        publish: bool = True,
        required: bool = True,
        body: str = "## Call 311\n\nFor **city services**.",
        summary: str = "",
        **quiz_settings,
    ) -> Made:
        with app.test_request_context():
            actor = db.session.get(User, coordinator.id)
            module = training.create_module(
                actor,
                training.ModuleInput(
                    title=texts(title, f"{title} (ES)"),
                    summary=texts(summary) if summary else {},
                    body=texts(body, "## Llame al 311"),
                    required=required,
                    estimated_minutes=12,
                ),
            )
            quiz_id = None
            if kinds is not None:
                quiz_settings.setdefault("shuffle_questions", False)
                quiz_settings.setdefault("shuffle_choices", False)
                quiz = training.save_quiz_settings(actor, module, training.QuizSettings(**quiz_settings))
                for number, kind in enumerate(kinds, start=1):
                    training.add_question(actor, quiz, question_input(number, kind))
                quiz_id = quiz.id
            if publish:
                training.set_module_published(actor, module, True)
            db.session.commit()
            return Made(module.id, quiz_id)

    return make


def snapshot_of(app, attempt_id: int) -> list[dict]:
    with app.app_context():
        return db.session.get(QuizAttempt, attempt_id).snapshot


def answers(snapshot: list[dict], *, wrong: set[int] = frozenset(), blank: set[int] = frozenset()) -> dict:
    """Form data answering every question right, except those numbered in `wrong` or `blank`."""
    data: dict[str, list[str]] = {}
    for number, question in enumerate(snapshot, start=1):
        if number in blank:
            continue
        right = [c["key"] for c in question["choices"] if c["correct"]]
        others = [c["key"] for c in question["choices"] if not c["correct"]]
        data[question["key"]] = others[:1] if number in wrong else right
    return data


def start(client, made: Made) -> int:
    response = client.post(f"/training/modules/{made.module_id}/quiz/start")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.fullmatch(r"/training/attempts/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def take(client, app, made: Made, **which) -> int:
    attempt_id = start(client, made)
    response = client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot_of(app, attempt_id), **which))
    assert response.status_code == 302
    assert response.location == f"/training/attempts/{attempt_id}/result"
    return attempt_id


def read(client, made: Made) -> None:
    assert client.post(f"/training/modules/{made.module_id}/read").status_code == 302


def item_html(html: str, module_id: int) -> str:
    """The list item of one module on the training page."""
    match = re.search(rf'<li class="liaison-module[^"]*" id="module-{module_id}".*?</li>', html, re.S)
    assert match, f"module {module_id} is not listed"
    return match.group(0)


def put_in_cohort(app, coordinator: User, liaison: User, coordinator_names: list[str]) -> None:
    """Place the liaison in a cohort run by the coordinator and colleagues with these names."""
    with app.test_request_context():
        actor = db.session.get(User, coordinator.id)
        ids = [coordinator.id]
        for name in coordinator_names:
            colleague = User(email=f"{name.split()[0].lower()}@city.example", full_name=name, role=Role.COORDINATOR)
            db.session.add(colleague)
            db.session.flush()
            ids.append(colleague.id)
        cohort = enrollment.create_cohort(
            actor, enrollment.CohortInput(name="Cedar Park", capacity=10, coordinator_ids=ids)
        )
        application = enrollment.submit_application(
            enrollment.ApplicationInput(full_name=liaison.full_name, email=liaison.email, consent=True), notify=False
        )
        enrollment.approve_application(actor, application, cohort.id)
        db.session.commit()


# The training page ----------------------------------------------------------------------------


def test_the_training_page_lists_published_modules_in_order_with_their_state(client, login_as, app, make_module):
    login_as("liaison")
    was_read = make_module("Reading first", summary="Start here.")
    passed = make_module("Passed one")
    untouched = make_module("Not yet")
    locked = make_module("Locked one", attempts_allowed=1)
    optional = make_module("Extra reading", kinds=None, required=False)
    make_module("Secret draft", publish=False)
    read(client, was_read)
    read(client, passed)
    take(client, app, passed)
    take(client, app, locked, wrong={1})

    html = client.get("/training/").get_data(as_text=True)
    assert "Secret draft" not in html
    titles = re.findall(r'<h3 class="liaison-module__title">\s*<a href="[^"]+">([^<]+)</a>', html)
    assert titles == ["Reading first", "Passed one", "Not yet", "Locked one", "Extra reading"]
    assert 'data-state="read"' in item_html(html, was_read.module_id)
    assert "Quiz passed" in item_html(html, passed.module_id)
    assert "Best score 100%" in item_html(html, passed.module_id)
    assert "Not started" in item_html(html, untouched.module_id)
    assert "Locked" in item_html(html, locked.module_id)
    assert "Optional" in item_html(html, optional.module_id)
    assert "Required" in item_html(html, untouched.module_id)
    assert "about 12 minutes" in item_html(html, untouched.module_id)
    assert "1 of 4 required modules complete" in html
    assert re.search(r'<progress [^>]*max="4" value="1"', html)


def test_the_next_module_to_do_is_highlighted_with_one_primary_action(client, login_as, make_module):
    login_as("liaison")
    first = make_module("First")
    second = make_module("Second")
    read(client, first)
    html = client.get("/training/").get_data(as_text=True)
    assert 'aria-current="step"' in item_html(html, first.module_id)
    assert 'aria-current="step"' not in item_html(html, second.module_id)
    assert "Next: First" in html
    assert re.search(
        rf'class="usa-button" id="next-module-action" href="/training/modules/{first.module_id}#module-actions"[^>]*>\s*Take the quiz',
        html,
    )


def test_a_liaison_with_nothing_published_is_told_modules_will_come(client, login_as, make_module):
    login_as("liaison")
    make_module("Draft only", publish=False)
    html = client.get("/training/").get_data(as_text=True)
    assert "Training modules will appear here as soon as your coordinator publishes them." in html
    assert "<progress" not in html


def test_the_training_page_runs_the_same_queries_for_3_or_10_modules(client, login_as, app, make_module, count_queries):
    login_as("liaison")
    made = [make_module(f"Module {n}") for n in range(3)]
    read(client, made[0])
    take(client, app, made[0])
    client.get("/training/")  # warm up
    with count_queries() as few:
        assert client.get("/training/").status_code == 200
    for n in range(3, 10):
        made.append(make_module(f"Module {n}", kinds=None if n % 2 else (QuestionKind.SINGLE,)))
        read(client, made[-1])
    client.get("/training/")  # shows (and so removes) the flashed "marked as read" messages
    with count_queries() as many:
        html = client.get("/training/").get_data(as_text=True)
    assert "Module 9" in html
    # Session, user, then progress: modules, quizzes, reads, attempts, extra attempts.
    assert len(few) == len(many) <= 7, "\n".join(many)


# Reading a module -----------------------------------------------------------------------------


def test_a_module_page_shows_the_rendered_body_inside_an_htmx_disabled_element(client, login_as, make_module):
    login_as("liaison")
    made = make_module(
        "Safety", body='## Stay safe\n\n<script>alert(1)</script> [link](javascript:alert(1)) <a hx-get="/x">x</a>'
    )
    html = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    body = re.search(r'<div class="usa-prose liaison-module-body" hx-disable>(.*?)</div>', html, re.S)
    assert body, "the module body is not inside a usa-prose element with hx-disable"
    assert "<h2>Stay safe</h2>" in body.group(1)
    assert "<script>" not in body.group(1)
    assert 'href="javascript' not in body.group(1)
    assert "<a hx-get" not in body.group(1)
    assert "Mark as read" in html
    assert "Start the quiz" not in html


def test_marking_read_without_javascript_returns_to_the_module_with_the_quiz_to_take(client, login_as, make_module):
    login_as("liaison")
    made = make_module(attempts_allowed=3, pass_mark=80)
    response = client.post(f"/training/modules/{made.module_id}/read")
    assert response.status_code == 302
    assert response.location == f"/training/modules/{made.module_id}#module-actions"
    html = client.get(response.location).get_data(as_text=True)
    assert "You marked this module as read." in html
    assert "Read ✓ — take the quiz" in html
    assert "Pass mark: 80%" in html
    assert "3 attempts left" in html
    assert "3 questions" in html
    assert re.search(r'id="start-quiz"[^>]*>\s*Start the quiz', html)
    assert 'id="mark-read"' not in html


def test_marking_read_with_htmx_swaps_just_the_action_area(client, login_as, make_module):
    login_as("liaison")
    made = make_module()
    response = client.post(f"/training/modules/{made.module_id}/read", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert "Read ✓ — take the quiz" in html
    assert re.search(r'id="start-quiz" autofocus', html)
    # The page includes the same partial, so the full page shows the same thing.
    page = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert '<div id="module-actions" aria-live="polite">' in page
    assert "Read ✓ — take the quiz" in page


def test_marking_read_twice_changes_nothing(client, login_as, app, make_module):
    user = login_as("liaison")
    made = make_module()
    read(client, made)
    read(client, made)
    with app.app_context():
        progress = training.progress_for(db.session.get(User, user.id))
    assert progress.modules[0].read


def test_a_module_without_a_quiz_is_complete_once_read(client, login_as, make_module):
    login_as("liaison")
    made = make_module("Conduct", kinds=None)
    following = make_module("Afterwards")
    read(client, made)
    html = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert "Read ✓ — this module is complete." in html
    assert f'id="next-module" href="/training/modules/{following.module_id}"' in html
    assert client.post(f"/training/modules/{made.module_id}/quiz/start").status_code == 404
    assert "Complete" in item_html(client.get("/training/").get_data(as_text=True), made.module_id)


def test_drafts_are_not_found_for_liaisons(client, login_as, make_module):
    login_as("liaison")
    draft = make_module("Unfinished", publish=False)
    assert client.get(f"/training/modules/{draft.module_id}").status_code == 404
    assert client.post(f"/training/modules/{draft.module_id}/read").status_code == 404
    assert client.post(f"/training/modules/{draft.module_id}/quiz/start").status_code == 404
    assert client.get("/training/modules/999999").status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_cannot_open_the_liaison_training_pages(client, login_as, make_module, role):
    made = make_module()
    login_as(role)
    assert client.get("/training/").status_code == 403
    assert client.get(f"/training/modules/{made.module_id}").status_code == 403
    assert client.post(f"/training/modules/{made.module_id}/quiz/start").status_code == 403


# Taking a quiz --------------------------------------------------------------------------------


def test_starting_twice_or_in_two_tabs_resumes_the_same_attempt(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module()
    read(client, made)
    first = start(client, made)
    assert start(client, made) == first
    html = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert re.search(r'id="start-quiz"[^>]*>\s*Continue the quiz', html)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 1


def test_the_quiz_page_asks_each_question_in_a_fieldset_with_the_right_kind_of_input(
    client, login_as, app, make_module
):
    login_as("liaison")
    made = make_module()
    attempt_id = start(client, made)
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    snapshot = snapshot_of(app, attempt_id)
    for question in snapshot:
        fieldset = re.search(rf'<fieldset[^>]* id="{question["key"]}".*?</fieldset>', html, re.S)
        assert fieldset, question["key"]
        assert "<legend" in fieldset.group(0)
        assert question["prompt"] in fieldset.group(0)
        kind = "checkbox" if question["kind"] == "multiple" else "radio"
        for choice in question["choices"]:
            assert re.search(
                rf'<input[^>]* type="{kind}" id="{question["key"]}-{choice["key"]}" name="{question["key"]}" value="{choice["key"]}"',
                fieldset.group(0),
            )
            assert choice["text"] in fieldset.group(0)
    assert "Select all that apply." in html
    assert "Attempt 1 of 3" in html
    assert 'id="quiz-timer"' not in html


def test_the_quiz_page_contains_no_correct_answers_and_no_explanations(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module()
    attempt_id = start(client, made)
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    snapshot = snapshot_of(app, attempt_id)
    form = re.search(r'<form class="usa-form usa-form--large liaison-quiz".*?</form>', html, re.S).group(0)
    assert "correct" not in html.lower()
    for question in snapshot:
        assert question["explanation"] not in html
        # The markup of a correct choice differs from a wrong one only by its key.
        shapes = set()
        for choice in question["choices"]:
            tag = re.search(
                rf'<div class="usa-(?:radio|checkbox)">\s*<input[^>]*value="{choice["key"]}"[^>]*>\s*<label[^>]*>', form
            )
            assert tag, choice["key"]
            shapes.add(tag.group(0).replace(choice["key"], "KEY"))
        assert len(shapes) == 1, shapes


def test_submitting_grades_and_the_result_explains_each_question(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module(pass_mark=100)
    attempt_id = take(client, app, made, wrong={2}, blank={3})
    html = client.get(f"/training/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Not passed this time" in html
    assert "Your score: 33% (1 of 3 right). The pass mark is 100%." in html
    snapshot = snapshot_of(app, attempt_id)
    right, wrong, blank = (
        re.search(
            rf'<li class="liaison-result [^"]*" id="result-{q["key"]}".*?</li>\s*</ul>.*?</li>', html, re.S
        ).group(0)
        for q in snapshot
    )
    assert 'data-right="true"' in right
    assert "Prompt number 1?" in right
    assert "Explanation number 1." in right
    assert 'data-right="false"' in wrong
    assert ">Wrong<" in wrong
    # They chose Cherry-2 (wrong); the correct choices were Apple-2 and Banana-2.
    assert re.search(r"Cherry-2</span>\s*<strong[^>]*>Your answer</strong>", wrong)
    assert re.search(r"Apple-2</span>\s*<strong[^>]*>Correct answer</strong>", wrong)
    assert re.search(r"Banana-2</span>\s*<strong[^>]*>Correct answer</strong>", wrong)
    assert "Explanation number 2." in wrong
    assert "Not answered" in blank
    assert "Your answer" not in blank
    assert "Explanation number 3." in blank
    assert re.search(r'id="retake-quiz"[^>]*>Retake the quiz', html)
    assert "2 attempts left" in html


def test_a_passed_quiz_offers_the_next_module_and_no_retake(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module("First")
    following = make_module("Second")
    read(client, made)
    attempt_id = take(client, app, made)
    html = client.get(f"/training/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "You passed" in html
    assert "Retake" not in html
    assert f'id="next-module" href="/training/modules/{following.module_id}"' in html
    assert "Quiz passed" in item_html(client.get("/training/").get_data(as_text=True), made.module_id)


def test_a_double_submit_grades_once_and_shows_the_same_result(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module()
    attempt_id = start(client, made)
    snapshot = snapshot_of(app, attempt_id)
    first = client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot))
    second = client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot, wrong={1, 2, 3}))
    assert first.location == second.location == f"/training/attempts/{attempt_id}/result"
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.score == 100
        assert attempt.passed
    assert "Your score: 100%" in client.get(second.location).get_data(as_text=True)


def test_a_submitted_attempt_opens_on_its_result_and_an_open_one_on_its_questions(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module()
    attempt_id = start(client, made)
    response = client.get(f"/training/attempts/{attempt_id}/result")
    assert response.status_code == 302
    assert response.location == f"/training/attempts/{attempt_id}"
    client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot_of(app, attempt_id)))
    response = client.get(f"/training/attempts/{attempt_id}")
    assert response.status_code == 302
    assert response.location == f"/training/attempts/{attempt_id}/result"


def test_another_liaisons_attempt_is_not_found(client, login_as, app, make_module, make_user):
    made = make_module()
    other = make_user(Role.LIAISON)
    with app.test_request_context():
        quiz = db.session.get(training.Quiz, made.quiz_id)
        theirs = training.start_attempt(db.session.get(User, other.id), quiz, language="en")
        db.session.commit()
        theirs_id = theirs.id
    login_as("liaison")
    assert client.get(f"/training/attempts/{theirs_id}").status_code == 404
    assert client.post(f"/training/attempts/{theirs_id}", data={}).status_code == 404
    assert client.get(f"/training/attempts/{theirs_id}/result").status_code == 404
    with app.app_context():
        assert db.session.get(QuizAttempt, theirs_id).status is AttemptStatus.IN_PROGRESS


def test_a_stale_form_keeps_every_answer_chosen_and_submits_nothing(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module()
    attempt_id = start(client, made)
    snapshot = snapshot_of(app, attempt_id)
    chosen = answers(snapshot, wrong={1})
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/training/attempts/{attempt_id}", data={**chosen, "csrf_token": "stale"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your session expired. Check the form and send it again." in html
    for question_key, choice_keys in chosen.items():
        for choice_key in choice_keys:
            assert re.search(rf'id="{question_key}-{choice_key}"[^>]* checked', html), (question_key, choice_key)
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt_id).status is AttemptStatus.IN_PROGRESS


# Attempt limits --------------------------------------------------------------------------------


def test_retakes_until_the_limit_then_the_quiz_is_locked_with_whom_to_contact(
    client, login_as, app, make_module, coordinator
):
    liaison = login_as("liaison")
    put_in_cohort(app, coordinator, liaison, ["Marcus Lee"])
    made = make_module(attempts_allowed=2, pass_mark=100)
    read(client, made)
    take(client, app, made, wrong={1})
    last = take(client, app, made, wrong={1})
    html = client.get(f"/training/attempts/{last}/result").get_data(as_text=True)
    assert "Retake" not in html
    assert "This quiz is locked" in html
    assert "To get another try, contact Rosa Coordinator and Marcus Lee." in html

    page = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert "You have used all your attempts at this quiz." in page
    assert "Rosa Coordinator and Marcus Lee" in page
    assert 'id="start-quiz"' not in page
    response = client.post(f"/training/modules/{made.module_id}/quiz/start")
    assert response.status_code == 302
    assert response.location == f"/training/modules/{made.module_id}#module-actions"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 2


def test_a_locked_liaison_outside_a_cohort_is_told_to_contact_their_program_coordinator(
    client, login_as, app, make_module
):
    login_as("liaison")
    made = make_module(attempts_allowed=1, pass_mark=100)
    read(client, made)
    take(client, app, made, wrong={1})
    page = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert "To get another try, contact your program coordinator." in page


def test_an_extra_attempt_from_a_coordinator_unlocks_the_quiz(client, login_as, app, make_module, coordinator):
    liaison = login_as("liaison")
    made = make_module(attempts_allowed=1, pass_mark=100)
    read(client, made)
    take(client, app, made, wrong={1})
    with app.test_request_context():
        training.unlock_quiz(
            db.session.get(User, coordinator.id),
            db.session.get(User, liaison.id),
            db.session.get(training.Quiz, made.quiz_id),
        )
        db.session.commit()
    page = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert "This quiz is locked" not in page
    assert re.search(r'id="start-quiz"[^>]*>\s*Retake the quiz', page)
    assert "1 attempt left (of 2)" in page


# Time limits -----------------------------------------------------------------------------------


def test_a_timed_quiz_shows_a_quiet_countdown_to_its_deadline(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module(time_limit_minutes=15)
    read(client, made)
    assert "You have 15 minutes once you start." in client.get(f"/training/modules/{made.module_id}").get_data(
        as_text=True
    )
    attempt_id = start(client, made)
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    with app.app_context():
        deadline = db.session.get(QuizAttempt, attempt_id).deadline_at
    assert f'<time datetime="{deadline.isoformat(timespec="seconds")}">' in html
    assert 'id="quiz-timer"' in html
    assert re.search(r'<p class="usa-sr-only" id="quiz-timer-announcement" aria-live="polite"></p>', html)
    assert '<script src="/static/js/quiz-timer.js" defer></script>' in html
    # The ticking clock itself is not a live region: only the two announcements are.
    assert html.count("aria-live") == 1


def test_answers_sent_after_the_time_limit_do_not_pass(client, login_as, app, make_module):
    login_as("liaison")
    made = make_module(time_limit_minutes=5, pass_mark=50)
    attempt_id = start(client, made)
    with app.app_context():
        db.session.execute(
            update(QuizAttempt)
            .where(QuizAttempt.id == attempt_id)
            .values(deadline_at=utcnow() - timedelta(minutes=2), started_at=utcnow() - timedelta(minutes=7))
        )
        db.session.commit()
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    assert re.search(r'<p class="liaison-quiz-timer__over">\s*Time is up.', html)
    client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot_of(app, attempt_id)))
    html = client.get(f"/training/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Not passed this time" in html
    assert "Your answers arrived after the time limit" in html
    assert "Your score: 100%" in html


# Spanish --------------------------------------------------------------------------------------


def test_a_spanish_reader_takes_the_quiz_and_reads_the_explanations_in_spanish(client, login_as, app, make_module):
    login_as("liaison", preferred_language="es")
    made = make_module("Qué es")
    page = client.get(f"/training/modules/{made.module_id}").get_data(as_text=True)
    assert "Qué es (ES)" in page
    assert "<h2>Llame al 311</h2>" in page
    attempt_id = start(client, made)
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    assert "¿Pregunta número 1?" in html
    assert "Manzana-2" in html
    assert "Prompt number 1?" not in html
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt_id).language == "es"

    # The attempt keeps the language it was shown in, even if the reader switches.
    client.post("/language", data={"language": "en", "next": f"/training/attempts/{attempt_id}"})
    html = client.get(f"/training/attempts/{attempt_id}").get_data(as_text=True)
    assert "¿Pregunta número 1?" in html
    assert 'lang="es">¿Pregunta número 1?' in html
    client.post(f"/training/attempts/{attempt_id}", data=answers(snapshot_of(app, attempt_id), wrong={1}))
    result = client.get(f"/training/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "Explicación número 1." in result
    assert "Explanation number 1." not in result


# The liaison dashboard -------------------------------------------------------------------------


def test_the_dashboard_shows_training_progress_and_the_next_module(client, login_as, app, make_module):
    login_as("liaison")
    first = make_module("First module")
    second = make_module("Second module")
    make_module("Optional extra", required=False, kinds=None)
    read(client, first)
    take(client, app, first)
    html = client.get("/liaison").get_data(as_text=True)
    assert "Your training" in html
    assert "1 of 2 required modules complete" in html
    assert f'id="dashboard-next-module" href="/training/modules/{second.module_id}">Second module<' in html
    assert 'href="/training/"' in html
    assert "Your next step: Join a cohort" in html
    training_step = html[html.index("Complete training") - 200 : html.index("Complete training")]
    assert "is-done" not in training_step


def test_completing_every_required_module_marks_the_training_step_done(client, login_as, app, make_module, coordinator):
    liaison = login_as("liaison")
    put_in_cohort(app, coordinator, liaison, [])
    made = make_module("Only required")
    make_module("Optional extra", required=False)
    html = client.get("/liaison").get_data(as_text=True)
    assert "Your next step: Complete training" in html
    read(client, made)
    take(client, app, made)
    html = client.get("/liaison").get_data(as_text=True)
    assert "1 of 1 required module complete" in html
    assert "Your next step: Get certified" in html
    training_step = html[html.index("Complete training") - 200 : html.index("Complete training")]
    assert "is-done" in training_step


def test_a_program_with_nothing_published_has_not_trained_anyone(client, login_as, app, coordinator):
    liaison = login_as("liaison")
    put_in_cohort(app, coordinator, liaison, [])
    html = client.get("/liaison").get_data(as_text=True)
    assert "Your next step: Complete training" in html
    assert "Training modules will appear here as soon as your coordinator publishes them." in html


def test_the_dashboard_runs_the_same_queries_for_3_or_10_modules(
    client, login_as, app, make_module, count_queries, coordinator
):
    liaison = login_as("liaison")
    put_in_cohort(app, coordinator, liaison, [])
    made = [make_module(f"Module {n}") for n in range(3)]
    read(client, made[0])
    take(client, app, made[0])
    client.get("/liaison")  # warm up
    with count_queries() as few:
        assert client.get("/liaison").status_code == 200
    for n in range(3, 10):
        made.append(make_module(f"Module {n}"))
        read(client, made[-1])
        take(client, app, made[-1], wrong={1})
    client.get("/liaison")  # shows (and so removes) the flashed "marked as read" messages
    with count_queries() as many:
        html = client.get("/liaison").get_data(as_text=True)
    assert "1 of 10 required modules complete" in html
    # The dashboard's own 7 and training progress: modules, quizzes, reads, attempts, extra attempts.
    assert len(few) == len(many) <= 12, "\n".join(many)
