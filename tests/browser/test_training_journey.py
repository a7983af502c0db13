"""Flow 3 in a real browser: a demo liaison still in training (Thuy Nguyen; the demo program
certifies liaison@example.org) reads a module, marks it read, fails its quiz, reads the
explanations, retakes and passes; the same in Spanish; a timed quiz counts down. axe checks every
page on the way.

The module is made through the services on the live server's app, after the demo program (with
its curriculum) is loaded, so it is the last module in the list. Buttons are found by their ids
in the Spanish journey: only the module's own texts are known to be in Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from liaison.auth.services import find_user_by_email
from liaison.demo import DEMO_PASSWORD
from liaison.extensions import db
from liaison.training import services as training
from liaison.training.models import QuestionKind

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
# A demo liaison still in training (liaison@example.org is certified by the demo program).
LIAISON = "thuy.nguyen@example.org"

AssertAccessible = Callable[[Page], None]


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    prompt: dict[str, str]
    explanation: dict[str, str]
    right: list[dict[str, str]]
    wrong: list[dict[str, str]]


TITLE = {"en": "Reporting a pothole", "es": "Cómo reportar un bache"}
BODY = {
    "en": "## Where is it?\n\nGive the **exact address** or the nearest intersection.",
    "es": "## ¿Dónde está?\n\nDé la **dirección exacta** o la esquina más cercana.",
}
QUESTIONS = [
    Question(
        QuestionKind.SINGLE,
        {"en": "Which detail helps a crew find a pothole fastest?", "es": "¿Qué dato ayuda más a encontrar un bache?"},
        {
            "en": "Crews are sent to an exact place: an address or an intersection.",
            "es": "Las cuadrillas van a un lugar exacto: una dirección o una esquina.",
        },
        right=[
            {"en": "The exact address or nearest intersection", "es": "La dirección exacta o la esquina más cercana"}
        ],
        wrong=[
            {"en": "The name of the neighborhood", "es": "El nombre del barrio"},
            {"en": "The color of the cars parked nearby", "es": "El color de los autos estacionados"},
        ],
    ),
    Question(
        QuestionKind.MULTIPLE,
        {"en": "What belongs in the description?", "es": "¿Qué va en la descripción?"},
        {
            "en": "How big it is and since when it has been there help the crew plan the repair.",
            "es": "El tamaño y desde cuándo está ayudan a la cuadrilla a planear la reparación.",
        },
        right=[
            {"en": "How big it is", "es": "Qué tan grande es"},
            {"en": "Since when it has been there", "es": "Desde cuándo está ahí"},
        ],
        wrong=[{"en": "What the neighbor thinks of the mayor", "es": "Lo que el vecino opina del alcalde"}],
    ),
    Question(
        QuestionKind.TRUE_FALSE,
        {"en": "A gas leak is reported through 311.", "es": "Una fuga de gas se reporta por el 311."},
        {
            "en": "A gas leak is an emergency: call 911 first.",
            "es": "Una fuga de gas es una emergencia: llame primero al 911.",
        },
        right=[{"en": "False", "es": "Falso"}],
        wrong=[{"en": "True", "es": "Verdadero"}],
    ),
]


def make_module(app: Flask, *, time_limit_minutes: int | None = None) -> int:
    """A published module with a 3-question quiz: pass mark 100, 3 attempts."""
    with app.test_request_context():
        coordinator = find_user_by_email(COORDINATOR)
        module = training.create_module(
            coordinator,
            training.ModuleInput(
                title=TITLE,
                summary={"en": "Where, what and since when.", "es": "Dónde, qué y desde cuándo."},
                body=BODY,
                estimated_minutes=10,
                required=True,
            ),
        )
        quiz = training.save_quiz_settings(
            coordinator,
            module,
            training.QuizSettings(
                pass_mark=100,
                attempts_allowed=3,
                shuffle_questions=False,
                shuffle_choices=False,
                time_limit_minutes=time_limit_minutes,
            ),
        )
        for question in QUESTIONS:
            choices = [training.ChoiceInput(text, True) for text in question.right]
            choices += [training.ChoiceInput(text) for text in question.wrong]
            if question.kind is QuestionKind.TRUE_FALSE:
                choices.reverse()  # "True" first, as people expect
            training.add_question(
                coordinator,
                quiz,
                training.QuestionInput(
                    kind=question.kind, prompt=question.prompt, explanation=question.explanation, choices=choices
                ),
            )
        training.set_module_published(coordinator, module, True)
        db.session.commit()
        return module.id


def log_in(page: Page, live_server: str, assert_accessible: AssertAccessible) -> None:
    page.goto(live_server + "/login")
    page.locator("#email").fill(LIAISON)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/liaison$"))
    assert_accessible(page)


def required_progress(page: Page) -> tuple[int, int]:
    """(complete, total) from the dashboard's "N of M required modules complete"."""
    text = page.locator("#dashboard-training-progress-label").inner_text()
    numbers = [int(number) for number in re.findall(r"\d+", text)]
    assert len(numbers) == 2, text
    return numbers[0], numbers[1]


def answer(page: Page, language: str, *, wrong_on: int | None = None) -> None:
    """Answer every question right, except question `wrong_on` (1-based), which misses a choice."""
    for number, question in enumerate(QUESTIONS, start=1):
        group = page.get_by_role("group", name=re.compile(re.escape(question.prompt[language])))
        picks = question.right[:1] if number == wrong_on else question.right
        if number == wrong_on and question.kind is not QuestionKind.MULTIPLE:
            picks = question.wrong[:1]
        for choice in picks:
            group.locator("label", has_text=choice[language]).click()


def journey(page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible, language: str) -> None:
    module_id = make_module(app)
    log_in(page, live_server, assert_accessible)
    if language != "en":
        page.locator(f"header button[lang='{language}']").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
    complete, total = required_progress(page)

    # The training page, then the module.
    page.locator("#dashboard-training-link").click()
    page.wait_for_url(f"{live_server}/training/")
    row = page.locator(f"#module-{module_id}")
    expect(row).to_have_attribute("data-state", "not_started")
    assert_accessible(page)
    row.get_by_role("link", name=TITLE[language]).click()
    page.wait_for_url(f"{live_server}/training/modules/{module_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE[language])
    expect(page.locator(".usa-prose[hx-disable] strong")).to_have_text(
        "exact address" if language == "en" else "dirección exacta"
    )
    assert_accessible(page)

    # Mark as read: htmx swaps the action area in place.
    page.evaluate("() => { window.__sameDocument = true; }")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.locator("#mark-read").click()
    assert posted.value.request.all_headers().get("hx-request") == "true", "marking read did not go through htmx"
    start = page.locator("#start-quiz")
    expect(start).to_be_focused()
    assert page.evaluate("() => window.__sameDocument === true"), "marking read reloaded the page"
    if language == "en":
        expect(page.locator("#read-status")).to_have_text("Read ✓ — take the quiz")
    assert_accessible(page)

    # First attempt: question 2 misses one of its two right choices.
    start.click()
    page.wait_for_url(re.compile(rf"{live_server}/training/attempts/\d+$"))
    expect(page.get_by_role("group", name=re.compile(re.escape(QUESTIONS[0].prompt[language])))).to_be_visible()
    assert QUESTIONS[1].explanation[language] not in page.content()
    assert_accessible(page)
    answer(page, language, wrong_on=2)
    page.locator("#submit-answers").click()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.locator("#quiz-outcome")).to_have_attribute("data-passed", "false")
    missed = page.locator("li.liaison-result", has_text=QUESTIONS[1].prompt[language])
    expect(missed).to_have_attribute("data-right", "false")
    expect(missed).to_contain_text(QUESTIONS[1].explanation[language])
    expect(missed.locator(".liaison-result__choice.is-correct")).to_have_count(2)
    expect(missed.locator(".liaison-result__choice.is-chosen")).to_have_count(1)
    got_right = page.locator("li.liaison-result", has_text=QUESTIONS[0].prompt[language])
    expect(got_right).to_have_attribute("data-right", "true")
    if language == "en":
        expect(page.locator("#quiz-outcome")).to_contain_text("Not passed this time")
        expect(page.locator("#quiz-score")).to_contain_text("Your score: 66% (2 of 3 right). The pass mark is 100%.")
    assert_accessible(page)

    # Retake, answer everything right, pass.
    page.locator("#retake-quiz").click()
    page.wait_for_url(re.compile(rf"{live_server}/training/attempts/\d+$"))
    if language == "en":
        expect(page.locator("main")).to_contain_text("Attempt 2 of 3")
    assert_accessible(page)
    answer(page, language)
    page.locator("#submit-answers").click()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.locator("#quiz-outcome")).to_have_attribute("data-passed", "true")
    expect(page.locator("li.liaison-result[data-right='false']")).to_have_count(0)
    expect(page.locator("#retake-quiz")).to_have_count(0)
    assert_accessible(page)

    # "Quiz passed" on the training page, and one more required module done on the dashboard.
    page.locator("#back-to-training").click()
    page.wait_for_url(f"{live_server}/training/")
    expect(row).to_have_attribute("data-state", "passed")
    if language == "en":
        expect(row).to_contain_text("Quiz passed")
    assert_accessible(page)
    page.goto(live_server + "/liaison")
    assert required_progress(page) == (complete + 1, total)
    assert_accessible(page)


def test_a_liaison_reads_fails_learns_from_the_explanations_retakes_and_passes(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    journey(page, live_server, app, assert_accessible, "en")


def test_the_same_journey_in_spanish_shows_spanish_questions_and_explanations(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    journey(page, live_server, app, assert_accessible, "es")


def test_a_timed_quiz_counts_down_quietly(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    module_id = make_module(app, time_limit_minutes=10)
    log_in(page, live_server, assert_accessible)
    page.goto(f"{live_server}/training/modules/{module_id}")
    page.locator("#mark-read").click()
    page.locator("#start-quiz").click()
    page.wait_for_url(re.compile(rf"{live_server}/training/attempts/\d+$"))
    timer = page.locator("#quiz-timer")
    expect(timer.locator("time[datetime]")).to_have_count(1)
    clock = timer.locator(".liaison-quiz-timer__clock")
    expect(clock).to_be_visible()
    expect(clock).to_have_text(re.compile(r"^(10:00|9:5\d)$"))
    first = clock.inner_text()
    expect(clock).not_to_have_text(first, timeout=2_500)
    # Quiet: nothing is announced while more than five minutes are left.
    expect(page.locator("#quiz-timer-announcement")).to_have_text("")
    assert_accessible(page)
