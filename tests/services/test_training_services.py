"""Training rules without HTTP: grading, snapshots, attempt limits, time limits, progress."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from liaison.audit import AuditEvent
from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.errors import Conflict, ValidationFailed
from liaison.extensions import db
from liaison.training import grading
from liaison.training import services as training
from liaison.training.content import localized, render_markdown
from liaison.training.models import AttemptStatus, QuestionKind, QuizAttempt
from tests import factories


def texts(en: str, es: str = "") -> dict[str, str]:
    return {"en": en, "es": es} if es else {"en": en}


def make_module(actor: User, *, title: str = "What 311 is", questions: int = 3, **quiz) -> training.Module:
    module = training.create_module(
        actor, training.ModuleInput(title=texts(title, "Qué es el 311"), body=texts("Body text", "Texto"))
    )
    settings = training.QuizSettings(**quiz)
    created = training.save_quiz_settings(actor, module, settings)
    for number in range(questions):
        training.add_question(
            actor,
            created,
            training.QuestionInput(
                kind=QuestionKind.SINGLE,
                prompt=texts(f"Question {number}", f"Pregunta {number}"),
                explanation=texts(f"Because {number}"),
                choices=[
                    training.ChoiceInput(texts("Right", "Correcta"), True),
                    training.ChoiceInput(texts("Wrong", "Incorrecta")),
                ],
            ),
        )
    if questions:
        training.set_module_published(actor, module, True)
    db.session.commit()
    return module


def right_answers(attempt: QuizAttempt) -> dict[str, list[str]]:
    return {q["key"]: [c["key"] for c in q["choices"] if c["correct"]] for q in attempt.snapshot}


def wrong_answers(attempt: QuizAttempt) -> dict[str, list[str]]:
    return {q["key"]: [c["key"] for c in q["choices"] if not c["correct"]][:1] for q in attempt.snapshot}


@pytest.fixture
def coordinator(app_ctx) -> User:
    return factories.make_coordinator()


@pytest.fixture
def liaison(app_ctx) -> User:
    return factories.make_liaison()


# Grading --------------------------------------------------------------------------------------

SNAPSHOT = [
    {
        "key": "q1",
        "question_id": 1,
        "kind": "single",
        "prompt": "",
        "explanation": "",
        "choices": [{"key": "c1", "correct": True, "text": ""}, {"key": "c2", "correct": False, "text": ""}],
    },
    {
        "key": "q2",
        "question_id": 2,
        "kind": "multiple",
        "prompt": "",
        "explanation": "",
        "choices": [
            {"key": "c3", "correct": True, "text": ""},
            {"key": "c4", "correct": True, "text": ""},
            {"key": "c5", "correct": False, "text": ""},
        ],
    },
    {
        "key": "q3",
        "question_id": 3,
        "kind": "true_false",
        "prompt": "",
        "explanation": "",
        "choices": [{"key": "c6", "correct": False, "text": ""}, {"key": "c7", "correct": True, "text": ""}],
    },
]


def test_all_three_kinds_are_graded_right_when_answered_exactly():
    result = grading.grade(SNAPSHOT, {"q1": ["c1"], "q2": ["c3", "c4"], "q3": ["c7"]})
    assert result.score == 100
    assert [r.right for r in result.results] == [True, True, True]


@pytest.mark.parametrize(
    "multiple_answer", [["c3"], ["c3", "c4", "c5"], [], ["c5"]], ids=["missing one", "one extra", "none", "wrong"]
)
def test_multiple_choice_gives_no_partial_credit(multiple_answer):
    result = grading.grade(SNAPSHOT, {"q1": ["c1"], "q2": multiple_answer, "q3": ["c7"]})
    assert [r.right for r in result.results] == [True, False, True]
    assert result.score == 66  # rounded down: 66.6 % does not become 67


def test_answers_naming_choices_that_were_not_shown_are_ignored():
    answers = grading.clean_answers(SNAPSHOT, {"q1": ["c1", "c2"], "q2": ["c3", "c99"], "q9": ["c1"], "q3": ["c6"]})
    assert answers == {"q1": ["c1"], "q2": ["c3"], "q3": ["c6"]}


def test_the_page_version_of_a_snapshot_carries_no_correct_answers_or_explanations():
    for question in grading.public_view(SNAPSHOT):
        assert "explanation" not in question
        assert all(set(choice) == {"key", "text"} for choice in question["choices"])


def test_shuffling_is_stable_for_one_seed_and_varies_between_seeds(coordinator):
    module = make_module(coordinator, questions=6)
    questions = module.quiz.questions
    first = grading.build_snapshot(questions, language="en", seed=7, shuffle_questions=True, shuffle_choices=True)
    again = grading.build_snapshot(questions, language="en", seed=7, shuffle_questions=True, shuffle_choices=True)
    orders = {
        tuple(
            q["key"]
            for q in grading.build_snapshot(
                questions, language="en", seed=seed, shuffle_questions=True, shuffle_choices=True
            )
        )
        for seed in range(20)
    }
    assert first == again
    assert len(orders) > 1


def test_markdown_is_rendered_and_stripped_of_scripts_htmx_and_javascript_links():
    html = str(
        render_markdown(
            "## Title\n\n<script>alert(1)</script>\n\n<div hx-get='/x' data-hx-post='/y'>hi</div>\n\n"
            "[bad](javascript:alert(1)) [good](https://www.phila.gov/311)\n\n<img src=x onerror=alert(1)>"
        )
    )
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        tags: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Collect()
    parser.feed(html)
    tags = {tag for tag, _ in parser.tags}
    attributes = {name for _, attrs in parser.tags for name in attrs}
    assert "h2" in tags
    assert not tags & {"script", "div", "img"}
    assert not {name for name in attributes if name.startswith(("hx-", "data-", "on"))}
    assert [attrs["href"] for tag, attrs in parser.tags if tag == "a"] == ["https://www.phila.gov/311"]
    assert 'rel="noopener noreferrer nofollow"' in html


def test_texts_fall_back_to_english_when_a_translation_is_missing():
    assert localized({"en": "Hello", "es": "Hola"}, "es") == "Hola"
    assert localized({"en": "Hello"}, "es") == "Hello"


# Authoring rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "correct_flags", "field"),
    [
        (QuestionKind.SINGLE, [True, True], "choices"),
        (QuestionKind.SINGLE, [False, False], "choices"),
        (QuestionKind.MULTIPLE, [False, False, False], "choices"),
        (QuestionKind.TRUE_FALSE, [True, False, False], "choices"),
    ],
)
def test_questions_that_cannot_be_graded_fairly_are_refused(coordinator, kind, correct_flags, field):
    module = make_module(coordinator, questions=0)
    with pytest.raises(ValidationFailed) as raised:
        training.add_question(
            coordinator,
            module.quiz,
            training.QuestionInput(
                kind=kind,
                prompt=texts("Q"),
                explanation={},
                choices=[training.ChoiceInput(texts(f"c{i}"), flag) for i, flag in enumerate(correct_flags)],
            ),
        )
    assert raised.value.field == field


def test_a_module_with_an_empty_quiz_cannot_be_published(coordinator):
    module = training.create_module(coordinator, training.ModuleInput(title=texts("Draft"), body=texts("x")))
    training.save_quiz_settings(coordinator, module, training.QuizSettings())
    with pytest.raises(ValidationFailed):
        training.set_module_published(coordinator, module, True)


def test_modules_move_up_and_down(coordinator):
    first = training.create_module(coordinator, training.ModuleInput(title=texts("First")))
    second = training.create_module(coordinator, training.ModuleInput(title=texts("Second")))
    training.move_module(coordinator, second, -1)
    assert [m.id for m in training.all_modules()] == [second.id, first.id]
    training.move_module(coordinator, second, -1)  # already first: nothing happens
    assert [m.id for m in training.all_modules()] == [second.id, first.id]


# Attempts ---------------------------------------------------------------------------------------


def test_an_attempt_is_graded_and_passes_at_the_pass_mark(coordinator, liaison):
    module = make_module(coordinator, pass_mark=60)
    attempt = training.start_attempt(liaison, module.quiz, language="es")
    assert attempt.snapshot[0]["prompt"].startswith("Pregunta")
    submitted = training.submit_attempt(liaison, attempt.id, right_answers(attempt))
    assert submitted.score == 100
    assert submitted.passed
    assert training.has_passed(liaison.id, module.quiz.id)


def test_editing_a_quiz_later_never_changes_a_past_result(coordinator, liaison):
    module = make_module(coordinator)
    attempt = training.start_attempt(liaison, module.quiz, language="en")
    training.submit_attempt(liaison, attempt.id, right_answers(attempt))
    db.session.commit()
    question = module.quiz.questions[0]
    training.update_question(
        coordinator,
        question,
        training.QuestionInput(
            kind=QuestionKind.SINGLE,
            prompt=texts("Rewritten"),
            explanation={},
            choices=[training.ChoiceInput(texts("New right"), True), training.ChoiceInput(texts("x"))],
        ),
    )
    training.delete_question(coordinator, module.quiz.questions[1])
    db.session.commit()
    db.session.refresh(attempt)
    assert attempt.score == 100
    assert training.attempt_result(attempt).score == 100
    assert all(q["prompt"].startswith("Question") for q in attempt.snapshot)


def test_submitting_twice_grades_once(coordinator, liaison):
    module = make_module(coordinator)
    attempt = training.start_attempt(liaison, module.quiz, language="en")
    first = training.submit_attempt(liaison, attempt.id, wrong_answers(attempt))
    second = training.submit_attempt(liaison, attempt.id, right_answers(attempt))
    assert first.id == second.id
    assert second.score == 0
    assert not second.passed


def test_two_tabs_share_one_open_attempt(coordinator, liaison):
    module = make_module(coordinator)
    first = training.start_attempt(liaison, module.quiz, language="en")
    second = training.start_attempt(liaison, module.quiz, language="en")
    assert first.id == second.id


def test_when_attempts_run_out_the_quiz_is_locked_until_a_coordinator_unlocks_it(coordinator, liaison):
    module = make_module(coordinator, attempts_allowed=2)
    for _ in range(2):
        attempt = training.start_attempt(liaison, module.quiz, language="en")
        training.submit_attempt(liaison, attempt.id, wrong_answers(attempt))
    with pytest.raises(Conflict) as raised:
        training.start_attempt(liaison, module.quiz, language="en")
    assert "coordinator" in str(raised.value.message)
    assert training.progress_for(liaison).modules[0].state is training.ModuleState.LOCKED
    training.unlock_quiz(coordinator, liaison, module.quiz)
    db.session.commit()
    assert training.start_attempt(liaison, module.quiz, language="en").number == 3
    assert db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.action == "quiz.accommodation_granted")
    ).all()


def test_unlimited_attempts_never_lock(coordinator, liaison):
    module = make_module(coordinator, attempts_allowed=None)
    for _ in range(5):
        attempt = training.start_attempt(liaison, module.quiz, language="en")
        training.submit_attempt(liaison, attempt.id, wrong_answers(attempt))
    assert training.start_attempt(liaison, module.quiz, language="en").number == 6


def test_a_late_submission_does_not_pass_and_extra_time_moves_the_deadline(coordinator, liaison):
    module = make_module(coordinator, time_limit_minutes=10)
    start = utcnow()
    attempt = training.start_attempt(liaison, module.quiz, language="en", now=start)
    assert attempt.deadline_at == start + timedelta(minutes=10)
    late = training.submit_attempt(liaison, attempt.id, right_answers(attempt), now=start + timedelta(minutes=11))
    assert late.late
    assert not late.passed
    assert late.score == 100
    training.grant_accommodation(coordinator, liaison, module.quiz, extra_minutes=15)
    second = training.start_attempt(liaison, module.quiz, language="en", now=start)
    assert second.deadline_at == start + timedelta(minutes=25)
    in_time = training.submit_attempt(liaison, second.id, right_answers(second), now=start + timedelta(minutes=24))
    assert in_time.passed


def test_a_liaison_cannot_reach_another_liaisons_attempt(coordinator, liaison):
    from liaison.errors import NotFound

    module = make_module(coordinator)
    other = factories.make_liaison()
    attempt = training.start_attempt(other, module.quiz, language="en")
    with pytest.raises(NotFound):
        training.submit_attempt(liaison, attempt.id, {})
    with pytest.raises(NotFound):
        training.get_attempt(liaison, attempt.id)


def _in_threads(app, count: int, work) -> list[str]:
    barrier = threading.Barrier(count, timeout=30)
    outcomes: list[str] = []

    def run() -> None:
        with app.test_request_context():
            barrier.wait()
            try:
                outcomes.append(work())
                db.session.commit()
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_twenty_concurrent_submits_of_one_attempt_grade_it_once(app):
    with app.test_request_context():
        coordinator, liaison = factories.make_coordinator(), factories.make_liaison()
        module = make_module(coordinator)
        attempt = training.start_attempt(liaison, module.quiz, language="en")
        db.session.commit()
        attempt_id, liaison_id, answers = attempt.id, liaison.id, right_answers(attempt)

    def submit() -> str:
        result = training.submit_attempt(db.session.get(User, liaison_id), attempt_id, answers)
        return f"{result.id}:{result.submitted_at.isoformat()}"

    outcomes = _in_threads(app, 20, submit)
    assert len(outcomes) == 20
    assert len(set(outcomes)) == 1  # every request saw the same single grading
    with app.app_context():
        assert db.session.query(QuizAttempt).filter_by(status=AttemptStatus.SUBMITTED).count() == 1


def test_the_attempt_limit_holds_when_attempts_start_at_the_same_moment(app):
    with app.test_request_context():
        coordinator, liaison = factories.make_coordinator(), factories.make_liaison()
        module = make_module(coordinator, attempts_allowed=1)
        db.session.commit()
        quiz_id, liaison_id = module.quiz.id, liaison.id

    def start() -> str:
        from liaison.training.models import Quiz

        attempt = training.start_attempt(db.session.get(User, liaison_id), db.session.get(Quiz, quiz_id), language="en")
        return str(attempt.id)

    outcomes = _in_threads(app, 8, start)
    assert len(set(outcomes)) == 1
    with app.app_context():
        assert db.session.query(QuizAttempt).count() == 1


# Progress and item analysis --------------------------------------------------------------------


def test_progress_counts_required_modules_read_and_passed(coordinator, liaison):
    first = make_module(coordinator, title="One")
    make_module(coordinator, title="Two")
    optional = training.create_module(
        coordinator, training.ModuleInput(title=texts("Optional"), body=texts("x"), required=False)
    )
    training.set_module_published(coordinator, optional, True)
    training.mark_read(liaison, first)
    attempt = training.start_attempt(liaison, first.quiz, language="en")
    training.submit_attempt(liaison, attempt.id, right_answers(attempt))
    db.session.commit()
    progress = training.progress_for(liaison)
    assert progress.required_complete == 1
    assert progress.percent == 50
    assert not progress.all_required_complete
    assert progress.next_module.module.title["en"] == "Two"


def test_drafts_do_not_count_and_are_not_listed(coordinator, liaison):
    make_module(coordinator, title="Published")
    training.create_module(coordinator, training.ModuleInput(title=texts("Draft")))
    db.session.commit()
    assert [item.module.title["en"] for item in training.progress_for(liaison).modules] == ["Published"]


def test_cohort_progress_runs_the_same_queries_for_5_or_50_liaisons(app, coordinator, count_queries):
    for number in range(3):
        make_module(coordinator, title=f"Module {number}")
    few = [factories.make_liaison().id for _ in range(5)]
    many = few + [factories.make_liaison().id for _ in range(45)]
    modules = training.published_modules()
    with count_queries() as small:
        training.progress_for_users(few, modules)
    with count_queries() as large:
        training.progress_for_users(many, modules)
    # Reads, attempts and extra attempts in one statement; the modules were given.
    assert len(small) == len(large) == 1
    with count_queries() as loading_modules:
        training.progress_for_users(many)
    assert len(loading_modules) == 2


def test_item_analysis_shows_percent_right_and_the_most_chosen_wrong_answer(coordinator):
    module = make_module(coordinator, questions=1, attempts_allowed=None)
    for answers in ("right", "wrong", "wrong"):
        taker = factories.make_liaison()
        attempt = training.start_attempt(taker, module.quiz, language="en")
        training.submit_attempt(
            taker, attempt.id, right_answers(attempt) if answers == "right" else wrong_answers(attempt)
        )
    db.session.commit()
    stats = training.item_analysis(module.quiz)
    assert stats.attempts == 3
    assert stats.passed == 1
    assert stats.pass_rate == 33
    [question] = stats.questions
    assert question.percent_right == 33
    assert question.most_chosen_wrong == ("Wrong", 2)
