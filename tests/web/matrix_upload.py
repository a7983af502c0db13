"""Permission matrix rows for uploading a file into a batch and its template/example downloads.

Uploading is a liaison's filing action: coordinators get 403; the matrix's liaison names another
liaison's batch (404). The downloads are for certified liaisons and coordinators: the matrix's
liaison is not certified (403).
"""

from __future__ import annotations

LOGIN = 302
UPLOAD = {"anonymous": LOGIN, "liaison": 404, "coordinator": 403, "admin": 403, "deactivated": LOGIN}
DOWNLOAD = {"anonymous": LOGIN, "liaison": 403, "coordinator": 200, "admin": 200, "deactivated": LOGIN}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("batch_upload.upload", "GET"): UPLOAD,
    ("batch_upload.upload", "POST"): UPLOAD,
    ("batch_upload.template_csv", "GET"): DOWNLOAD,
    ("batch_upload.example_csv", "GET"): DOWNLOAD,
    ("batch_upload.example_xlsx", "GET"): DOWNLOAD,
}
