"""Loading the shipped curriculum (liaison/training/curriculum/*.json) into modules and quizzes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from liaison.auth.models import User
from liaison.training import services
from liaison.training.models import Module, QuestionKind

CURRICULUM_DIR = Path(__file__).with_name("curriculum")


def curriculum_files(folder: Path = CURRICULUM_DIR) -> list[Path]:
    """The curriculum's module files, in order."""
    return sorted(folder.glob("*.json"))


def load_module(actor: User, spec: dict[str, Any]) -> Module:
    """Create one published module (with its quiz) from a curriculum file's contents."""
    from liaison.extensions import db

    module = services.create_module(
        actor,
        services.ModuleInput(
            title=spec["title"],
            summary=spec.get("summary", {}),
            body=spec.get("body", {}),
            estimated_minutes=spec.get("estimated_minutes", 15),
            required=spec.get("required", True),
        ),
        slug=spec["slug"],
    )
    quiz_spec = spec.get("quiz")
    if quiz_spec:
        quiz = services.save_quiz_settings(
            actor,
            module,
            services.QuizSettings(
                pass_mark=quiz_spec.get("pass_mark", 80),
                attempts_allowed=quiz_spec.get("attempts_allowed", 3),
                shuffle_questions=quiz_spec.get("shuffle_questions", True),
                shuffle_choices=quiz_spec.get("shuffle_choices", True),
                time_limit_minutes=quiz_spec.get("time_limit_minutes"),
            ),
        )
        for question in quiz_spec["questions"]:
            services.add_question(
                actor,
                quiz,
                services.QuestionInput(
                    kind=QuestionKind(question["kind"]),
                    prompt=question["prompt"],
                    explanation=question.get("explanation", {}),
                    choices=[
                        services.ChoiceInput(choice["text"], bool(choice.get("correct")))
                        for choice in question["choices"]
                    ],
                ),
            )
        db.session.refresh(quiz)
    services.set_module_published(actor, module, True)
    return module


def load_curriculum(actor: User, folder: Path = CURRICULUM_DIR) -> list[Module]:
    """Add the curriculum's modules that are not there yet (matched by slug); returns the new ones."""
    from liaison.extensions import db

    existing = set(db.session.scalars(select(Module.slug)))
    created = []
    for path in curriculum_files(folder):
        spec = json.loads(path.read_text(encoding="utf-8"))
        if spec["slug"] not in existing:
            created.append(load_module(actor, spec))
    return created
