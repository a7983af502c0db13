"""Permission matrix lines for the cohort pages (coordinators only). POST rows send an empty form."""

from __future__ import annotations

LOGIN = 302


def _coordinators(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("cohorts.index", "GET"): _coordinators(200),
    ("cohorts.create", "GET"): _coordinators(200),
    ("cohorts.create", "POST"): _coordinators(422),
    ("cohorts.edit", "GET"): _coordinators(200),
    ("cohorts.edit", "POST"): _coordinators(422),
    ("cohorts.archive", "GET"): _coordinators(200),
    # An empty form lacks the confirmation: the page comes back, nothing is archived.
    ("cohorts.archive", "POST"): _coordinators(422),
    ("cohorts.detail", "GET"): _coordinators(200),
    ("cohorts.move_member", "GET"): _coordinators(200),
    ("cohorts.move_member", "POST"): _coordinators(422),
    ("cohorts.withdraw_member", "GET"): _coordinators(200),
    ("cohorts.withdraw_member", "POST"): _coordinators(422),
    ("cohorts.export_csv", "GET"): _coordinators(200),
    ("cohorts.export_xlsx", "GET"): _coordinators(200),
    ("cohorts.import_roster", "GET"): _coordinators(200),
    ("cohorts.import_roster", "POST"): _coordinators(422),
    ("cohorts.import_template", "GET"): _coordinators(200),
}
