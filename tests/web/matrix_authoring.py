"""Permission matrix lines for the training authoring pages (coordinators only). POST rows send an
empty form: forms come back with 422, buttons with a missing value are a 400, and the delete
button without its confirmation shows the confirmation page (nothing is deleted)."""

from __future__ import annotations

LOGIN = 302


def _coordinators(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("authoring.index", "GET"): _coordinators(200),
    ("authoring.create_module", "GET"): _coordinators(200),
    ("authoring.create_module", "POST"): _coordinators(422),
    ("authoring.edit_module", "GET"): _coordinators(200),
    ("authoring.edit_module", "POST"): _coordinators(422),
    # An empty body previews as "nothing to preview yet".
    ("authoring.preview", "POST"): _coordinators(200),
    # No direction / no published value: a malformed request.
    ("authoring.move_module", "POST"): _coordinators(400),
    ("authoring.publish_module", "POST"): _coordinators(400),
    ("authoring.quiz", "GET"): _coordinators(200),
    ("authoring.quiz", "POST"): _coordinators(422),
    ("authoring.add_question", "POST"): _coordinators(422),
    ("authoring.edit_question", "GET"): _coordinators(200),
    ("authoring.edit_question", "POST"): _coordinators(422),
    ("authoring.delete_question", "POST"): _coordinators(200),
    ("authoring.move_question", "POST"): _coordinators(400),
    ("authoring.preview_quiz", "GET"): _coordinators(200),
}
