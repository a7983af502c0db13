"""Coordinators author training: modules, Markdown preview, publishing, quizzes and questions."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from liaison.errors import DomainError, NotFound
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, coordinator_required
from liaison.training import grading, services
from liaison.training.authoring_forms import BODY_MAX, ModuleForm, QuestionForm, QuizSettingsForm
from liaison.training.content import current_language, localized, render_markdown
from liaison.training.models import Module, Question, Quiz

bp = Blueprint("authoring", __name__)
bp.after_request(add_vary_header)
PER_PAGE = 50
NEW_QUESTION_PREFIX = "new"


def _page_number(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _direction() -> int:
    """-1 for "up", +1 for "down"; anything else is a malformed request."""
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    return -1 if direction == "up" else 1


# The module list ----------------------------------------------------------------------------


def _question_counts(quiz_ids: list[int]) -> dict[int, int]:
    if not quiz_ids:
        return {}
    rows = db.session.execute(
        select(Question.quiz_id, func.count().label("count"))
        .where(Question.quiz_id.in_(quiz_ids))
        .group_by(Question.quiz_id)
    )
    return {row.quiz_id: row.count for row in rows}


def _edges() -> tuple[int | None, int | None]:
    """The first and last positions, so the first module has no "move up" (and the last no "down")."""
    first, last = db.session.execute(select(func.min(Module.position), func.max(Module.position))).one()
    return first, last


def _list_context(page_number: int | None = None, **extra: Any) -> dict[str, Any]:
    """Everything the module list shows, in a fixed number of queries."""
    query = select(Module).options(selectinload(Module.quiz)).order_by(Module.position, Module.id)
    page: Pagination = db.paginate(query, page=page_number, per_page=PER_PAGE, error_out=False)
    counts = _question_counts([module.quiz.id for module in page.items if module.quiz is not None])
    return {"page": page, "question_counts": counts, "edges": _edges(), "errors": {}, **extra}


def _row_context(module: Module, **extra: Any) -> dict[str, Any]:
    counts = _question_counts([module.quiz.id] if module.quiz is not None else [])
    page_number = _page_number(request.form.get("page"))
    number = db.session.scalar(select(func.count()).where(Module.position < module.position)) + 1
    return {
        "module": module,
        "number": number,
        "question_counts": counts,
        "edges": _edges(),
        "errors": {},
        "page_number": page_number,
        **extra,
    }


@bp.get("/")
@coordinator_required
def index() -> Any:
    return render_template("authoring/index.html", **_list_context())


@bp.post("/modules/<int:module_id>/move")
@coordinator_required
def move_module(module_id: int) -> Any:
    module = services.get_module(module_id)
    direction = _direction()
    services.move_module(acting_user(), module, direction)
    db.session.commit()
    title = localized(module.title)
    message = _("%(title)s moved up.", title=title) if direction < 0 else _("%(title)s moved down.", title=title)
    page_number = _page_number(request.form.get("page"))
    if is_htmx():
        return render_template("authoring/_modules.html", **_list_context(page_number, message=message))
    flash(message, "success")
    return redirect(url_for("authoring.index", page=page_number if page_number > 1 else None))


@bp.post("/modules/<int:module_id>/publish")
@coordinator_required
def publish_module(module_id: int) -> Any:
    module = services.get_module(module_id)
    published = request.form.get("published")
    if published not in ("0", "1"):
        abort(400)
    page_number = _page_number(request.form.get("page"))
    try:
        services.set_module_published(acting_user(), module, published == "1")
    except DomainError as error:
        db.session.rollback()
        errors = {module.id: str(error.message)}
        if is_htmx():
            return render_template("authoring/_module_row.html", **_row_context(module, errors=errors)), 422
        return render_template("authoring/index.html", **_list_context(page_number, errors=errors)), 422
    db.session.commit()
    title = localized(module.title)
    message = (
        _("%(title)s is published: liaisons can read it.", title=title)
        if module.published
        else _("%(title)s is back to draft: liaisons no longer see it.", title=title)
    )
    if is_htmx():
        return render_template("authoring/_module_row.html", **_row_context(module, message=message))
    flash(message, "success")
    return redirect(url_for("authoring.index", page=page_number if page_number > 1 else None))


# Writing a module ---------------------------------------------------------------------------


def _module_input(form: ModuleForm) -> services.ModuleInput:
    return services.ModuleInput(
        title={"en": form.title_en.data or "", "es": form.title_es.data or ""},
        summary={"en": form.summary_en.data or "", "es": form.summary_es.data or ""},
        body={"en": form.body_en.data or "", "es": form.body_es.data or ""},
        estimated_minutes=form.estimated_minutes.data or 0,
        required=bool(form.required.data),
    )


def _module_data(module: Module) -> dict[str, Any]:
    data: dict[str, Any] = {"estimated_minutes": module.estimated_minutes, "required": module.required}
    for language in ("en", "es"):
        data[f"title_{language}"] = module.title.get(language, "")
        data[f"summary_{language}"] = module.summary.get(language, "")
        data[f"body_{language}"] = module.body.get(language, "")
    return data


def _previews(form: ModuleForm) -> dict[str, Markup]:
    return {
        "en": render_markdown((form.body_en.data or "")[:BODY_MAX]),
        "es": render_markdown((form.body_es.data or "")[:BODY_MAX]),
    }


def _module_page(form: ModuleForm, module: Module | None, status: int) -> Any:
    context = {"form": form, "module": module, "previews": _previews(form)}
    if module is not None:
        context["question_count"] = len(module.quiz.questions) if module.quiz is not None else 0
    return render_template("authoring/module_form.html", **context), status


def _wants_preview() -> bool:
    # The form's "Preview" button (for browsers without JavaScript): show the text, save nothing.
    return request.method == "POST" and request.form.get("preview") == "1"


@bp.route("/modules/new", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def create_module() -> Any:
    form = ModuleForm()
    if _wants_preview():
        return _module_page(form, None, 200)
    if form.validate_on_submit():
        try:
            module = services.create_module(acting_user(), _module_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Module created as a draft. Set up its quiz, then publish it."), "success")
            return redirect(url_for("authoring.edit_module", module_id=module.id))
    return _module_page(form, None, 422 if request.method == "POST" else 200)


@bp.route("/modules/<int:module_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def edit_module(module_id: int) -> Any:
    module = services.get_module(module_id)
    form = ModuleForm(data=_module_data(module))
    if _wants_preview():
        return _module_page(form, module, 200)
    if form.validate_on_submit():
        try:
            services.update_module(acting_user(), module, _module_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("%(title)s saved.", title=localized(module.title)), "success")
            return redirect(url_for("authoring.edit_module", module_id=module.id))
    return _module_page(form, module, 422 if request.method == "POST" else 200)


@bp.post("/modules/preview")
@coordinator_required
def preview() -> Any:
    """The Markdown `body` rendered and sanitised, as a fragment (the module form's live preview).

    The module form sends its textareas as `body_en` / `body_es`; those are read when `body` is absent.
    """
    language = request.form.get("language", "en")
    if language not in current_app.config["LANGUAGES"]:
        language = "en"
    text = request.form.get("body")
    if text is None:
        text = request.form.get(f"body_{language}", "")
    return render_template("authoring/_preview.html", html=render_markdown(text[:BODY_MAX]), language=language)


# The quiz -----------------------------------------------------------------------------------


def _quiz_data(quiz: Quiz) -> dict[str, Any]:
    return {
        "pass_mark": quiz.pass_mark,
        "attempts_allowed": quiz.attempts_allowed,
        "shuffle_questions": quiz.shuffle_questions,
        "shuffle_choices": quiz.shuffle_choices,
        "time_limit_minutes": quiz.time_limit_minutes,
        "is_renewal": quiz.is_renewal,
    }


def _questions(quiz: Quiz | None) -> list[Question]:
    """The quiz's questions in order with their choices (two queries)."""
    if quiz is None:
        return []
    return list(
        db.session.scalars(
            select(Question)
            .where(Question.quiz_id == quiz.id)
            .options(selectinload(Question.choices))
            .order_by(Question.position, Question.id)
        )
    )


def _new_question_form(formdata: bool = True) -> QuestionForm:
    if formdata:
        form = QuestionForm(prefix=NEW_QUESTION_PREFIX)
    else:
        form = QuestionForm(prefix=NEW_QUESTION_PREFIX, formdata=None)
    form.prefill_true_false()
    return form


def _quiz_context(module: Module, question_form: QuestionForm | None = None) -> dict[str, Any]:
    return {
        "module": module,
        "quiz": module.quiz,
        "questions": _questions(module.quiz),
        "question_form": question_form or _new_question_form(formdata=False),
    }


@bp.route("/modules/<int:module_id>/quiz", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def quiz(module_id: int) -> Any:
    module = services.get_module(module_id)
    form = QuizSettingsForm(data=_quiz_data(module.quiz)) if module.quiz is not None else QuizSettingsForm()
    if form.validate_on_submit():
        created = module.quiz is None
        try:
            services.save_quiz_settings(
                acting_user(),
                module,
                services.QuizSettings(
                    pass_mark=form.pass_mark.data,
                    attempts_allowed=form.attempts_allowed.data,
                    shuffle_questions=bool(form.shuffle_questions.data),
                    shuffle_choices=bool(form.shuffle_choices.data),
                    time_limit_minutes=form.time_limit_minutes.data,
                    is_renewal=bool(form.is_renewal.data),
                ),
            )
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Quiz created. Add its questions below.") if created else _("Quiz settings saved."), "success")
            return redirect(url_for("authoring.quiz", module_id=module.id))
    status = 422 if request.method == "POST" else 200
    return render_template("authoring/quiz.html", settings_form=form, **_quiz_context(module)), status


def _quiz_of(module_id: int) -> tuple[Module, Quiz]:
    module = services.get_module(module_id)
    if module.quiz is None:
        raise NotFound()
    return module, module.quiz


def _question_input(form: QuestionForm) -> services.QuestionInput:
    return services.QuestionInput(
        kind=form.kind_value,
        prompt={"en": form.prompt_en.data or "", "es": form.prompt_es.data or ""},
        explanation={"en": form.explanation_en.data or "", "es": form.explanation_es.data or ""},
        choices=[
            services.ChoiceInput(
                text={"en": row.form.text_en.data or "", "es": row.form.text_es.data or ""},
                correct=bool(row.form.correct.data),
            )
            for row in form.choices
        ],
    )


def _question_data(question: Question) -> dict[str, Any]:
    return {
        "kind": question.kind.value,
        "prompt_en": question.prompt.get("en", ""),
        "prompt_es": question.prompt.get("es", ""),
        "explanation_en": question.explanation.get("en", ""),
        "explanation_es": question.explanation.get("es", ""),
        "choices": [
            {"text_en": choice.text.get("en", ""), "text_es": choice.text.get("es", ""), "correct": choice.correct}
            for choice in question.choices
        ],
    }


def _refreshing() -> bool:
    # htmx asks for the form again when the kind of question changes (true/false gets its two
    # choices filled in); nothing is saved.
    return is_htmx() and request.form.get("refresh") == "1"


def _list_fragment(module: Module, **extra: Any) -> str:
    return render_template("authoring/_question_list.html", module=module, questions=_questions(module.quiz), **extra)


@bp.post("/modules/<int:module_id>/quiz/questions")
@csrf_checked_by_form
@coordinator_required
def add_question(module_id: int) -> Any:
    module, quiz = _quiz_of(module_id)
    form = _new_question_form()
    if _refreshing():
        return render_template("authoring/_question_add.html", module=module, question_form=form)
    if form.validate_on_submit():
        try:
            question = services.add_question(acting_user(), quiz, _question_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            message = _("Question %(number)d added.", number=len(quiz.questions))
            if is_htmx():
                # The fresh form replaces the one sent; the list is updated out of band.
                blank = _new_question_form(formdata=False)
                form_html = render_template("authoring/_question_add.html", module=module, question_form=blank)
                return form_html + _list_fragment(module, message=message, oob=True)
            flash(message, "success")
            return redirect(url_for("authoring.quiz", module_id=module.id, _anchor=f"question-{question.id}"))
    if is_htmx():
        return render_template("authoring/_question_add.html", module=module, question_form=form), 422
    context = _quiz_context(module, question_form=form)
    return render_template("authoring/quiz.html", settings_form=_settings_form(module), **context), 422


def _settings_form(module: Module) -> QuizSettingsForm:
    assert module.quiz is not None  # noqa: S101 - callers load the quiz first
    return QuizSettingsForm(formdata=None, data=_quiz_data(module.quiz))


def _load_question(module_id: int, question_id: int) -> tuple[Module, Quiz, Question]:
    module, quiz = _quiz_of(module_id)
    return module, quiz, services.get_question(question_id, quiz.id)


def _numbered(module: Module, question: Question) -> dict[str, Any]:
    """The question's number and whether it can move up or down."""
    ids = [item.id for item in _questions(module.quiz)]
    index = ids.index(question.id)
    return {"number": index + 1, "first": index == 0, "last": index == len(ids) - 1}


@bp.route("/modules/<int:module_id>/quiz/questions/<int:question_id>/edit", methods=["GET", "POST"])
@csrf_checked_by_form
@coordinator_required
def edit_question(module_id: int, question_id: int) -> Any:
    module, _quiz, question = _load_question(module_id, question_id)
    form = QuestionForm(prefix=f"q{question.id}", data=_question_data(question))
    form.prefill_true_false()
    context = {"module": module, "question": question, "question_form": form, **_numbered(module, question)}
    if _refreshing():
        return render_template("authoring/_question_editing.html", **context)
    if form.validate_on_submit():
        try:
            services.update_question(acting_user(), question, _question_input(form))
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            message = _("Question %(number)d saved.", number=context["number"])
            if is_htmx():
                return render_template("authoring/_question_row.html", **context, message=message)
            flash(message, "success")
            return redirect(url_for("authoring.quiz", module_id=module.id, _anchor=f"question-{question.id}"))
    status = 422 if request.method == "POST" else 200
    if is_htmx():
        return render_template("authoring/_question_editing.html", **context), status
    return render_template("authoring/question_edit.html", **context), status


@bp.post("/modules/<int:module_id>/quiz/questions/<int:question_id>/delete")
@coordinator_required
def delete_question(module_id: int, question_id: int) -> Any:
    module, _quiz, question = _load_question(module_id, question_id)
    if request.form.get("confirmed") != "1":
        # Without JavaScript the delete button leads here first: a page that asks to confirm.
        return render_template(
            "authoring/question_delete.html", module=module, question=question, **_numbered(module, question)
        )
    number = _numbered(module, question)["number"]
    services.delete_question(acting_user(), question)
    db.session.commit()
    message = _("Question %(number)d deleted.", number=number)
    if is_htmx():
        return _list_fragment(module, message=message)
    flash(message, "success")
    return redirect(url_for("authoring.quiz", module_id=module.id, _anchor="questions"))


@bp.post("/modules/<int:module_id>/quiz/questions/<int:question_id>/move")
@coordinator_required
def move_question(module_id: int, question_id: int) -> Any:
    module, _quiz, question = _load_question(module_id, question_id)
    direction = _direction()
    services.move_question(acting_user(), question, direction)
    db.session.commit()
    number = _numbered(module, question)["number"]
    message = _("Question moved to number %(number)d.", number=number)
    if is_htmx():
        return _list_fragment(module, message=message)
    flash(message, "success")
    return redirect(url_for("authoring.quiz", module_id=module.id, _anchor=f"question-{question.id}"))


@bp.get("/modules/<int:module_id>/quiz/preview")
@coordinator_required
def preview_quiz(module_id: int) -> Any:
    module = services.get_module(module_id)
    quiz = module.quiz
    questions: list[dict[str, Any]] = []
    if quiz is not None:
        snapshot = grading.build_snapshot(
            _questions(quiz),
            language=current_language(),
            seed=secrets.randbits(32),
            shuffle_questions=quiz.shuffle_questions,
            shuffle_choices=quiz.shuffle_choices,
        )
        # Only the public view: the preview page, like the quiz page, never holds the answers.
        questions = grading.public_view(snapshot)
    return render_template(
        "authoring/quiz_preview.html",
        module=module,
        quiz=quiz,
        questions=questions,
    )
