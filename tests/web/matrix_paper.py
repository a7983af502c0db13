"""Permission matrix rows for the printable paper (intake sheet, meeting packet).

Liaisons only: coordinators get 403. The world's batch is another liaison's (404). The matrix
liaison has no cohort and has filed nothing, so there is no area for a packet: the options page
says so (200) and the PDF is refused with that message (422).
"""

from __future__ import annotations

LOGIN = 302
LIAISON_ONLY = {"anonymous": LOGIN, "coordinator": 403, "admin": 403, "deactivated": LOGIN}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("paper.intake_sheet", "GET"): {**LIAISON_ONLY, "liaison": 404},
    ("paper.packet_form", "GET"): {**LIAISON_ONLY, "liaison": 200},
    ("paper.meeting_packet", "GET"): {**LIAISON_ONLY, "liaison": 422},
}
