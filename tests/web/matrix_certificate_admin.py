"""Permission matrix lines for the coordinators' certificate pages. POST rows send an empty form.

`certificate_id` in the world fixture is an ACTIVE certificate of another liaison.
"""

from __future__ import annotations

LOGIN = 302


def _coordinators(status: int) -> dict[str, int]:
    return {"anonymous": LOGIN, "liaison": 403, "coordinator": status, "admin": status, "deactivated": LOGIN}


MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("certificate_admin.index", "GET"): _coordinators(200),
    ("certificate_admin.cohort", "GET"): _coordinators(200),
    # Nobody in the world cohort is eligible: the summary page says none were issued.
    ("certificate_admin.issue_cohort", "POST"): _coordinators(200),
    # The certificate is already active: the refusal is flashed and the list comes back.
    ("certificate_admin.approve", "POST"): _coordinators(302),
    ("certificate_admin.revoke", "GET"): _coordinators(200),
    # An empty form lacks the reason: the form comes back, nothing is revoked.
    ("certificate_admin.revoke", "POST"): _coordinators(422),
    # The world cohort has one active certificate: its PDF in a ZIP.
    ("certificate_admin.cohort_zip", "GET"): _coordinators(200),
}
