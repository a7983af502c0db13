"""Issue or renew a certificate as soon as a liaison meets the rule (listens to `progress_changed`)."""

from __future__ import annotations

from typing import Any

from liaison.auth.models import User
from liaison.extensions import db
from liaison.signals import progress_changed


@progress_changed.connect
def _issue_when_eligible(_sender: Any, *, user_id: int, **_: Any) -> None:
    from liaison.certificates.services import issue_if_eligible, renew_if_eligible

    user = db.session.get(User, user_id)
    if user is not None:
        issue_if_eligible(user)
        renew_if_eligible(user)
