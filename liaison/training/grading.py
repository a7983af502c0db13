"""Building what a liaison is shown, and grading what they answered. Pure functions.

Scoring: every question is worth one point and is right or wrong, never partly right.
- single choice and true/false: right when the one correct choice is chosen;
- multiple choice ("select all that apply"): right when exactly the correct choices are chosen
  (a missing correct choice or an extra wrong one makes it wrong).
The score is the percentage of right questions, rounded down, so 79.9 % never passes a mark of 80.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liaison.training.content import localized
from liaison.training.models import Question, QuestionKind


def build_snapshot(
    questions: Sequence[Question],
    *,
    language: str,
    seed: int,
    shuffle_questions: bool,
    shuffle_choices: bool,
) -> list[dict[str, Any]]:
    """The questions and choices exactly as they will be shown, in the order shown."""
    rng = random.Random(seed)  # noqa: S311 - shuffling quiz order, not security
    ordered = list(questions)
    if shuffle_questions:
        rng.shuffle(ordered)
    snapshot = []
    for question in ordered:
        choices = list(question.choices)
        if shuffle_choices and question.kind is not QuestionKind.TRUE_FALSE:
            rng.shuffle(choices)
        snapshot.append(
            {
                "key": f"q{question.id}",
                "question_id": question.id,
                "kind": question.kind.value,
                "prompt": localized(question.prompt, language),
                "explanation": localized(question.explanation, language),
                "choices": [
                    {
                        "key": f"c{choice.id}",
                        "choice_id": choice.id,
                        "text": localized(choice.text, language),
                        "correct": choice.correct,
                    }
                    for choice in choices
                ],
            }
        )
    return snapshot


def public_view(snapshot: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The snapshot without correctness or explanations: what the quiz page may contain."""
    return [
        {
            "key": question["key"],
            "kind": question["kind"],
            "prompt": question["prompt"],
            "choices": [{"key": choice["key"], "text": choice["text"]} for choice in question["choices"]],
        }
        for question in snapshot
    ]


def clean_answers(snapshot: Sequence[Mapping[str, Any]], raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Keep only answers that name a shown choice of a shown question (one for single/true-false)."""
    answers: dict[str, list[str]] = {}
    for question in snapshot:
        valid = {choice["key"] for choice in question["choices"]}
        chosen = [key for key in dict.fromkeys(raw.get(question["key"], ())) if key in valid]
        if question["kind"] != QuestionKind.MULTIPLE.value:
            chosen = chosen[:1]
        answers[question["key"]] = chosen
    return answers


@dataclass(frozen=True)
class QuestionResult:
    """How one question went."""

    key: str
    right: bool
    chosen: list[str]
    correct: list[str]


@dataclass(frozen=True)
class Grade:
    """The score of an attempt and each question's result."""

    score: int
    results: list[QuestionResult]

    @property
    def right_count(self) -> int:
        return sum(result.right for result in self.results)


def grade(snapshot: Sequence[Mapping[str, Any]], answers: Mapping[str, Sequence[str]]) -> Grade:
    """Score the answers against the snapshot (see the module docstring for the rules)."""
    results = []
    for question in snapshot:
        correct = [choice["key"] for choice in question["choices"] if choice["correct"]]
        chosen = list(answers.get(question["key"], ()))
        results.append(
            QuestionResult(
                key=question["key"], right=set(chosen) == set(correct) and bool(correct), chosen=chosen, correct=correct
            )
        )
    total = len(results)
    score = (100 * sum(r.right for r in results)) // total if total else 0
    return Grade(score=score, results=results)
