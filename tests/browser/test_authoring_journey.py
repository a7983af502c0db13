"""Flow 2 in a real browser, in three steps of a few seconds each: a coordinator writes a module in
English and Spanish with a live preview; sets up its quiz with a question of each kind; previews the
quiz and publishes the module, which the demo liaison then finds on their training page.
axe checks every page on the way."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from liaison.auth.services import find_user_by_email
from liaison.demo import DEMO_PASSWORD
from liaison.extensions import db
from liaison.training import services
from liaison.training.models import QuestionKind

pytestmark = pytest.mark.browser

COORDINATOR = "coordinator@example.org"
LIAISON = "liaison@example.org"
PHONE_CONTEXT = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TITLE = "Reporting a street light outage"

AssertAccessible = Callable[[Page], None]


def log_in(page: Page, live_server: str, email: str, assert_accessible: AssertAccessible) -> None:
    page.goto(live_server + "/login")
    assert_accessible(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form.usa-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(coordinator|liaison)$"))
    assert_accessible(page)


def tick(page: Page, control_id: str) -> None:
    """Tick a radio or checkbox through its label, as a finger or a mouse does."""
    page.locator(f"label[for='{control_id}']").click()
    expect(page.locator(f"#{control_id}")).to_be_checked()


def choose_kind(page: Page, control_id: str) -> None:
    """Choose the kind of question; the choices come back for that kind before anything is typed in them."""
    with page.expect_response(lambda response: response.request.method == "POST") as refreshed:
        tick(page, control_id)
    assert refreshed.value.status == 200


def fill_choices(page: Page, texts: list[tuple[str, str]], correct: list[int]) -> None:
    for index, (english, spanish) in enumerate(texts):
        page.locator(f"#new-choices-{index}-text_en").fill(english)
        page.locator(f"#new-choices-{index}-text_es").fill(spanish)
    for index in correct:
        tick(page, f"new-choices-{index}-correct")


def add_question(page: Page, number: int) -> None:
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Add question").click()
    assert posted.value.status == 200, posted.value.text()
    expect(page.locator("#question-list > [role=status]")).to_have_text(f"Question {number} added.")
    expect(page.locator("#question-list .liaison-authoring-question")).to_have_count(number)
    expect(page.locator("#new-prompt_en")).to_have_value("")  # a blank form for the next one


def make_module(app: Flask, *, questions: bool) -> int:
    """A draft module with a quiz (and one question of each kind), made through the services."""
    with app.test_request_context():
        coordinator = find_user_by_email(COORDINATOR)
        module = services.create_module(
            coordinator,
            services.ModuleInput(
                title={"en": TITLE, "es": "Cómo reportar un poste de luz apagado"},
                body={"en": "## The pole number\n\nIt is on a **metal tag**."},
                estimated_minutes=8,
            ),
        )
        quiz = services.save_quiz_settings(coordinator, module, services.QuizSettings(pass_mark=75))
        if questions:
            for kind, prompt, choices in (
                (QuestionKind.SINGLE, "Where is the pole number?", [("On a metal tag", True), ("On the bulb", False)]),
                (
                    QuestionKind.MULTIPLE,
                    "What makes a report useful?",
                    [("The pole number", True), ("An address", True)],
                ),
                (QuestionKind.TRUE_FALSE, "A dark street is a 911 emergency.", [("True", False), ("False", True)]),
            ):
                services.add_question(
                    coordinator,
                    quiz,
                    services.QuestionInput(
                        kind=kind,
                        prompt={"en": prompt},
                        explanation={"en": "Poles carry a metal tag with their number."},
                        choices=[services.ChoiceInput({"en": text}, correct) for text, correct in choices],
                    ),
                )
        db.session.commit()
        return module.id


def test_a_coordinator_writes_a_module_in_two_languages_with_a_live_preview(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, COORDINATOR, assert_accessible)
    page.goto(live_server + "/coordinator/training/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training modules")
    assert_accessible(page)

    page.get_by_role("link", name="New module").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New module")
    page.locator("#title_en").fill(TITLE)
    page.locator("#title_es").fill("Cómo reportar un poste de luz apagado")
    page.locator("#summary_en").fill("Find the pole number and report it once.")
    # The preview follows the typing in each language.
    page.locator("#body_en").fill("## The pole number\n\nIt is on a **metal tag")
    page.locator("#body_en").press_sequentially("**.")
    expect(page.locator("#preview-en h2")).to_have_text("The pole number")
    expect(page.locator("#preview-en strong")).to_have_text("metal tag")
    page.locator("#body_es").fill("## El número del poste\n\nEstá en una **placa")
    page.locator("#body_es").press_sequentially("**.")
    expect(page.locator("#preview-es strong")).to_have_text("placa")
    expect(page.locator("#preview-es [hx-disable]")).to_have_attribute("lang", "es")
    english, spanish = page.locator("#body_en").bounding_box(), page.locator("#body_es").bounding_box()
    assert english["x"] < spanish["x"]
    assert english["y"] == spanish["y"], "side by side on a wide screen"
    assert_accessible(page)

    page.locator("#estimated_minutes").fill("8")
    page.get_by_role("button", name="Create module").click()
    expect(page.locator(".usa-alert--success")).to_contain_text("Module created as a draft.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {TITLE}")
    expect(page.locator("#preview-en strong")).to_have_text("metal tag")
    expect(page.locator("#title_es")).to_have_value("Cómo reportar un poste de luz apagado")
    assert_accessible(page)


def test_a_coordinator_sets_up_a_quiz_with_a_question_of_each_kind(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    module_id = make_module(app, questions=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, COORDINATOR, assert_accessible)
    page.goto(f"{live_server}/coordinator/training/modules/{module_id}/quiz")
    page.locator("#pass_mark").fill("75")
    page.locator("#attempts_allowed").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".usa-alert--success")).to_contain_text("Quiz settings saved.")
    assert_accessible(page)

    # A single-choice question, sent first without a right answer: the message is by the choices.
    page.locator("#new-prompt_en").fill("Where is the pole number?")
    page.locator("#new-prompt_es").fill("¿Dónde está el número del poste?")
    page.locator("#new-explanation_en").fill("Poles carry a metal tag with their number.")
    fill_choices(page, [("On a metal tag", "En una placa"), ("On the bulb", "En el foco"), ("Nowhere", "")], [])
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Add question").click()
    assert posted.value.status == 422
    expect(page.locator("#new-choices-error")).to_have_text("Mark exactly one choice as correct.")
    expect(page.locator("#new-choices-2-text_en")).to_have_value("Nowhere")
    assert_accessible(page)
    tick(page, "new-choices-0-correct")
    add_question(page, 1)

    # A multiple-choice question.
    choose_kind(page, "new-kind-1")
    page.locator("#new-prompt_en").fill("What makes a report useful?")
    fill_choices(page, [("The pole number", ""), ("The nearest address", ""), ("Your opinion of the city", "")], [0, 1])
    add_question(page, 2)

    # A true/false question: choosing the kind fills in its two choices, keeping what was typed.
    page.locator("#new-prompt_en").fill("A dark street at night is an emergency for 911.")
    choose_kind(page, "new-kind-2")
    expect(page.locator("#new-choices-0-text_en")).to_have_value("True")
    expect(page.locator("#new-choices-0-text_es")).to_have_value("Verdadero")
    expect(page.locator("#new-choices-1-text_es")).to_have_value("Falso")
    expect(page.locator("#new-choices-2-text_en")).to_have_count(0)
    expect(page.locator("#new-prompt_en")).to_have_value("A dark street at night is an emergency for 911.")
    tick(page, "new-choices-1-correct")
    add_question(page, 3)
    expect(page.locator("#question-list")).to_contain_text("True or false")
    assert_accessible(page)


def test_a_coordinator_previews_the_quiz_and_publishes_and_the_demo_liaison_sees_the_module(
    page: Page, browser: Browser, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    module_id = make_module(app, questions=True)
    log_in(page, live_server, COORDINATOR, assert_accessible)

    # The quiz as a liaison sees it: no answers, and it cannot be sent.
    page.goto(f"{live_server}/coordinator/training/modules/{module_id}/quiz/preview")
    expect(page.locator("#preview-banner")).to_contain_text("Nothing you choose here is saved")
    expect(page.locator("fieldset.liaison-question")).to_have_count(3)
    expect(page.locator("#submit-answers")).to_be_disabled()
    assert "Poles carry a metal tag" not in page.content()
    assert_accessible(page)

    # Publish it from the list (htmx swaps just its row).
    page.get_by_role("link", name="All training modules").click()
    row = page.locator("tr", has=page.get_by_role("link", name=TITLE))
    expect(row).to_contain_text("Draft")
    list_url = page.url
    row.get_by_role("button", name=re.compile("^Publish")).click()
    expect(row).to_contain_text("is published: liaisons can read it.")
    expect(row.locator(".usa-tag").first).to_have_text("Published")
    assert page.url == list_url
    assert_accessible(page)

    # The demo liaison, in a browser of their own, finds it in their training.
    liaison_context = browser.new_context()
    try:
        liaison_page = liaison_context.new_page()
        liaison_page.set_default_timeout(20_000)
        log_in(liaison_page, live_server, LIAISON, assert_accessible)
        liaison_page.goto(live_server + "/training/")
        expect(liaison_page.get_by_role("link", name=TITLE)).to_be_visible()
        assert_accessible(liaison_page)
    finally:
        liaison_context.close()


def test_a_coordinator_edits_moves_and_deletes_questions_in_place(
    page: Page, live_server: str, app: Flask, assert_accessible: AssertAccessible
) -> None:
    module_id = make_module(app, questions=True)
    log_in(page, live_server, COORDINATOR, assert_accessible)
    page.goto(f"{live_server}/coordinator/training/modules/{module_id}/quiz")
    questions = page.locator("#question-list .liaison-authoring-question")
    first_id = questions.first.get_attribute("id")

    page.locator(f"#{first_id}-edit").click()
    editing = page.locator(f"li#{first_id}")
    expect(editing.get_by_role("heading", name="Edit question 1")).to_be_visible()
    prompt = editing.get_by_label("Question in English")
    expect(prompt).to_have_value("Where is the pole number?")
    assert_accessible(page)
    prompt.fill("Where do you find the pole number?")
    editing.get_by_role("button", name="Save question").click()
    expect(page.locator(f"li#{first_id}")).to_contain_text("Question 1 saved.")
    expect(page.locator(f"li#{first_id}")).to_contain_text("Where do you find the pole number?")

    page.locator(f"#{first_id}-down").click()
    expect(page.locator("#question-list > [role=status]")).to_have_text("Question moved to number 2.")
    expect(questions.nth(1)).to_have_id(first_id)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#{first_id}-delete").click()
    expect(page.locator("#question-list > [role=status]")).to_have_text("Question 2 deleted.")
    expect(questions).to_have_count(2)
    expect(page.locator(f"li#{first_id}")).to_have_count(0)
    assert_accessible(page)


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_on_a_phone_the_two_languages_stack_and_nothing_scrolls_sideways(
    page: Page, live_server: str, assert_accessible: AssertAccessible
) -> None:
    log_in(page, live_server, COORDINATOR, assert_accessible)
    page.goto(live_server + "/coordinator/training/modules/new")
    english, spanish = page.locator("#body_en").bounding_box(), page.locator("#body_es").bounding_box()
    assert spanish["y"] > english["y"] + english["height"], "Spanish below English on a phone"
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, viewport: window.innerWidth})")
    assert widths["scroll"] <= widths["viewport"], widths
    assert_accessible(page)
    page.goto(live_server + "/coordinator/training/")
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, viewport: window.innerWidth})")
    assert widths["scroll"] <= widths["viewport"], widths
    assert_accessible(page)
