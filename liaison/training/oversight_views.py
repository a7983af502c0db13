"""Coordinators oversee training: accommodations, item analysis, per-liaison progress.

Every coordinator may oversee every liaison (training is program-wide, not per cohort). The
rules (limits, unlocking, audit events, progress, item analysis) live in training.services;
these views load, call and respond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import load_only, selectinload

from liaison.auth.models import Role, User
from liaison.enrollment.services import active_membership
from liaison.errors import Conflict, DomainError, NotFound
from liaison.extensions import db
from liaison.forms import apply_domain_error, csrf_checked_by_form
from liaison.htmx import is_htmx
from liaison.permissions import acting_user, coordinator_required
from liaison.training import services
from liaison.training.content import current_language, localized
from liaison.training.models import AttemptStatus, Question, Quiz, QuizAccommodation, QuizAttempt
from liaison.training.oversight_forms import AccommodationForm, UnlockForm

bp = Blueprint("oversight", __name__)

# Registered at /coordinator/training (liaison/__init__.py).
LIAISON = "/liaisons/<int:user_id>"
# Attempts listed per quiz on a liaison's page (the newest; a liaison rarely has more).
LATEST_ATTEMPTS = 5


@dataclass(frozen=True)
class ModuleOverview:
    """One published module as a coordinator sees it for one liaison."""

    item: services.ModuleProgress
    attempts: list[QuizAttempt]
    extra_attempts: int
    extra_minutes: int

    @property
    def quiz(self) -> Quiz | None:
        return self.item.module.quiz


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"localized": localized}


# Loading ------------------------------------------------------------------------------------


def _get_liaison(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.LIAISON:
        raise NotFound()
    return user


def _get_quiz(quiz_id: int) -> Quiz:
    """A quiz of a published module (only those are on a liaison's page), or NotFound."""
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None or not quiz.module.published:
        raise NotFound()
    return quiz


def _latest_attempts(user_id: int, quiz_ids: list[int]) -> dict[int, list[QuizAttempt]]:
    """The newest attempts per quiz, in one query, without their snapshots."""
    if not quiz_ids:
        return {}
    ranked = (
        select(
            QuizAttempt.id,
            func.row_number()
            .over(partition_by=QuizAttempt.quiz_id, order_by=QuizAttempt.number.desc())
            .label("newest"),
        )
        .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(quiz_ids))
        .subquery()
    )
    attempts = db.session.scalars(
        select(QuizAttempt)
        .join(ranked, ranked.c.id == QuizAttempt.id)
        .where(ranked.c.newest <= LATEST_ATTEMPTS)
        .order_by(QuizAttempt.quiz_id, QuizAttempt.number.desc())
        .options(
            load_only(
                QuizAttempt.id,
                QuizAttempt.quiz_id,
                QuizAttempt.user_id,
                QuizAttempt.number,
                QuizAttempt.status,
                QuizAttempt.started_at,
                QuizAttempt.deadline_at,
                QuizAttempt.submitted_at,
                QuizAttempt.score,
                QuizAttempt.passed,
                QuizAttempt.late,
            )
        )
    )
    by_quiz: dict[int, list[QuizAttempt]] = {}
    for attempt in attempts:
        by_quiz.setdefault(attempt.quiz_id, []).append(attempt)
    return by_quiz


def _overview(user: User, quiz_id: int | None = None) -> tuple[services.Progress, list[ModuleOverview]]:
    """The liaison's progress and each published module's details (a fixed number of queries)."""
    progress = services.progress_for(user)
    items = [
        item
        for item in progress.modules
        if quiz_id is None or (item.module.quiz is not None and item.module.quiz.id == quiz_id)
    ]
    quiz_ids = [item.module.quiz.id for item in items if item.module.quiz is not None]
    attempts = _latest_attempts(user.id, quiz_ids)
    accommodations = (
        {
            row.quiz_id: row
            for row in db.session.scalars(
                select(QuizAccommodation).where(
                    QuizAccommodation.user_id == user.id, QuizAccommodation.quiz_id.in_(quiz_ids)
                )
            )
        }
        if quiz_ids
        else {}
    )
    entries = []
    for item in items:
        quiz = item.module.quiz
        granted = accommodations.get(quiz.id) if quiz is not None else None
        entries.append(
            ModuleOverview(
                item=item,
                attempts=attempts.get(quiz.id, []) if quiz is not None else [],
                extra_attempts=granted.extra_attempts if granted else 0,
                extra_minutes=granted.extra_minutes if granted else 0,
            )
        )
    return progress, entries


def _grant_forms(
    entries: list[ModuleOverview], failed: dict[int, AccommodationForm] | None = None
) -> dict[int, AccommodationForm]:
    """An empty accommodation form per quiz, except one that came back with errors (by quiz id)."""
    forms = {
        entry.quiz.id: AccommodationForm(formdata=None).for_quiz(entry.quiz.id)
        for entry in entries
        if entry.quiz is not None
    }
    return forms | (failed or {})


# A liaison's training -----------------------------------------------------------------------


@bp.get(LIAISON)
@coordinator_required
def liaison(user_id: int) -> Any:
    user = _get_liaison(user_id)
    progress, entries = _overview(user)
    return render_template(
        "oversight/liaison.html",
        user=user,
        membership=active_membership(user.id),
        progress=progress,
        entries=entries,
        grant_forms=_grant_forms(entries),
    )


def _quiz_response(
    user: User,
    quiz: Quiz,
    *,
    message: str,
    status: int = 200,
    form: AccommodationForm | None = None,
) -> Any:
    """After a change to one quiz: its section (htmx), else back to the page (or the page with errors)."""
    failed = status >= 400
    if is_htmx():
        _progress, [entry] = _overview(user, quiz.id)
        return render_template(
            "oversight/_module.html",
            user=user,
            entry=entry,
            grant_forms=_grant_forms([entry], {quiz.id: form} if form is not None else None),
            message=message,
            message_failed=failed,
        ), status
    if status == 422 and form is not None:
        # Without JavaScript the whole page comes back, with what was typed and the message.
        progress, entries = _overview(user)
        return render_template(
            "oversight/liaison.html",
            user=user,
            membership=active_membership(user.id),
            progress=progress,
            entries=entries,
            grant_forms=_grant_forms(entries, {quiz.id: form}),
        ), status
    flash(message, "error" if failed else "success")
    return redirect(url_for("oversight.liaison", user_id=user.id, _anchor=f"quiz-{quiz.id}"))


def _granted_message(user: User, quiz: Quiz, extra_attempts: int, extra_minutes: int) -> str:
    module = localized(quiz.module.title)
    sentences = []
    if extra_attempts:
        sentences.append(
            ngettext(
                "%(name)s can take the quiz of %(module)s %(num)d more time.",
                "%(name)s can take the quiz of %(module)s %(num)d more times.",
                extra_attempts,
                name=user.full_name,
                module=module,
            )
        )
    if extra_minutes:
        sentences.append(
            ngettext(
                "%(name)s has %(num)d more minute on each new attempt at the quiz of %(module)s.",
                "%(name)s has %(num)d more minutes on each new attempt at the quiz of %(module)s.",
                extra_minutes,
                name=user.full_name,
                module=module,
            )
        )
    return " ".join(sentences)


@bp.post(LIAISON + "/quizzes/<int:quiz_id>/accommodation")
@csrf_checked_by_form
@coordinator_required
def grant(user_id: int, quiz_id: int) -> Any:
    user = _get_liaison(user_id)
    quiz = _get_quiz(quiz_id)
    form = AccommodationForm().for_quiz(quiz.id)
    if form.validate_on_submit():
        values = form.values()
        try:
            services.grant_accommodation(acting_user(), user, quiz, **values)
        except DomainError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            message = _granted_message(user, quiz, values["extra_attempts"], values["extra_minutes"])
            return _quiz_response(user, quiz, message=message)
    form.move_errors_of_hidden_fields(
        form.shown_fields(limited_attempts=quiz.attempts_allowed is not None, timed=bool(quiz.time_limit_minutes))
    )
    return _quiz_response(user, quiz, message="", status=422, form=form)


@bp.post(LIAISON + "/quizzes/<int:quiz_id>/unlock")
@csrf_checked_by_form
@coordinator_required
def unlock(user_id: int, quiz_id: int) -> Any:
    user = _get_liaison(user_id)
    quiz = _get_quiz(quiz_id)
    form = UnlockForm()
    if not form.validate_on_submit():
        return _quiz_response(user, quiz, message=_("Your session expired. Reload the page and try again."), status=400)
    try:
        services.unlock_quiz(acting_user(), user, quiz)
    except Conflict as error:
        db.session.rollback()
        return _quiz_response(user, quiz, message=str(error.message), status=409)
    db.session.commit()
    message = _(
        "%(module)s is unlocked: %(name)s can take its quiz once more.",
        module=localized(quiz.module.title),
        name=user.full_name,
    )
    return _quiz_response(user, quiz, message=message)


# One attempt, as the liaison saw it ---------------------------------------------------------


@bp.get(LIAISON + "/attempts/<int:attempt_id>")
@coordinator_required
def attempt(user_id: int, attempt_id: int) -> Any:
    user = _get_liaison(user_id)
    found = db.session.get(QuizAttempt, attempt_id)
    if found is None or found.user_id != user.id:
        raise NotFound()
    result = services.attempt_result(found) if found.status is AttemptStatus.SUBMITTED else None
    return render_template(
        "oversight/attempt.html",
        user=user,
        attempt=found,
        module=found.quiz.module,
        result=result,
        rows=list(zip(found.snapshot, result.results, strict=True)) if result is not None else [],
    )


# Item analysis ------------------------------------------------------------------------------


@bp.get("/quizzes/<int:quiz_id>/analysis")
@coordinator_required
def analysis(quiz_id: int) -> Any:
    quiz = db.session.scalar(
        select(Quiz)
        .where(Quiz.id == quiz_id)
        .options(selectinload(Quiz.module), selectinload(Quiz.questions).selectinload(Question.choices))
    )
    if quiz is None:
        raise NotFound()
    stats = services.item_analysis(quiz, language=current_language())
    order = {question.question_id: index for index, question in enumerate(stats.questions)}
    # Most missed first; questions nobody answered yet last, in the quiz's order.
    questions = sorted(
        stats.questions,
        key=lambda q: (q.percent_right is None, q.percent_right or 0, order[q.question_id]),
    )
    return render_template("oversight/analysis.html", quiz=quiz, module=quiz.module, stats=stats, questions=questions)
