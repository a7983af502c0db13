"""Training rules: authoring, reading, taking quizzes, accommodations, progress, item analysis."""

from __future__ import annotations

import functools
import logging
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload, selectinload

from liaison.audit import record_event
from liaison.auth.models import User
from liaison.db_types import utcnow
from liaison.errors import Conflict, NotFound, ValidationFailed
from liaison.extensions import db
from liaison.signals import progress_changed
from liaison.training import grading
from liaison.training.models import (
    AttemptStatus,
    Choice,
    Module,
    ModuleRead,
    Question,
    QuestionKind,
    Quiz,
    QuizAccommodation,
    QuizAttempt,
)

logger = logging.getLogger(__name__)

# Seconds allowed after a deadline for the request to arrive (slow phones, slow networks).
DEADLINE_GRACE = timedelta(seconds=30)


# Authoring ----------------------------------------------------------------------------------


@dataclass
class ModuleInput:
    """What a coordinator edits on a module (texts per language)."""

    title: dict[str, str]
    summary: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    estimated_minutes: int = 15
    required: bool = True


def _clean_texts(texts: Mapping[str, str]) -> dict[str, str]:
    return {language: text.strip() for language, text in texts.items() if text and text.strip()}


def _apply_module(module: Module, data: ModuleInput) -> None:
    title = _clean_texts(data.title)
    if not title.get("en"):
        raise ValidationFailed(_l("Give the module an English title."), field="title_en")
    if data.estimated_minutes < 1:
        raise ValidationFailed(_l("Estimated time must be at least one minute."), field="estimated_minutes")
    module.title = title
    module.summary = _clean_texts(data.summary)
    module.body = _clean_texts(data.body)
    module.estimated_minutes = data.estimated_minutes
    module.required = data.required


def _slugify(text: str) -> str:
    import re
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "module"


def create_module(actor: User, data: ModuleInput, *, slug: str | None = None) -> Module:
    """A new draft module at the end of the list."""
    module = Module(published=False)
    _apply_module(module, data)
    base = slug or _slugify(module.title["en"])
    candidate, number = base, 1
    while db.session.scalar(select(Module.id).where(Module.slug == candidate)) is not None:
        number += 1
        candidate = f"{base}-{number}"
    module.slug = candidate
    module.position = (db.session.scalar(select(func.max(Module.position))) or 0) + 1
    db.session.add(module)
    db.session.flush()
    record_event(actor, "module.created", module)
    return module


def update_module(actor: User, module: Module, data: ModuleInput) -> None:
    """Change a module's texts and settings."""
    _apply_module(module, data)
    record_event(actor, "module.updated", module)


def set_module_published(actor: User, module: Module, published: bool) -> None:
    """Publish (liaisons see it) or return to draft."""
    if published and module.quiz is not None:
        check_quiz_complete(module.quiz)
    if published and not module.body.get("en"):
        raise ValidationFailed(_l("Write the module's English text before publishing it."), field="body_en")
    module.published = published
    record_event(actor, "module.published" if published else "module.unpublished", module)


def move_module(actor: User, module: Module, direction: int) -> None:
    """Swap the module with its neighbour above (-1) or below (+1)."""
    comparison = Module.position < module.position if direction < 0 else Module.position > module.position
    order = Module.position.desc() if direction < 0 else Module.position.asc()
    neighbour = db.session.scalar(select(Module).where(comparison).order_by(order).limit(1))
    if neighbour is None:
        return
    module.position, neighbour.position = neighbour.position, module.position
    record_event(actor, "module.moved", module, direction=direction)


def get_module(module_id: int, *, published_only: bool = False) -> Module:
    """The module, or NotFound (drafts are NotFound for liaisons)."""
    module = db.session.get(Module, module_id)
    if module is None or (published_only and not module.published):
        raise NotFound()
    return module


def all_modules() -> list[Module]:
    """Every module in order, with its quiz (two queries)."""
    return list(db.session.scalars(select(Module).options(selectinload(Module.quiz)).order_by(Module.position)))


@dataclass
class QuizSettings:
    """How a quiz is passed and taken."""

    pass_mark: int = 80
    attempts_allowed: int | None = 3
    shuffle_questions: bool = True
    shuffle_choices: bool = True
    time_limit_minutes: int | None = None
    is_renewal: bool = False


def save_quiz_settings(actor: User, module: Module, settings: QuizSettings) -> Quiz:
    """Create the module's quiz or change its settings."""
    if not 1 <= settings.pass_mark <= 100:
        raise ValidationFailed(_l("The pass mark is a percentage from 1 to 100."), field="pass_mark")
    if settings.attempts_allowed is not None and settings.attempts_allowed < 1:
        raise ValidationFailed(
            _l("Allow at least one attempt, or leave it empty for unlimited."), field="attempts_allowed"
        )
    if settings.time_limit_minutes is not None and settings.time_limit_minutes < 1:
        raise ValidationFailed(
            _l("A time limit is at least one minute, or leave it empty."), field="time_limit_minutes"
        )
    quiz = module.quiz or Quiz(module_id=module.id)
    quiz.pass_mark = settings.pass_mark
    quiz.attempts_allowed = settings.attempts_allowed
    quiz.shuffle_questions = settings.shuffle_questions
    quiz.shuffle_choices = settings.shuffle_choices
    quiz.time_limit_minutes = settings.time_limit_minutes
    quiz.is_renewal = settings.is_renewal
    if module.quiz is None:
        module.quiz = quiz
        db.session.add(quiz)
    db.session.flush()
    record_event(actor, "quiz.saved", quiz, module_id=module.id)
    return quiz


@dataclass
class ChoiceInput:
    """One choice as typed."""

    text: dict[str, str]
    correct: bool = False


@dataclass
class QuestionInput:
    """A question as typed, with its choices."""

    kind: QuestionKind
    prompt: dict[str, str]
    explanation: dict[str, str]
    choices: Sequence[ChoiceInput]


def check_question(data: QuestionInput) -> list[ChoiceInput]:
    """Raise ValidationFailed naming the field when the question cannot be graded fairly."""
    if not _clean_texts(data.prompt).get("en"):
        raise ValidationFailed(_l("Write the question in English."), field="prompt_en")
    choices = [choice for choice in data.choices if _clean_texts(choice.text).get("en")]
    correct = sum(choice.correct for choice in choices)
    if data.kind is QuestionKind.TRUE_FALSE:
        if len(choices) != 2 or correct != 1:
            raise ValidationFailed(_l("A true/false question has two choices and one is correct."), field="choices")
    elif len(choices) < 2:
        raise ValidationFailed(_l("Give at least two choices."), field="choices")
    elif data.kind is QuestionKind.SINGLE and correct != 1:
        raise ValidationFailed(_l("Mark exactly one choice as correct."), field="choices")
    elif data.kind is QuestionKind.MULTIPLE and correct < 1:
        raise ValidationFailed(_l("Mark at least one choice as correct."), field="choices")
    return choices


def _apply_question(question: Question, data: QuestionInput) -> None:
    choices = check_question(data)
    question.kind = data.kind
    question.prompt = _clean_texts(data.prompt)
    question.explanation = _clean_texts(data.explanation)
    question.choices = [
        Choice(position=position, text=_clean_texts(choice.text), correct=choice.correct)
        for position, choice in enumerate(choices, start=1)
    ]


def add_question(actor: User, quiz: Quiz, data: QuestionInput) -> Question:
    """Append a question to the quiz."""
    question = Question(quiz_id=quiz.id, position=(max((q.position for q in quiz.questions), default=0) + 1))
    _apply_question(question, data)
    quiz.questions.append(question)
    db.session.flush()
    record_event(actor, "question.added", question, quiz_id=quiz.id)
    return question


def update_question(actor: User, question: Question, data: QuestionInput) -> None:
    """Replace a question's text, kind and choices (past attempts keep their snapshot)."""
    _apply_question(question, data)
    db.session.flush()
    record_event(actor, "question.updated", question, quiz_id=question.quiz_id)


def delete_question(actor: User, question: Question) -> None:
    """Remove a question (past attempts keep their snapshot)."""
    record_event(actor, "question.deleted", question, quiz_id=question.quiz_id)
    db.session.delete(question)
    db.session.flush()


def move_question(actor: User, question: Question, direction: int) -> None:
    """Swap the question with its neighbour above (-1) or below (+1)."""
    siblings = sorted(question.quiz.questions, key=lambda q: q.position)
    index = siblings.index(question)
    other = index + (-1 if direction < 0 else 1)
    if 0 <= other < len(siblings):
        neighbour = siblings[other]
        question.position, neighbour.position = neighbour.position, question.position
        record_event(actor, "question.moved", question, quiz_id=question.quiz_id)


def get_question(question_id: int, quiz_id: int | None = None) -> Question:
    """The question (of that quiz when given), or NotFound."""
    question = db.session.get(Question, question_id)
    if question is None or (quiz_id is not None and question.quiz_id != quiz_id):
        raise NotFound()
    return question


def check_quiz_complete(quiz: Quiz) -> None:
    """A quiz must have at least one question before its module is published."""
    if not quiz.questions:
        raise ValidationFailed(_l("Add at least one question to the quiz before publishing."), field="quiz")


# Reading and taking quizzes -----------------------------------------------------------------


def mark_read(user: User, module: Module) -> None:
    """Record that the liaison read the module (again: nothing changes)."""
    if db.session.get(ModuleRead, (user.id, module.id)) is None:
        db.session.add(ModuleRead(user_id=user.id, module_id=module.id))
        db.session.flush()
        progress_changed.send(user, user_id=user.id)


def accommodation_for(user_id: int, quiz_id: int) -> QuizAccommodation | None:
    """Extra attempts or time granted to this liaison on this quiz."""
    return db.session.get(QuizAccommodation, (quiz_id, user_id))


def attempts_limit(quiz: Quiz, accommodation: QuizAccommodation | None) -> int | None:
    """How many attempts the liaison may use in all (None: unlimited)."""
    if quiz.attempts_allowed is None:
        return None
    return quiz.attempts_allowed + (accommodation.extra_attempts if accommodation else 0)


def _attempts_used(user_id: int, quiz_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id)
        )
        or 0
    )


def open_attempt(user_id: int, quiz_id: int) -> QuizAttempt | None:
    """The liaison's attempt in progress on this quiz, if any."""
    return db.session.scalar(
        select(QuizAttempt).where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.quiz_id == quiz_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        )
    )


def has_passed(user_id: int, quiz_id: int) -> bool:
    """Whether any attempt of the liaison passed this quiz."""
    return (
        db.session.scalar(
            select(QuizAttempt.id)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id, QuizAttempt.passed.is_(True))
            .limit(1)
        )
        is not None
    )


QUIZ_LOCKED_MESSAGE = _l(
    "You have used all your attempts at this quiz. Your program coordinator can give you another try."
)


def start_attempt(user: User, quiz: Quiz, *, language: str, now: datetime | None = None) -> QuizAttempt:
    """The liaison's open attempt, or a new one while attempts remain (two tabs share one)."""
    now = now or utcnow()
    existing = open_attempt(user.id, quiz.id)
    if existing is not None:
        return existing
    accommodation = accommodation_for(user.id, quiz.id)
    limit = attempts_limit(quiz, accommodation)
    used = _attempts_used(user.id, quiz.id)
    if limit is not None and used >= limit:
        # Another tab may have opened the last attempt since the check above: hand that one over.
        existing = open_attempt(user.id, quiz.id)
        if existing is not None:
            return existing
        raise Conflict(QUIZ_LOCKED_MESSAGE)
    if not quiz.questions:
        raise NotFound()
    deadline = None
    if quiz.time_limit_minutes:
        minutes = quiz.time_limit_minutes + (accommodation.extra_minutes if accommodation else 0)
        deadline = now + timedelta(minutes=minutes)
    attempt = QuizAttempt(
        quiz_id=quiz.id,
        user_id=user.id,
        number=used + 1,
        language=language,
        started_at=now,
        deadline_at=deadline,
        snapshot=grading.build_snapshot(
            quiz.questions,
            language=language,
            seed=secrets.randbits(32),
            shuffle_questions=quiz.shuffle_questions,
            shuffle_choices=quiz.shuffle_choices,
        ),
        answers={},
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError:
        # Another tab opened this attempt number at the same moment: use that one.
        existing = open_attempt(user.id, quiz.id)
        if existing is None:
            raise Conflict(QUIZ_LOCKED_MESSAGE) from None
        return existing
    logger.info("user %s started attempt %s on quiz %s", user.id, attempt.number, quiz.id)
    return attempt


@functools.cache
def _attempt_statement() -> Any:
    # Built once per process (building a statement with loader options costs more than running it).
    return (
        select(QuizAttempt)
        .where(QuizAttempt.id == bindparam("attempt_id"))
        .options(joinedload(QuizAttempt.quiz).joinedload(Quiz.module).defer(Module.body))
    )


def get_attempt(user: User, attempt_id: int) -> QuizAttempt:
    """The liaison's own attempt, or NotFound (never someone else's).

    Its quiz and module come in the same query (the quiz and result pages show them); the
    module's Markdown body is left out until something reads it."""
    attempt = db.session.scalar(_attempt_statement(), {"attempt_id": attempt_id})
    if attempt is None or attempt.user_id != user.id:
        raise NotFound()
    return attempt


def submit_attempt(
    user: User, attempt_id: int, raw_answers: Mapping[str, Sequence[str]], *, now: datetime | None = None
) -> QuizAttempt:
    """Grade the attempt once; submitting it again (double click, second tab) changes nothing."""
    now = now or utcnow()
    attempt = db.session.scalar(
        select(QuizAttempt)
        .where(QuizAttempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if attempt is None or attempt.user_id != user.id:
        raise NotFound()
    if attempt.status is AttemptStatus.SUBMITTED:
        return attempt
    answers = grading.clean_answers(attempt.snapshot, raw_answers)
    result = grading.grade(attempt.snapshot, answers)
    late = attempt.deadline_at is not None and now > attempt.deadline_at + DEADLINE_GRACE
    attempt.answers = answers
    attempt.score = result.score
    attempt.late = late
    attempt.passed = not late and result.score >= attempt.quiz.pass_mark
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at = now
    db.session.flush()
    logger.info("user %s submitted attempt %s: %s%%", user.id, attempt.id, result.score)
    if attempt.passed:
        progress_changed.send(user, user_id=user.id)
    return attempt


def attempt_result(attempt: QuizAttempt) -> grading.Grade:
    """Each question's result for a submitted attempt (from its own snapshot)."""
    return grading.grade(attempt.snapshot, attempt.answers)


def grant_accommodation(
    actor: User, user: User, quiz: Quiz, *, extra_attempts: int = 0, extra_minutes: int = 0
) -> QuizAccommodation:
    """Give a liaison more attempts or more time on a quiz (added to what they already have)."""
    if extra_attempts < 0 or extra_minutes < 0:
        raise ValidationFailed(_l("Extra attempts and minutes cannot be negative."), field="extra_attempts")
    if extra_attempts == 0 and extra_minutes == 0:
        raise ValidationFailed(_l("Give at least one extra attempt or one extra minute."), field="extra_attempts")
    accommodation = accommodation_for(user.id, quiz.id)
    if accommodation is None:
        accommodation = QuizAccommodation(quiz_id=quiz.id, user_id=user.id, extra_attempts=0, extra_minutes=0)
        db.session.add(accommodation)
    accommodation.extra_attempts += extra_attempts
    accommodation.extra_minutes += extra_minutes
    accommodation.granted_by_id = actor.id
    accommodation.granted_at = utcnow()
    db.session.flush()
    record_event(
        actor,
        "quiz.accommodation_granted",
        quiz,
        user_id=user.id,
        extra_attempts=extra_attempts,
        extra_minutes=extra_minutes,
    )
    return accommodation


def unlock_quiz(actor: User, user: User, quiz: Quiz) -> QuizAccommodation:
    """Give a liaison who used every attempt one more."""
    accommodation = accommodation_for(user.id, quiz.id)
    limit = attempts_limit(quiz, accommodation)
    if limit is None or _attempts_used(user.id, quiz.id) < limit:
        raise Conflict(_l("This quiz is not locked for this liaison."))
    return grant_accommodation(actor, user, quiz, extra_attempts=1)


# Progress ------------------------------------------------------------------------------------


class ModuleState(StrEnum):
    """Where a liaison stands on one module."""

    NOT_STARTED = "not_started"
    READ = "read"
    PASSED = "passed"
    LOCKED = "locked"


@dataclass(frozen=True)
class ModuleProgress:
    """One module as one liaison sees it."""

    module: Module
    state: ModuleState
    read: bool
    passed: bool
    attempts_used: int
    attempts_limit: int | None
    best_score: int | None

    @property
    def complete(self) -> bool:
        return self.read and (self.module.quiz is None or self.passed)

    @property
    def attempts_left(self) -> int | None:
        return None if self.attempts_limit is None else max(0, self.attempts_limit - self.attempts_used)


@dataclass(frozen=True)
class Progress:
    """A liaison's progress through the published modules."""

    modules: list[ModuleProgress]

    @property
    def required(self) -> list[ModuleProgress]:
        return [item for item in self.modules if item.module.required]

    @property
    def required_complete(self) -> int:
        return sum(item.complete for item in self.required)

    @property
    def percent(self) -> int:
        required = self.required
        return (100 * self.required_complete) // len(required) if required else 100

    @property
    def all_required_complete(self) -> bool:
        return all(item.complete for item in self.required)

    @property
    def next_module(self) -> ModuleProgress | None:
        return next((item for item in self.modules if not item.complete and item.state is not ModuleState.LOCKED), None)


def published_modules() -> list[Module]:
    """Published modules in order, with their quizzes (one query).

    The Markdown bodies are not loaded (progress and lists never show them; a page that does
    loads its module with get_module)."""
    return list(db.session.scalars(_published_modules_statement()).unique())


@functools.cache
def _published_modules_statement() -> Any:
    return (
        select(Module)
        .where(Module.published.is_(True))
        .options(joinedload(Module.quiz), defer(Module.body))
        .order_by(Module.position)
    )


@functools.cache
def _progress_statement() -> Any:
    """Reads, attempt totals and extra attempts of a set of liaisons (expanding `user_ids`) in
    one UNION ALL, built once per process: (kind, user_id, module or quiz id, a, b, c)."""
    users = bindparam("user_ids", expanding=True)
    reads = select(
        literal("read"), ModuleRead.user_id, ModuleRead.module_id, literal(0), literal(0), literal(None, Integer)
    ).where(ModuleRead.user_id.in_(users))
    attempts = (
        select(
            literal("attempts"),
            QuizAttempt.user_id,
            QuizAttempt.quiz_id,
            func.count(),
            func.max(func.coalesce(QuizAttempt.passed, False).cast(Integer)),
            func.max(QuizAttempt.score),
        )
        .where(QuizAttempt.user_id.in_(users))
        .group_by(QuizAttempt.user_id, QuizAttempt.quiz_id)
    )
    extras = select(
        literal("extra"),
        QuizAccommodation.user_id,
        QuizAccommodation.quiz_id,
        QuizAccommodation.extra_attempts,
        literal(0),
        literal(None, Integer),
    ).where(QuizAccommodation.user_id.in_(users))
    return union_all(reads, attempts, extras)


def progress_for_users(user_ids: Iterable[int], modules: Sequence[Module] | None = None) -> dict[int, Progress]:
    """Progress of many liaisons at once, in a fixed number of queries whatever their number
    (two: the published modules unless given, then one for reads, attempts and extra attempts)."""
    user_ids = list(set(user_ids))
    modules = list(modules) if modules is not None else published_modules()
    if not user_ids:
        return {}
    reads: set[tuple[int, int]] = set()
    attempts: dict[tuple[int, int], tuple[int, bool, int | None]] = {}
    extras: dict[tuple[int, int], int] = {}
    for kind, user_id, key, first, second, best in db.session.execute(_progress_statement(), {"user_ids": user_ids}):
        if kind == "read":
            reads.add((user_id, key))
        elif kind == "attempts":
            attempts[(user_id, key)] = (first, bool(second), best)
        else:
            extras[(user_id, key)] = first
    result: dict[int, Progress] = {}
    for user_id in user_ids:
        items = []
        for module in modules:
            read = (user_id, module.id) in reads
            quiz = module.quiz
            used, passed, best = attempts.get((user_id, quiz.id), (0, False, None)) if quiz else (0, False, None)
            limit = None
            if quiz is not None and quiz.attempts_allowed is not None:
                limit = quiz.attempts_allowed + extras.get((user_id, quiz.id), 0)
            if passed or (read and quiz is None):
                state = ModuleState.PASSED if quiz is not None else ModuleState.READ
            elif limit is not None and used >= limit:
                state = ModuleState.LOCKED
            elif read:
                state = ModuleState.READ
            else:
                state = ModuleState.NOT_STARTED
            items.append(ModuleProgress(module, state, read, passed, used, limit, best))
        result[user_id] = Progress(items)
    return result


def progress_for(user: User) -> Progress:
    """One liaison's progress (a fixed number of queries)."""
    return progress_for_users([user.id])[user.id]


# Item analysis -------------------------------------------------------------------------------


@dataclass
class QuestionStats:
    """How a question performed across submitted attempts."""

    question_id: int
    prompt: str
    answered: int = 0
    right: int = 0
    wrong_choices: Counter[str] = field(default_factory=Counter)

    @property
    def percent_right(self) -> int | None:
        return (100 * self.right) // self.answered if self.answered else None

    @property
    def most_chosen_wrong(self) -> tuple[str, int] | None:
        return self.wrong_choices.most_common(1)[0] if self.wrong_choices else None


@dataclass
class QuizStats:
    """Attempts, pass rate and per-question results of a quiz."""

    attempts: int
    passed: int
    questions: list[QuestionStats]

    @property
    def pass_rate(self) -> int | None:
        return (100 * self.passed) // self.attempts if self.attempts else None


def item_analysis(quiz: Quiz, *, language: str = "en") -> QuizStats:
    """Per-question percentage right and the most chosen wrong answer, from attempt snapshots."""
    from liaison.training.content import localized

    stats: dict[int, QuestionStats] = {
        question.id: QuestionStats(question.id, localized(question.prompt, language)) for question in quiz.questions
    }
    choice_texts = {
        f"c{choice.id}": localized(choice.text, language) for question in quiz.questions for choice in question.choices
    }
    attempts = passed = 0
    rows = db.session.execute(
        select(QuizAttempt.snapshot, QuizAttempt.answers, QuizAttempt.passed).where(
            QuizAttempt.quiz_id == quiz.id, QuizAttempt.status == AttemptStatus.SUBMITTED
        )
    ).yield_per(500)
    removed: dict[int, QuestionStats] = defaultdict(lambda: QuestionStats(0, ""))
    for snapshot, answers, was_passed in rows:
        attempts += 1
        passed += bool(was_passed)
        result = grading.grade(snapshot, answers)
        for question, outcome in zip(snapshot, result.results, strict=True):
            entry = stats.get(question["question_id"]) or removed[question["question_id"]]
            entry.answered += 1
            entry.right += outcome.right
            if not outcome.right:
                texts = {choice["key"]: choice["text"] for choice in question["choices"]}
                for key in outcome.chosen:
                    if key not in outcome.correct:
                        entry.wrong_choices[choice_texts.get(key, texts.get(key, key))] += 1
    return QuizStats(attempts=attempts, passed=passed, questions=list(stats.values()))
