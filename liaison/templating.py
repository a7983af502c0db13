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
    """One entry of the primary navigation: its words (translated), link and endpoint."""

    label: str
    url: str
    endpoint: str

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
    role, is_admin = current_user.role, current_user.is_admin
    key = ("navigation", request.script_root, str(get_locale()), role, is_admin)
    cache = _layout_cache()
    items = cache.get(key)
    if items is None:
        items = cache[key] = _navigation(role, is_admin)
    return items  # type: ignore[no-any-return]


def _navigation(role: Role, is_admin: bool) -> list[NavItem]:
    if role == Role.COORDINATOR:
        entries = [
            (_l("Dashboard"), "main.coordinator_dashboard"),
            (_l("Applications"), "queue.index"),
            (_l("Cohorts"), "cohorts.index"),
            (_l("Training"), "authoring.index"),
            (_l("Certificates"), "certificate_admin.index"),
            (_l("Requests"), "request_queue.index"),
            (_l("Service catalog"), "catalog.index"),
        ]
        if is_admin:
            entries.append((_l("Accounts"), "accounts.index"))
    else:
        entries = [
            (_l("My dashboard"), "main.liaison_dashboard"),
            (_l("Training"), "training.index"),
            (_l("My requests"), "my_requests.index"),
        ]
    entries.append((_l("My account"), "auth.account"))
    return [NavItem(str(label), url_for(endpoint), endpoint) for label, endpoint in entries]


def layout_url(endpoint: str, **values: Any) -> str:
    """`url_for` for the links every page's layout repeats (stylesheets, scripts, the language
    and logout forms): built once per process for each script root, not on every page."""
    key = ("url", request.script_root, endpoint, *sorted(values.items()))
    cache = _layout_cache()
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url  # type: ignore[no-any-return]


def _layout_cache() -> dict[Any, Any]:
    # Per app; its keys are the handful of script roots, languages and roles there are.
    return current_app.extensions.setdefault("layout_cache", {})  # type: ignore[no-any-return]


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
    app.add_template_global(layout_url, "layout_url")
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
