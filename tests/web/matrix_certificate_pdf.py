"""Permission matrix rows for certificate PDF downloads.

The `world` liaison logged in by the matrix has no certificate, so their download is 404;
`certificate_id` is another liaison's certificate, which only coordinators may download.
"""

from __future__ import annotations

LOGIN = 302

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("certificate_pdf.mine", "GET"): {
        "anonymous": LOGIN, "liaison": 404, "coordinator": 403, "admin": 403, "deactivated": LOGIN,
    },
    ("certificate_pdf.for_coordinator", "GET"): {
        "anonymous": LOGIN, "liaison": 403, "coordinator": 200, "admin": 200, "deactivated": LOGIN,
    },
}  # fmt: skip
