"""Permission matrix rows for the service catalog and neighborhoods (/coordinator/catalog).

Every coordinator reads the catalog; only admins change it. POSTs are sent empty, so an admin
gets the form back with its messages (422) and nothing changes.
"""

from __future__ import annotations

LOGIN = 302
READ = {"anonymous": LOGIN, "liaison": 403, "coordinator": 200, "admin": 200, "deactivated": LOGIN}
EDIT_PAGE = {"anonymous": LOGIN, "liaison": 403, "coordinator": 403, "admin": 200, "deactivated": LOGIN}
EDIT_POST = {"anonymous": LOGIN, "liaison": 403, "coordinator": 403, "admin": 422, "deactivated": LOGIN}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("catalog.index", "GET"): READ,
    ("catalog.service_type", "GET"): READ,
    ("catalog.neighborhoods", "GET"): READ,
    ("catalog.create_type", "GET"): EDIT_PAGE,
    ("catalog.create_type", "POST"): EDIT_POST,
    ("catalog.edit_type", "GET"): EDIT_PAGE,
    ("catalog.edit_type", "POST"): EDIT_POST,
    ("catalog.delete_type", "GET"): EDIT_PAGE,
    ("catalog.delete_type", "POST"): EDIT_POST,
    ("catalog.add_attribute", "POST"): EDIT_POST,
    ("catalog.edit_attribute", "GET"): EDIT_PAGE,
    ("catalog.edit_attribute", "POST"): EDIT_POST,
    ("catalog.delete_attribute", "GET"): EDIT_PAGE,
    ("catalog.delete_attribute", "POST"): EDIT_POST,
    ("catalog.move_attribute", "POST"): EDIT_POST,
    ("catalog.add_neighborhood", "POST"): EDIT_POST,
    ("catalog.edit_neighborhood", "GET"): EDIT_PAGE,
    ("catalog.edit_neighborhood", "POST"): EDIT_POST,
    ("catalog.delete_neighborhood", "GET"): EDIT_PAGE,
    ("catalog.delete_neighborhood", "POST"): EDIT_POST,
}
