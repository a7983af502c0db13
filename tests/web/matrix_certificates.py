"""Permission matrix rows for the public certificate verification pages (/verify).

Anyone may verify, logged in or not, deactivated or not: every row is 200 for every visitor.
`code` names an active certificate of the world's bystander liaison.
"""

from __future__ import annotations

EVERYONE = {"anonymous": 200, "liaison": 200, "coordinator": 200, "admin": 200, "deactivated": 200}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("certificates.verify_form", "GET"): EVERYONE,
    ("certificates.verify", "GET"): EVERYONE,
    ("certificates.verify_json", "GET"): EVERYONE,
}
