"""Coordinators author training: modules with a live preview, publishing, ordering, quizzes and questions."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from liaison.audit import AuditEvent
from liaison.auth.models import Role, User
from liaison.extensions import db
from liaison.training import services
from liaison.training.models import Module, Question, QuestionKind, Quiz

HTMX = {"HX-Request": "true"}
BASE = "/coordinator/training"


# Helpers -------------------------------------------------------------------------------------


def make_module(
    app,
    title: str = "What 311 is",
    *,
    body: str = "311 is for city services.",
    quiz: bool = True,
    questions: int = 0,
    published: bool = False,
    **fields,
) -> int:
    """A module made through the services (with a quiz of `questions` single-choice questions)."""
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR).limit(1))
        module = services.create_module(actor, services.ModuleInput(title={"en": title}, body={"en": body}, **fields))
        if quiz:
            made = services.save_quiz_settings(actor, module, services.QuizSettings())
            for number in range(1, questions + 1):
                services.add_question(
                    actor,
                    made,
                    services.QuestionInput(
                        kind=QuestionKind.SINGLE,
                        prompt={"en": f"Question {title} {number}?", "es": f"¿Pregunta {number}?"},
                        explanation={"en": f"Because of reason {number}."},
                        choices=[
                            services.ChoiceInput({"en": f"Right {number}", "es": f"Correcta {number}"}, True),
                            services.ChoiceInput({"en": f"Wrong {number}", "es": f"Incorrecta {number}"}),
                        ],
                    ),
                )
        if published:
            services.set_module_published(actor, module, True)
        db.session.commit()
        return module.id


def stored_module(app, module_id: int) -> Module:
    with app.app_context():
        module = db.session.get(Module, module_id)
        if module.quiz is not None:
            for question in module.quiz.questions:
                list(question.choices)
        db.session.expunge_all()
        return module


def questions_of(app, module_id: int) -> list[tuple[str, str, list[tuple[str, bool]]]]:
    """(kind, English prompt, [(English choice, correct)]) of each question, in order."""
    with app.app_context():
        quiz = db.session.scalar(select(Quiz).where(Quiz.module_id == module_id))
        return [(q.kind.value, q.prompt["en"], [(c.text["en"], c.correct) for c in q.choices]) for q in quiz.questions]


def question_ids(app, module_id: int) -> list[int]:
    with app.app_context():
        quiz = db.session.scalar(select(Quiz).where(Quiz.module_id == module_id))
        return [question.id for question in quiz.questions]


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def module_form(**overrides) -> dict[str, str]:
    values = {
        "title_en": "Writing a request the city can act on",
        "title_es": "Cómo escribir una solicitud útil",
        "summary_en": "Exact location, what, since when.",
        "summary_es": "Lugar exacto, qué y desde cuándo.",
        "body_en": "## Be exact\n\nGive the **address**.",
        "body_es": "## Sea exacto\n\nDé la **dirección**.",
        "estimated_minutes": "12",
        "required": "y",
    }
    values.update(overrides)
    return values


def question_form(
    kind: str = "single",
    prompt: str = "Where do emergencies go?",
    choices: tuple[tuple[str, bool], ...] = (("911", True), ("311", False)),
    *,
    prefix: str = "new",
    **extra: str,
) -> dict[str, str]:
    data = {
        f"{prefix}-kind": kind,
        f"{prefix}-prompt_en": prompt,
        f"{prefix}-prompt_es": "",
        f"{prefix}-explanation_en": "Emergencies always go to 911.",
        f"{prefix}-explanation_es": "",
    }
    for index in range(6):
        text, correct = choices[index] if index < len(choices) else ("", False)
        data[f"{prefix}-choices-{index}-text_en"] = text
        data[f"{prefix}-choices-{index}-text_es"] = ""
        if correct:
            data[f"{prefix}-choices-{index}-correct"] = "y"
    data.update({f"{prefix}-{name}": value for name, value in extra.items()})
    return data


def row_of(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</tr>", start)]


# Permissions ---------------------------------------------------------------------------------


def test_liaisons_get_403_on_authoring_pages_and_change_nothing(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=1)
    [question_id] = question_ids(app, module_id)
    client.post("/logout")
    login_as("liaison")
    for url in (
        f"{BASE}/",
        f"{BASE}/modules/new",
        f"{BASE}/modules/{module_id}/edit",
        f"{BASE}/modules/{module_id}/quiz",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(f"{BASE}/modules/{module_id}/quiz/preview").status_code == 403
    assert client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "1"}).status_code == 403
    delete = f"{BASE}/modules/{module_id}/quiz/questions/{question_id}/delete"
    assert client.post(delete, data={"confirmed": "1"}).status_code == 403
    assert client.post(f"{BASE}/modules/preview", data={"body": "x"}).status_code == 403
    module = stored_module(app, module_id)
    assert module.published is False
    assert len(module.quiz.questions) == 1


# The module list -----------------------------------------------------------------------------


def test_the_list_shows_each_module_in_order_with_its_state_time_and_quiz(app, client, login_as):
    login_as("coordinator")
    first = make_module(app, "What 311 is", questions=2, published=True, estimated_minutes=10)
    second = make_module(app, "Safety and conduct", quiz=False, required=False, estimated_minutes=5)
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert html.index(f'id="module-{first}"') < html.index(f'id="module-{second}"')
    one = row_of(html, f"module-{first}")
    assert "What 311 is" in one
    assert "Published" in one
    assert "Required" in one
    assert "10 minutes" in one
    assert "2 questions" in one
    assert "pass mark 80%" in one
    assert "Return to draft" in one
    two = row_of(html, f"module-{second}")
    assert "Draft" in two
    assert "Optional" in two
    assert "No quiz" in two
    assert ">\nPublish<" in two or "Publish<span" in two
    assert f'href="{BASE}/modules/new"' in html


def test_the_first_module_cannot_move_up_and_the_last_cannot_move_down(app, client, login_as):
    login_as("coordinator")
    ids = [make_module(app, f"Module {n}", quiz=False) for n in range(3)]
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert f'id="module-{ids[0]}-up"' not in html
    assert f'id="module-{ids[0]}-down"' in html
    assert f'id="module-{ids[1]}-up"' in html
    assert f'id="module-{ids[1]}-down"' in html
    assert f'id="module-{ids[2]}-down"' not in html


def test_moving_a_module_with_htmx_returns_the_reordered_list(app, client, login_as):
    login_as("coordinator")
    ids = [make_module(app, f"Module {n}", quiz=False) for n in range(3)]
    response = client.post(f"{BASE}/modules/{ids[2]}/move", data={"direction": "up"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="module-list"')
    assert "<html" not in html
    assert "Module 2 moved up." in html
    assert html.index(f'id="module-{ids[2]}"') < html.index(f'id="module-{ids[1]}"')
    with app.app_context():
        order = list(db.session.scalars(select(Module.id).order_by(Module.position)))
    assert order == [ids[0], ids[2], ids[1]]
    assert "module.moved" in audit_actions(app)


def test_moving_a_module_without_javascript_redirects_to_the_list(app, client, login_as):
    login_as("coordinator")
    ids = [make_module(app, f"Module {n}", quiz=False) for n in range(2)]
    response = client.post(f"{BASE}/modules/{ids[0]}/move", data={"direction": "down"})
    assert response.status_code == 302
    assert response.location == f"{BASE}/"
    html = client.get(response.location).get_data(as_text=True)
    assert "Module 0 moved down." in html
    assert html.index(f'id="module-{ids[1]}"') < html.index(f'id="module-{ids[0]}"')


def test_a_direction_other_than_up_or_down_is_a_bad_request(app, client, login_as):
    login_as("coordinator")
    ids = [make_module(app, f"Module {n}", quiz=False) for n in range(2)]
    assert client.post(f"{BASE}/modules/{ids[0]}/move", data={"direction": "sideways"}).status_code == 400
    with app.app_context():
        assert list(db.session.scalars(select(Module.id).order_by(Module.position))) == ids


def test_the_list_runs_the_same_queries_for_10_or_40_modules(app, client, login_as, count_queries):
    login_as("coordinator")
    for n in range(10):
        make_module(app, f"Small {n}", questions=1)
    client.get(f"{BASE}/")  # the first page view after login also saves the session
    with count_queries() as ten:
        small = client.get(f"{BASE}/")
    for n in range(30):
        make_module(app, f"Large {n}", questions=2, published=n % 2 == 0)
    with count_queries() as forty:
        large = client.get(f"{BASE}/")
    assert small.status_code == large.status_code == 200
    assert large.get_data(as_text=True).count('<tr id="module-') == 40
    assert len(ten) == len(forty), forty


def test_the_list_pages_by_50(app, client, login_as):
    login_as("coordinator")
    with app.test_request_context():
        actor = db.session.scalar(select(User).where(User.role == Role.COORDINATOR))
        for n in range(55):
            services.create_module(actor, services.ModuleInput(title={"en": f"Bulk {n}"}))
        db.session.commit()
    first = client.get(f"{BASE}/").get_data(as_text=True)
    second = client.get(f"{BASE}/?page=2").get_data(as_text=True)
    assert first.count('<tr id="module-') == 50
    assert second.count('<tr id="module-') == 5
    assert f"{BASE}/?page=2" in first
    assert "Bulk 54" in second
    assert '<td data-label="Order">51</td>' in second  # numbered across pages


# Publishing ----------------------------------------------------------------------------------


def test_publishing_is_refused_next_to_the_row_until_the_quiz_has_a_question(app, client, login_as):
    login_as("coordinator")
    make_module(app, "Comes first", quiz=False)
    module_id = make_module(app, questions=0)
    response = client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "1"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith(f'<tr id="module-{module_id}"')
    assert '<td data-label="Order">2</td>' in html  # the row keeps its number in the list
    assert re.search(
        rf'id="module-{module_id}-error"[^>]*>Add at least one question to the quiz before publishing.', html
    )
    assert stored_module(app, module_id).published is False

    # Without JavaScript the list page comes back with the same message beside the module.
    response = client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" in html
    assert "Add at least one question to the quiz before publishing." in row_of(html, f"module-{module_id}")

    client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=question_form())
    response = client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "1"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Published" in html
    assert "is published: liaisons can read it." in html
    assert stored_module(app, module_id).published is True
    assert "module.published" in audit_actions(app)


def test_a_module_without_english_text_cannot_be_published(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, body="", quiz=False)
    response = client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "1"}, headers=HTMX)
    assert response.status_code == 422
    assert "Write the module&#39;s English text before publishing it." in response.get_data(as_text=True)


def test_returning_a_module_to_draft_without_javascript(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=1, published=True)
    response = client.post(f"{BASE}/modules/{module_id}/publish", data={"published": "0"})
    assert response.status_code == 302
    assert "is back to draft" in client.get(response.location).get_data(as_text=True)
    assert stored_module(app, module_id).published is False
    assert "module.unpublished" in audit_actions(app)


# Writing a module ----------------------------------------------------------------------------


def test_a_coordinator_creates_a_draft_module_in_english_and_spanish(app, client, login_as):
    login_as("coordinator")
    form = client.get(f"{BASE}/modules/new").get_data(as_text=True)
    assert 'name="title_es"' in form
    assert re.search(r'name="body_es"[^>]*|lang="es"[^>]*name="body_es"', form)
    response = client.post(f"{BASE}/modules/new", data=module_form())
    assert response.status_code == 302
    with app.app_context():
        module = db.session.scalars(select(Module)).one()
        assert response.location == f"{BASE}/modules/{module.id}/edit"
        assert module.title == {"en": "Writing a request the city can act on", "es": "Cómo escribir una solicitud útil"}
        assert module.body["es"] == "## Sea exacto\n\nDé la **dirección**."
        assert (module.estimated_minutes, module.required, module.published) == (12, True, False)
    assert "module.created" in audit_actions(app)
    page = client.get(response.location).get_data(as_text=True)
    assert "Module created as a draft." in page
    assert "<strong>dirección</strong>" in page  # the saved text is previewed on the edit page


def test_a_module_without_an_english_title_is_refused_and_nothing_typed_is_lost(app, client, login_as):
    login_as("coordinator")
    response = client.post(f"{BASE}/modules/new", data=module_form(title_en="  ", estimated_minutes="0"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="title_en-error"[^>]*>\s*Give the module an English title.', html)
    assert re.search(r'id="estimated_minutes-error"[^>]*>\s*Use a number from 1 to 600.', html)
    assert 'value="Cómo escribir una solicitud útil"' in html
    assert "## Sea exacto" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Module)) == 0


def test_editing_a_module_shows_the_saved_texts_and_saves_changes(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, "Old title", body="Old body")
    html = client.get(f"{BASE}/modules/{module_id}/edit").get_data(as_text=True)
    assert 'value="Old title"' in html
    assert "Old body" in html
    response = client.post(
        f"{BASE}/modules/{module_id}/edit", data=module_form(title_en="New title", required="", estimated_minutes="7")
    )
    assert response.status_code == 302
    module = stored_module(app, module_id)
    assert (module.title["en"], module.required, module.estimated_minutes) == ("New title", False, 7)
    assert "module.updated" in audit_actions(app)
    response = client.post(f"{BASE}/modules/{module_id}/edit", data=module_form(title_en=""))
    assert response.status_code == 422
    assert stored_module(app, module_id).title["en"] == "New title"


def test_the_preview_button_without_javascript_shows_the_text_and_saves_nothing(app, client, login_as):
    login_as("coordinator")
    response = client.post(f"{BASE}/modules/new", data=module_form(title_en="", preview="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h2>Be exact</h2>" in html
    assert "<strong>dirección</strong>" in html
    assert "## Be exact" in html  # the typed Markdown stays in its textarea
    assert 'value="Cómo escribir una solicitud útil"' in html
    assert "title_en-error" not in html  # previewing is not saving: nothing is checked yet
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Module)) == 0


HOSTILE_MARKDOWN = (
    "**safe**\n\n"
    "<script>alert(1)</script>\n\n"
    '<div hx-get="/logout" hx-trigger="load">x</div>\n\n'
    '<a href="/" data-hx-post="/logout">y</a>\n\n'
    "[click me](javascript:alert(1))\n\n"
    '<img src=x onerror="alert(1)">'
)


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every element of an HTML fragment as (tag, attributes), as a browser would build them."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def test_the_live_preview_is_a_sanitised_fragment_inside_hx_disable(client, login_as):
    login_as("coordinator")
    body = HOSTILE_MARKDOWN + "\n\n[the city](https://example.org)"
    response = client.post(f"{BASE}/modules/preview", data={"body": body, "language": "en"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    tags = elements(html)
    assert tags[0][0] == "div"
    assert "hx-disable" in tags[0][1]
    assert ("strong", {}) in tags
    assert ("a", {"href": "https://example.org", "rel": "noopener noreferrer nofollow"}) in tags
    for tag, attributes in tags:
        assert tag not in {"script", "img", "iframe", "form"}, tag
        for name, value in attributes.items():
            assert not name.startswith(("hx-", "data-", "on")) or name == "hx-disable", (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    # The hostile markup is shown as text the coordinator can see and fix, never as elements.
    assert "&lt;script&gt;" in html


def test_the_live_preview_reads_the_module_forms_textarea_of_that_language(client, login_as):
    login_as("coordinator")
    response = client.post(
        f"{BASE}/modules/preview", data={"body_en": "*english*", "body_es": "*español*", "language": "es"}, headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert "<em>español</em>" in html
    assert "english" not in html
    assert 'lang="es"' in html


def test_the_module_form_asks_htmx_for_a_preview_as_the_text_is_typed(app, client, login_as):
    login_as("coordinator")
    html = client.get(f"{BASE}/modules/new").get_data(as_text=True)
    preview = html[html.index('id="preview-en"') :].split(">")[0]
    assert f'hx-post="{BASE}/modules/preview"' in preview
    assert "keyup changed delay:500ms from:#body_en" in preview
    assert 'name="preview" value="1"' in html  # the same preview without JavaScript


# The quiz ------------------------------------------------------------------------------------


def test_quiz_settings_create_the_quiz_then_change_it(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, quiz=False)
    html = client.get(f"{BASE}/modules/{module_id}/quiz").get_data(as_text=True)
    assert "This module has no quiz yet." in html
    assert 'id="question-new"' not in html  # questions come after the quiz exists
    response = client.post(
        f"{BASE}/modules/{module_id}/quiz",
        data={"pass_mark": "70", "attempts_allowed": "", "time_limit_minutes": "20", "shuffle_choices": "y"},
    )
    assert response.status_code == 302
    quiz = stored_module(app, module_id).quiz
    assert (quiz.pass_mark, quiz.attempts_allowed, quiz.time_limit_minutes) == (70, None, 20)
    assert (quiz.shuffle_questions, quiz.shuffle_choices, quiz.is_renewal) == (False, True, False)
    assert "Quiz created." in client.get(response.location).get_data(as_text=True)

    response = client.post(
        f"{BASE}/modules/{module_id}/quiz",
        data={"pass_mark": "90", "attempts_allowed": "2", "time_limit_minutes": "", "is_renewal": "y"},
    )
    assert response.status_code == 302
    quiz = stored_module(app, module_id).quiz
    assert (quiz.pass_mark, quiz.attempts_allowed, quiz.time_limit_minutes, quiz.is_renewal) == (90, 2, None, True)
    assert audit_actions(app).count("quiz.saved") == 2


def test_quiz_settings_out_of_range_are_refused_next_to_the_field(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, quiz=False)
    response = client.post(
        f"{BASE}/modules/{module_id}/quiz", data={"pass_mark": "0", "attempts_allowed": "0", "time_limit_minutes": "x"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="pass_mark-error"[^>]*>\s*The pass mark is a percentage from 1 to 100.', html)
    assert 'id="attempts_allowed-error"' in html
    assert 'id="time_limit_minutes-error"' in html
    assert stored_module(app, module_id).quiz is None


def test_the_quiz_page_runs_the_same_queries_for_2_or_12_questions(app, client, login_as, count_queries):
    login_as("coordinator")
    small = make_module(app, "Small", questions=2)
    large = make_module(app, "Large", questions=12)
    client.get(f"{BASE}/modules/{small}/quiz")
    with count_queries() as few:
        assert client.get(f"{BASE}/modules/{small}/quiz").status_code == 200
    with count_queries() as many:
        html = client.get(f"{BASE}/modules/{large}/quiz").get_data(as_text=True)
    assert html.count('class="liaison-authoring-question"') == 12
    assert len(few) == len(many), many


# Questions -----------------------------------------------------------------------------------


def test_adding_a_single_choice_question_without_javascript_ignores_blank_rows(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app)
    data = question_form(choices=(("911", True), ("", False), ("311", False), ("", False)))
    data["new-prompt_es"] = "¿Adónde van las emergencias?"
    data["new-choices-0-text_es"] = "911"
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=data)
    assert response.status_code == 302
    [question_id] = question_ids(app, module_id)
    assert response.location == f"{BASE}/modules/{module_id}/quiz#question-{question_id}"
    assert questions_of(app, module_id) == [("single", "Where do emergencies go?", [("911", True), ("311", False)])]
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question.prompt["es"] == "¿Adónde van las emergencias?"
        assert question.choices[0].text == {"en": "911", "es": "911"}
        assert question.explanation == {"en": "Emergencies always go to 911."}
    html = client.get(response.location).get_data(as_text=True)
    assert "Question 1 added." in html
    assert "Where do emergencies go?" in html
    assert "question.added" in audit_actions(app)


def test_adding_a_question_with_htmx_returns_a_blank_form_and_the_list_out_of_band(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=1)
    data = question_form(
        "multiple", "Which belong in a request?", (("Exact address", True), ("Since when", True), ("Your mood", False))
    )
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=data, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="question-new"')
    form = html[: html.index("</section>")]
    assert "Which belong in a request?" not in form  # a fresh form for the next question
    assert 'id="question-list" class="liaison-question-list-wrapper" hx-swap-oob="true"' in html
    assert "Question 2 added." in html
    assert "Which belong in a request?" in html
    assert questions_of(app, module_id)[1] == (
        "multiple",
        "Which belong in a request?",
        [("Exact address", True), ("Since when", True), ("Your mood", False)],
    )


def test_choosing_true_false_fills_in_true_and_false_in_both_languages(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app)
    data = question_form("true_false", "311 handles emergencies.", ())
    data["refresh"] = "1"
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=data, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="True"' in html
    assert 'value="Verdadero"' in html
    assert 'value="False"' in html
    assert 'value="Falso"' in html
    assert 'id="new-choices-2-text_en"' not in html  # two rows for a true/false question
    assert "311 handles emergencies." in html  # what was typed stays
    assert question_ids(app, module_id) == []  # asking for the form again saves nothing
    # The page asks for this when the kind changes, and swaps in only the choices.
    page = client.get(f"{BASE}/modules/{module_id}/quiz").get_data(as_text=True)
    assert re.search(
        r'hx-vals=\'\{"refresh": "1"\}\'\s+hx-target="#new-choices-group" hx-select="#new-choices-group"', page
    )


def test_a_true_false_question_needs_one_answer_ticked(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app)
    response = client.post(
        f"{BASE}/modules/{module_id}/quiz/questions", data=question_form("true_false", "311 is for emergencies.", ())
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="new-choices-error"[^>]*>\s*A true/false question has two choices and one is correct.', html)
    assert 'value="Verdadero"' in html
    data = question_form("true_false", "311 is for emergencies.", (("True", False), ("False", True)))
    assert client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=data).status_code == 302
    assert questions_of(app, module_id) == [
        ("true_false", "311 is for emergencies.", [("True", False), ("False", True)])
    ]


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        ("single", (("911", True), ("311", True)), "Mark exactly one choice as correct."),
        ("single", (("911", False), ("311", False)), "Mark exactly one choice as correct."),
        ("single", (("911", True),), "Give at least two choices."),
        ("multiple", (("A", False), ("B", False), ("C", False)), "Mark at least one choice as correct."),
        ("true_false", (("True", True), ("False", False), ("Maybe", False)), "A true/false question has two"),
    ],
)
def test_a_question_that_cannot_be_graded_fairly_is_refused_next_to_the_choices(
    app, client, login_as, kind, choices, message
):
    login_as("coordinator")
    module_id = make_module(app)
    response = client.post(
        f"{BASE}/modules/{module_id}/quiz/questions", data=question_form(kind, "A question?", choices), headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="question-new"')
    assert re.search(rf'id="new-choices-error"[^>]*>\s*{re.escape(message)}', html)
    assert "A question?" in html
    for text, _correct in choices:
        assert f'value="{text}"' in html
    assert question_ids(app, module_id) == []


def test_a_question_without_an_english_prompt_is_refused_next_to_the_prompt(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app)
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=question_form(prompt=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" in html  # without JavaScript: the quiz page, with the form as typed
    assert re.search(r'id="new-prompt_en-error"[^>]*>\s*Write the question in English.', html)
    assert 'value="911"' in html


def test_editing_a_question_in_place_with_htmx(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=2)
    first, second = question_ids(app, module_id)
    url = f"{BASE}/modules/{module_id}/quiz/questions/{second}/edit"
    response = client.get(url, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="question-{second}"')
    assert "<html" not in html
    assert "Edit question 2" in html
    assert 'value="Right 1"' not in html
    assert 'value="Right 2"' in html
    assert 'value="Correcta 2"' in html

    bad = question_form("single", "Changed?", (("A", True), ("B", True)), prefix=f"q{second}")
    response = client.post(url, data=bad, headers=HTMX)
    assert response.status_code == 422
    assert re.search(rf'id="q{second}-choices-error"[^>]*>\s*Mark exactly one choice as correct.', response.text)

    good = question_form("single", "Changed?", (("A", False), ("B", True)), prefix=f"q{second}")
    response = client.post(url, data=good, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="question-{second}" class="liaison-authoring-question"')
    assert "Question 2 saved." in html
    assert "Changed?" in html
    assert f'id="question-{second}-edit"' in html
    assert questions_of(app, module_id)[1] == ("single", "Changed?", [("A", False), ("B", True)])
    assert questions_of(app, module_id)[0][1].endswith("1?")
    assert "question.updated" in audit_actions(app)


def test_editing_a_question_without_javascript_uses_its_own_page(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=1)
    [question_id] = question_ids(app, module_id)
    url = f"{BASE}/modules/{module_id}/quiz/questions/{question_id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert "<html" in html
    assert "Edit question 1" in html
    data = question_form("multiple", "Pick all", (("A", True), ("B", True)), prefix=f"q{question_id}")
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert response.location == f"{BASE}/modules/{module_id}/quiz#question-{question_id}"
    assert questions_of(app, module_id) == [("multiple", "Pick all", [("A", True), ("B", True)])]


def test_deleting_a_question_asks_for_confirmation_first(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=2)
    first, second = question_ids(app, module_id)
    url = f"{BASE}/modules/{module_id}/quiz/questions/{first}/delete"
    response = client.post(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Delete question 1?" in html
    assert 'name="confirmed" value="1"' in html
    assert question_ids(app, module_id) == [first, second]

    quiz_page = client.get(f"{BASE}/modules/{module_id}/quiz").get_data(as_text=True)
    assert 'hx-confirm="Delete question 1?' in quiz_page  # with JavaScript the browser asks

    response = client.post(url, data={"confirmed": "1"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="question-list"')
    assert "Question 1 deleted." in html
    assert f'id="question-{first}"' not in html
    assert question_ids(app, module_id) == [second]
    assert "question.deleted" in audit_actions(app)


def test_deleting_without_javascript_returns_to_the_quiz(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=1)
    [question_id] = question_ids(app, module_id)
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions/{question_id}/delete", data={"confirmed": "1"})
    assert response.status_code == 302
    assert "Question 1 deleted." in client.get(response.location).get_data(as_text=True)
    assert question_ids(app, module_id) == []


def test_moving_questions_reorders_them(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=3)
    first, second, third = question_ids(app, module_id)
    html = client.get(f"{BASE}/modules/{module_id}/quiz").get_data(as_text=True)
    assert f'id="question-{first}-up"' not in html
    assert f'id="question-{third}-down"' not in html
    response = client.post(
        f"{BASE}/modules/{module_id}/quiz/questions/{third}/move", data={"direction": "up"}, headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="question-list"')
    assert "Question moved to number 2." in html
    assert html.index(f'id="question-{third}"') < html.index(f'id="question-{second}"')
    assert question_ids(app, module_id) == [first, third, second]
    response = client.post(f"{BASE}/modules/{module_id}/quiz/questions/{first}/move", data={"direction": "down"})
    assert response.status_code == 302
    assert question_ids(app, module_id) == [third, first, second]
    assert "question.moved" in audit_actions(app)


def test_a_question_of_another_module_is_not_found(app, client, login_as):
    login_as("coordinator")
    one = make_module(app, "One", questions=1)
    other = make_module(app, "Other", questions=1)
    [foreign] = question_ids(app, other)
    assert client.get(f"{BASE}/modules/{one}/quiz/questions/{foreign}/edit").status_code == 404
    response = client.post(f"{BASE}/modules/{one}/quiz/questions/{foreign}/delete", data={"confirmed": "1"})
    assert response.status_code == 404
    assert question_ids(app, other) == [foreign]
    assert client.get(f"{BASE}/modules/99999/edit").status_code == 404


def test_a_module_without_a_quiz_takes_no_questions(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, quiz=False)
    assert client.post(f"{BASE}/modules/{module_id}/quiz/questions", data=question_form()).status_code == 404


# Previewing the quiz -------------------------------------------------------------------------


def test_the_quiz_preview_shows_the_questions_without_answers_or_explanations(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app, questions=2)
    response = client.get(f"{BASE}/modules/{module_id}/quiz/preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="preview-banner"' in html
    assert "Nothing you choose here is saved" in html
    assert "Question What 311 is 1?" in html
    assert "Right 1" in html
    assert "Wrong 2" in html
    assert "Because of reason" not in html  # explanations come only after a real submission
    assert "Right answer" not in html
    assert "correct" not in html.lower()
    assert re.search(r'<button[^>]*id="submit-answers"[^>]*\bdisabled\b', html)
    [quiz_form] = [attrs for tag, attrs in elements(html) if tag == "form" and "liaison-quiz" in attrs.get("class", "")]
    assert "method" not in quiz_form  # the preview cannot send anything
    assert "action" not in quiz_form


def test_the_quiz_preview_is_in_the_coordinators_language(app, client, login_as):
    login_as("coordinator", preferred_language="es")
    module_id = make_module(app, questions=1)
    html = client.get(f"{BASE}/modules/{module_id}/quiz/preview").get_data(as_text=True)
    assert "¿Pregunta 1?" in html
    assert "Correcta 1" in html
    assert "Right 1" not in html


def test_a_quiz_without_questions_has_nothing_to_preview(app, client, login_as):
    login_as("coordinator")
    module_id = make_module(app)
    html = client.get(f"{BASE}/modules/{module_id}/quiz/preview").get_data(as_text=True)
    assert "the quiz has no questions" in html
    assert "submit-answers" not in html


def test_authoring_pages_vary_on_htmx_requests(app, client, login_as):
    login_as("coordinator")
    response = client.get(f"{BASE}/")
    assert "HX-Request" in response.headers.get("Vary", "")
