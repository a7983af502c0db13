"""Browser fixtures: Debian's chromium through pytest-playwright, a live server, and axe.

`playwright install` cannot run here (it downloads its own browser), so the launch arguments
point Playwright at /usr/bin/chromium; `--browser-channel` is neither needed nor supported.
Each test gets its own app, fresh database (SQLite or `--db=postgresql`) and the demo program,
served by Werkzeug on a free port from a daemon thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
AXE_SOURCE_PATH = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Assertions retry until they hold or this bound (see `page` below for why it is generous).
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser drives a browser: mark it so `-m "not browser"` skips it."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Launch Debian's chromium (overrides pytest-playwright's fixture of the same name)."""
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """Replaces pytest-playwright 0.10's fallback `base_url`, a session fixture defined as an
    instance method, which pytest 9.2 deprecates (an error under our filterwarnings).
    Tests use absolute URLs from `live_server`, so this is normally None."""
    return pytestconfig.getoption("--base-url", default=None) or None


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The shared test settings, with CSRF on so the browser goes through the real token path."""
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


class _QuietRequestHandler(WSGIRequestHandler):
    """Leaves out the access log line of every request (dozens per journey); errors still log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app with the demo program, served over HTTP; yields the base URL (no trailing slash)."""
    from liaison.demo import seed_demo
    from liaison.extensions import db

    with app.app_context(), app.test_request_context():
        seed_demo()
        db.session.commit()

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(page: Page) -> Page:
    """pytest-playwright's page with bounded timeouts. A local server answers in milliseconds,
    but on this VM's slow days a click that loads a page has taken more than 5 s (the server, its
    static files and chromium share two cores): a wait ends as soon as the page is there, so a
    generous bound costs passing tests nothing."""
    page.set_default_timeout(20_000)
    page.set_default_navigation_timeout(30_000)
    return page


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE_SOURCE_PATH.read_text(encoding="utf-8")


def _describe_violations(violations: list[dict[str, Any]], url: str) -> str:
    lines = [f"{len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"][:3]:
            lines.append(f"    at {node['target']}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(violation["nodes"]) > 3:
            lines.append(f"    ... and {len(violation['nodes']) - 3} more element(s)")
    return "\n".join(lines)


@pytest.fixture
def assert_accessible(axe_source: str) -> Any:
    """`assert_accessible(page)` runs axe-core (WCAG 2.1 A and AA rules) and fails on any violation.

    The site's CSP forbids inline scripts, so axe is not added as a <script> tag: evaluating
    its source through the DevTools protocol is not subject to the page's CSP.
    """

    def check(page: Page) -> None:
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source)
        results = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            AXE_TAGS,
        )
        if results["violations"]:
            pytest.fail(_describe_violations(results["violations"], page.url))

    return check


@pytest.fixture
def certified_demo_liaison(app: Flask, live_server: str) -> str:
    """The demo liaison who files requests (liaison@example.org): the demo program certified her
    through the training services, so the filing gate lets her start and submit batches. Returns
    the email."""
    from liaison.auth.services import find_user_by_email
    from liaison.certificates.services import filing_gate

    email = "liaison@example.org"
    with app.test_request_context():
        assert filing_gate(find_user_by_email(email)).allowed, "the demo program did not certify " + email
    return email
