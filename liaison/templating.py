"""Template globals: navigation, languages, program name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, url_for
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from liaison.auth.models import Role
from liaison.i18n import LANGUAGE_NAMES, TEMPLATE_TRANSLATIONS
from liaison.training.content import localized
from liaison.urls import RowUrl


@dataclass(frozen=True)
class NavItem:
    """One entry of the primary navigation."""

    label: Any
    endpoint: str

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def current(self) -> bool:
        blueprint = self.endpoint.split(".")[0]
        return request.endpoint == self.endpoint or (
            blueprint not in {"main", "auth"} and request.blueprint == blueprint
        )


@dataclass(frozen=True, slots=True)
class PageLink:
    """One entry of a pagination control: a page number and its URL, or a gap (number None)."""

    number: int | None
    url: str = ""
    current: bool = False


@dataclass(frozen=True)
class PageLinks:
    previous_url: str | None
    links: list[PageLink]
    next_url: str | None


def page_links(page: Any, endpoint: str) -> PageLinks:
    """The links of a Flask-SQLAlchemy Pagination, keeping the request's other query arguments,
    from one url_for whatever the number of links."""
    args = request.args.to_dict()
    args.pop("page", None)
    url = RowUrl(endpoint, "page", **args)
    links = [
        PageLink(number, url(number), number == page.page) if number else PageLink(None)
        for number in page.iter_pages(left_edge=1, right_edge=1, left_current=1, right_current=2)
    ]
    return PageLinks(
        url(page.prev_num) if page.has_prev else None, links, url(page.next_num) if page.has_next else None
    )


def program_name() -> Any:
    """The program's name as configured, else the default, translated when it is shown."""
    return current_app.config["PROGRAM_NAME"] or _l("Neighborhood Liaison Program")


def navigation() -> list[NavItem]:
    """The primary navigation for whoever is logged in (none for visitors)."""
    if g.get("database_unavailable") or not current_user.is_authenticated:
        return []
    if current_user.role == Role.COORDINATOR:
        items = [
            NavItem(_l("Dashboard"), "main.coordinator_dashboard"),
            NavItem(_l("Applications"), "queue.index"),
            NavItem(_l("Cohorts"), "cohorts.index"),
            NavItem(_l("Training"), "authoring.index"),
            NavItem(_l("Certificates"), "certificate_admin.index"),
            NavItem(_l("Requests"), "request_queue.index"),
            NavItem(_l("Service catalog"), "catalog.index"),
        ]
        if current_user.is_admin:
            items.append(NavItem(_l("Accounts"), "accounts.index"))
    else:
        items = [
            NavItem(_l("My dashboard"), "main.liaison_dashboard"),
            NavItem(_l("Training"), "training.index"),
            NavItem(_l("My requests"), "my_requests.index"),
        ]
    items.append(NavItem(_l("My account"), "auth.account"))
    return items


AUDIT_ACTIONS: dict[str, Any] = {
    "user.created": _l("Account created"),
    "user.invitation_sent": _l("Invitation sent"),
    "user.password_set": _l("Password set"),
    "user.password_reset_requested": _l("Password reset asked for"),
    "user.deactivated": _l("Account deactivated"),
    "user.reactivated": _l("Account reactivated"),
    "requests.status_changed": _l("Request status changed"),
    "requests.review_cleared": _l("Request review flag cleared"),
    "requests.exported_personal_data": _l("Requests exported with neighbor contact details"),
    "request.receipt_emailed": _l("Request receipt emailed to the neighbor"),
    "request.fixed_confirmed": _l("Closed request confirmed by the liaison"),
    "request.disputed": _l("Closed request disputed and refiled"),
    "request.forwarding_retried": _l("Forwarding to 311 tried again"),
    "batch.rows_uploaded": _l("Rows uploaded into a batch"),
    "batch.submitted": _l("Batch submitted"),
    "catalog.service_type_created": _l("Service added to the catalog"),
    "catalog.service_type_updated": _l("Service changed in the catalog"),
    "catalog.service_type_deleted": _l("Service deleted from the catalog"),
    "catalog.service_type_activated": _l("Service opened for filing"),
    "catalog.service_type_deactivated": _l("Service closed for new filing"),
    "catalog.attribute_moved": _l("Service questions reordered"),
    "catalog.attribute_added": _l("Service question added"),
    "catalog.attribute_updated": _l("Service question changed"),
    "catalog.attribute_removed": _l("Service question removed"),
    "catalog.neighborhood_created": _l("Neighborhood added"),
    "catalog.neighborhood_updated": _l("Neighborhood changed"),
    "catalog.neighborhood_deleted": _l("Neighborhood deleted"),
}


def audit_action_label(action: str) -> str:
    """A readable name for an audit event's action code."""
    return str(AUDIT_ACTIONS.get(action, action))


def init_app(app: Flask) -> None:
    """Register context processors and filters."""
    app.add_template_filter(audit_action_label, "audit_action")
    app.add_template_global(localized, "localized")
    app.add_template_global(page_links, "page_links")
    from liaison.service_requests.forwarding import forwarding_stopped

    # `sr is forwarding_stopped`: the one rule, shared with the forwarding worker and its retry view.
    app.add_template_test(forwarding_stopped, "forwarding_stopped")

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        return {
            TEMPLATE_TRANSLATIONS: get_translations(),
            # Resolved once: the layout shows it three times.
            "program_name": str(program_name()),
            "city_name": current_app.config["CITY_NAME"],
            "current_locale": locale,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in current_app.config["LANGUAGES"]],
            "navigation": navigation,
            "database_unavailable": g.get("database_unavailable", False),
        }
