"""Training: modules, quizzes, questions, what each liaison read, quiz attempts, accommodations.

Texts a liaison reads are stored per language as JSON objects (`{"en": ..., "es": ...}`) and
shown in the reader's language, falling back to English (see `localized()`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.auth.models import User
from liaison.db_types import NOT_PII, UTCDateTime, string_enum, utcnow
from liaison.extensions import db

LocalizedText = dict[str, str]


class Module(db.Model):
    """An ordered unit of training: Markdown body, optional quiz."""

    __tablename__ = "module"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    slug: Mapped[str] = mapped_column(String(80), unique=True, info=NOT_PII)
    position: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    title: Mapped[LocalizedText] = mapped_column(JSON, info=NOT_PII)
    summary: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)
    # Markdown as the coordinator wrote it; rendered and sanitised when shown (training.content).
    body: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)
    estimated_minutes: Mapped[int] = mapped_column(Integer, default=15, info=NOT_PII)
    required: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    published: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, info=NOT_PII)

    quiz: Mapped[Quiz | None] = relationship(back_populates="module", uselist=False, cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("estimated_minutes >= 1", name="minutes_positive"),
        Index("ix_module_position", "position"),
    )


class Quiz(db.Model):
    """At most one per module: how it is passed and how it is taken."""

    __tablename__ = "quiz"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"), unique=True, info=NOT_PII)
    pass_mark: Mapped[int] = mapped_column(Integer, default=80, info=NOT_PII)
    # None: unlimited attempts.
    attempts_allowed: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    shuffle_choices: Mapped[bool] = mapped_column(Boolean, default=True, info=NOT_PII)
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    # A renewal quiz is taken to renew a certificate (see the certificates feature).
    is_renewal: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)

    module: Mapped[Module] = relationship(back_populates="quiz")
    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz", cascade="all, delete-orphan", order_by="Question.position"
    )

    __table_args__ = (
        CheckConstraint("pass_mark BETWEEN 1 AND 100", name="pass_mark_percent"),
        CheckConstraint("attempts_allowed IS NULL OR attempts_allowed >= 1", name="attempts_positive"),
        CheckConstraint("time_limit_minutes IS NULL OR time_limit_minutes >= 1", name="time_limit_positive"),
    )


class QuestionKind(enum.StrEnum):
    """Single choice, multiple choice (select all that apply) or true/false."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"


class Question(db.Model):
    """A quiz question with its choices and an explanation shown after submission."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"), info=NOT_PII)
    position: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    kind: Mapped[QuestionKind] = mapped_column(string_enum(QuestionKind, "question_kind"), info=NOT_PII)
    prompt: Mapped[LocalizedText] = mapped_column(JSON, info=NOT_PII)
    explanation: Mapped[LocalizedText] = mapped_column(JSON, default=dict, info=NOT_PII)

    quiz: Mapped[Quiz] = relationship(back_populates="questions")
    choices: Mapped[list[Choice]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Choice.position"
    )

    __table_args__ = (Index("ix_question_quiz_position", "quiz_id", "position"),)


class Choice(db.Model):
    """One answer a liaison can pick."""

    __tablename__ = "choice"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), info=NOT_PII)
    position: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    text: Mapped[LocalizedText] = mapped_column(JSON, info=NOT_PII)
    correct: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)

    question: Mapped[Question] = relationship(back_populates="choices")

    __table_args__ = (Index("ix_choice_question_position", "question_id", "position"),)


class ModuleRead(db.Model):
    """A liaison marked a module as read."""

    __tablename__ = "module_read"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)


class AttemptStatus(enum.StrEnum):
    """An attempt is open until it is submitted (or its time runs out)."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class QuizAttempt(db.Model):
    """One try at a quiz, with a snapshot of exactly what was shown and what was answered.

    `snapshot` is a list of questions as shown (order, kind, texts in the shown language,
    choices in the shown order with their correctness), so editing the quiz later never changes
    a past result. `answers` maps question snapshot keys to the chosen choice keys.
    """

    __tablename__ = "quiz_attempt"

    id: Mapped[int] = mapped_column(primary_key=True, info=NOT_PII)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"), info=NOT_PII)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), info=NOT_PII)
    number: Mapped[int] = mapped_column(Integer, info=NOT_PII)
    status: Mapped[AttemptStatus] = mapped_column(
        string_enum(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS, info=NOT_PII
    )
    language: Mapped[str] = mapped_column(String(8), default="en", info=NOT_PII)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, info=NOT_PII)
    snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, info=NOT_PII)
    answers: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict, info=NOT_PII)
    score: Mapped[int | None] = mapped_column(Integer, info=NOT_PII)
    passed: Mapped[bool | None] = mapped_column(Boolean, info=NOT_PII)
    # Submitted after the deadline (answers given in time were graded, the rest counted wrong).
    late: Mapped[bool] = mapped_column(Boolean, default=False, info=NOT_PII)

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (
        # Two tabs or a double click cannot open the same attempt number twice.
        UniqueConstraint("quiz_id", "user_id", "number"),
        # Covering for "has this person passed this quiz" (progress, rosters).
        Index("ix_quiz_attempt_user_quiz_passed", "user_id", "quiz_id", "passed"),
        Index("ix_quiz_attempt_quiz_status", "quiz_id", "status"),
    )


class QuizAccommodation(db.Model):
    """Extra attempts or extra time a coordinator granted one liaison on one quiz."""

    __tablename__ = "quiz_accommodation"

    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, info=NOT_PII)
    extra_attempts: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0, info=NOT_PII)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), info=NOT_PII)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, info=NOT_PII)

    __table_args__ = (
        CheckConstraint("extra_attempts >= 0", name="extra_attempts_not_negative"),
        CheckConstraint("extra_minutes >= 0", name="extra_minutes_not_negative"),
    )
