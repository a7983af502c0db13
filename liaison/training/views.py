"""Liaisons take training: the module list, reading a module, taking a quiz, results.

Every rule (what a state means, how many attempts remain, grading, time limits) lives in
liaison.training.services; these views load, call a service, commit once and respond.
A quiz page renders only `grading.public_view(snapshot)`: never a correct answer or an
explanation (SECURITY.md: quiz pages never contain answers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel.lists import format_list
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.enrollment.services import active_membership
from liaison.errors import Conflict, NotFound
from liaison.extensions import db
from liaison.forms import csrf_checked_by_form
from liaison.htmx import add_vary_header, is_htmx
from liaison.permissions import acting_user, liaison_required
from liaison.training import grading, services
from liaison.training.content import current_language, localized, render_markdown
from liaison.training.forms import ActionForm, AnswersForm
from liaison.training.models import AttemptStatus, Module, Quiz, QuizAttempt
from liaison.urls import RowUrl

bp = Blueprint("training", __name__)
bp.after_request(add_vary_header)
# Module titles are shown in the reader's language here and on the liaison dashboard.


# The module list -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModuleLine:
    """A module of the list as the template shows it, built in Python once per module (a
    url_for, two translations and a plural per module cost more in the template than the rest)."""

    item: services.ModuleProgress
    url: str
    title: str
    summary: str
    minutes: str
    best_score: str  # "" before any attempt


def _module_lines(progress: services.Progress) -> list[ModuleLine]:
    url = RowUrl("training.module", "module_id")
    language = current_language()
    best_score = _("Best score %(score)d%%")  # no values given: the translated pattern itself
    minutes: dict[int, str] = {}
    lines = []
    for item in progress.modules:
        module = item.module
        estimate = module.estimated_minutes
        if estimate not in minutes:
            minutes[estimate] = ngettext("about %(num)d minute", "about %(num)d minutes", estimate)
        lines.append(
            ModuleLine(
                item,
                url(module.id),
                localized(module.title, language),
                localized(module.summary, language),
                minutes[estimate],
                "" if item.best_score is None else best_score % {"score": item.best_score},
            )
        )
    return lines


@bp.get("/")
@liaison_required
def index() -> Any:
    progress = services.progress_for(acting_user())
    return render_template("training/index.html", progress=progress, lines=_module_lines(progress))


# Reading a module ----------------------------------------------------------------------------


@bp.get("/modules/<int:module_id>")
@liaison_required
def module(module_id: int) -> Any:
    found = services.get_module(module_id, published_only=True)
    return _module_page(found, ActionForm(formdata=None))


@bp.post("/modules/<int:module_id>/read")
@csrf_checked_by_form
@liaison_required
def mark_read(module_id: int) -> Any:
    found = services.get_module(module_id, published_only=True)
    form = ActionForm()
    if not form.validate_on_submit():
        return _module_page(found, form, status=422)
    try:
        with db.session.begin_nested():
            services.mark_read(acting_user(), found)
    except IntegrityError:
        pass  # a double click recorded the same read a moment ago: it is read either way
    db.session.commit()
    if is_htmx():
        return _module_page(found, ActionForm(formdata=None), just_read=True)
    flash(_("You marked this module as read."), "success")
    return redirect(url_for("training.module", module_id=found.id, _anchor="module-actions"))


@bp.post("/modules/<int:module_id>/quiz/start")
@csrf_checked_by_form
@liaison_required
def start_quiz(module_id: int) -> Any:
    found = services.get_module(module_id, published_only=True)
    if found.quiz is None:
        raise NotFound()
    form = ActionForm()
    if not form.validate_on_submit():
        return _module_page(found, form, status=422)
    try:
        attempt = services.start_attempt(acting_user(), found.quiz, language=current_language())
    except Conflict:
        # Every attempt is used: the module page says so and whom to ask for another try.
        db.session.rollback()
        return redirect(url_for("training.module", module_id=found.id, _anchor="module-actions"))
    db.session.commit()
    return redirect(url_for("training.attempt", attempt_id=attempt.id))


def _module_page(module: Module, form: ActionForm, *, status: int = 200, just_read: bool = False) -> Any:
    user = acting_user()
    progress = services.progress_for(user)
    item = next((entry for entry in progress.modules if entry.module.id == module.id), None)
    if item is None:
        raise NotFound()
    quiz = module.quiz
    following = progress.next_module
    context = {
        "module": module,
        "item": item,
        "quiz": quiz,
        "question_count": len(quiz.questions) if quiz else 0,
        "time_limit": _time_limit(user, quiz) if quiz else None,
        "open_attempt": services.open_attempt(user.id, quiz.id) if quiz and not item.passed else None,
        "contacts": _contacts(user) if item.state is services.ModuleState.LOCKED else None,
        "next_item": following if following is not None and following.module.id != module.id else None,
        "form": form,
        "just_read": just_read,
    }
    if is_htmx():
        return render_template("training/_module_actions.html", **context), status
    body = localized(module.body)
    context.update(
        body=render_markdown(body),
        body_language=_language_of(module.body, body),
    )
    return render_template("training/module.html", **context), status


# Taking a quiz -------------------------------------------------------------------------------


@bp.get("/attempts/<int:attempt_id>")
@liaison_required
def attempt(attempt_id: int) -> Any:
    found = services.get_attempt(acting_user(), attempt_id)
    if found.status is AttemptStatus.SUBMITTED:
        return redirect(url_for("training.result", attempt_id=found.id))
    return _quiz_page(found, AnswersForm(formdata=None), chosen={})


@bp.post("/attempts/<int:attempt_id>")
@csrf_checked_by_form
@liaison_required
def submit_attempt(attempt_id: int) -> Any:
    user = acting_user()
    form = AnswersForm()
    if not form.validate_on_submit():
        found = services.get_attempt(user, attempt_id)
        if found.status is AttemptStatus.SUBMITTED:
            return redirect(url_for("training.result", attempt_id=found.id))
        return _quiz_page(found, form, chosen=form.raw_answers(), status=422)
    # A second submit (double click, another tab) returns the attempt as graded the first time.
    services.submit_attempt(user, attempt_id, form.raw_answers())
    db.session.commit()
    return redirect(url_for("training.result", attempt_id=attempt_id))


def _quiz_page(
    attempt: QuizAttempt, form: AnswersForm, *, chosen: Mapping[str, Sequence[str]], status: int = 200
) -> Any:
    quiz = attempt.quiz
    # Only the public view of the snapshot reaches the template: no correctness, no explanations.
    return (
        render_template(
            "training/attempt.html",
            attempt_id=attempt.id,
            attempt_number=attempt.number,
            attempt_language=attempt.language,
            deadline=attempt.deadline_at,
            now=utcnow(),
            questions=grading.public_view(attempt.snapshot),
            module=quiz.module,
            pass_mark=quiz.pass_mark,
            attempts_limit=services.attempts_limit(quiz, services.accommodation_for(attempt.user_id, quiz.id)),
            chosen=chosen,
            form=form,
        ),
        status,
    )


# Results -------------------------------------------------------------------------------------


@bp.get("/attempts/<int:attempt_id>/result")
@liaison_required
def result(attempt_id: int) -> Any:
    user = acting_user()
    found = services.get_attempt(user, attempt_id)
    if found.status is not AttemptStatus.SUBMITTED:
        return redirect(url_for("training.attempt", attempt_id=found.id))
    grade = services.attempt_result(found)
    module = found.quiz.module
    progress = services.progress_for(user)
    item = next((entry for entry in progress.modules if entry.module.id == module.id), None)
    locked = item is not None and item.state is services.ModuleState.LOCKED
    following = progress.next_module
    return render_template(
        "training/result.html",
        attempt=found,
        rows=list(zip(found.snapshot, grade.results, strict=True)),
        right_count=grade.right_count,
        module=module,
        pass_mark=found.quiz.pass_mark,
        item=item,
        locked=locked,
        can_retake=item is not None and not item.passed and not locked,
        contacts=_contacts(user) if locked else None,
        next_item=following if following is not None and following.module.id != module.id else None,
        form=ActionForm(formdata=None),
    )


# Helpers -------------------------------------------------------------------------------------


def _time_limit(user: User, quiz: Quiz) -> int | None:
    """The liaison's minutes for the quiz, extra time granted to them included."""
    if not quiz.time_limit_minutes:
        return None
    accommodation = services.accommodation_for(user.id, quiz.id)
    return quiz.time_limit_minutes + (accommodation.extra_minutes if accommodation else 0)


def _contacts(user: User) -> str | None:
    """The names of the liaison's cohort coordinators, as a list in the reader's language."""
    membership = active_membership(user.id)
    if membership is None:
        return None
    names = [coordinator.full_name for coordinator in membership.cohort.coordinators if coordinator.active]
    return format_list(names, locale=get_locale()) if names else None


def _language_of(texts: Any, shown: str) -> str:
    """The language a localized text was shown in (it falls back to English)."""
    current = current_language()
    if isinstance(texts, dict) and texts.get(current) != shown:
        for language, text in texts.items():
            if text == shown:
                return str(language)
    return current
