"""`python -m benchmarks`: serve a throwaway instance with gunicorn and print what a few pages cost.

Figures only, no pass/fail. Loopback traffic only; each load run is bounded in time and in
requests; both servers and the temporary instance are removed at the end, on error too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from benchmarks import certificates, client, cpu, http_load, servers, service_requests, training_pages

DEMO_PASSWORD = "liaison-demo"
# The liaison dashboard is measured for a liaison still in training (the demo program certifies
# liaison@example.org), as it was before she was certified, so results stay comparable.
DEMO_ACCOUNTS = {"coordinator": "coordinator@example.org", "liaison": "thuy.nguyen@example.org"}


@dataclass(frozen=True)
class Page:
    label: str
    server: str  # "app" or "bare"
    path: str
    account: str | None  # key of DEMO_ACCOUNTS whose session cookie is sent
    expect: str  # text the page must contain, so a redirect or error page is not measured


PAGES = [
    Page("bare: render_template_string", "bare", "/", None, "<td>Liaison 50</td>"),
    Page("bare: template compiled once", "bare", "/cached", None, "<td>Liaison 50</td>"),
    Page("healthz", "app", "/healthz", None, '"status":"ok"'),
    Page("login page (anonymous)", "app", "/login", None, 'name="csrf_token"'),
    Page("coordinator dashboard", "app", "/coordinator", "coordinator", "Coordinator dashboard"),
    Page("liaison dashboard", "app", "/liaison", "liaison", "Your path through the program"),
]
REFERENCE = PAGES[0]
BUSY_WARNING_PERCENT = 20.0


@dataclass
class Measured:
    page: Page
    load: http_load.LoadResult
    others_cpu: float  # % of the machine other programs used during the run
    writes: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per page (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first (default 1)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="request cap per run (default 100000)")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator (auto: wrk if installed, else a threaded Python client)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="afterwards, cProfile the coordinator dashboard in-process (test client)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 60 or not 0 <= args.warmup <= 10:
        parser.error("--duration must be 1-60 s and --warmup 0-10 s")
    if not 1 <= args.threads <= args.connections <= 256 or args.max_requests < args.connections:
        parser.error("need 1 <= --threads <= --connections <= 256 and --max-requests >= --connections")
    return args


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _command(*command: str, any_status: bool = False) -> str:
    """First line of a command's output ("unknown" if it fails)."""
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False, cwd=servers.PROJECT_ROOT
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    if (result.returncode != 0 and not any_status) or not lines:
        return "unknown" if result.returncode != 0 else ""
    return lines[0]


def describe_machine(tool: str) -> list[str]:
    commit = _command("git", "rev-parse", "--short", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--untracked-files=no")
    if commit != "unknown" and dirty not in ("", "unknown"):
        commit += " (with uncommitted changes)"
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    generator = (
        _command("wrk", "-v", any_status=True).split(" Copyright")[0]
        if tool == "wrk"
        else "threaded Python client (wrk not used)"
    )
    return [
        f"commit:  {commit}",
        f"machine: nproc {len(os.sched_getaffinity(0))}, {platform.machine()}, Linux {platform.release()}, "
        f"load average {load}",
        f"python:  {platform.python_version()}, gunicorn {importlib.metadata.version('gunicorn')}, "
        f"Flask {importlib.metadata.version('flask')}",
        f"load:    {generator}",
    ]


class SessionTable:
    """Watches the instance database: did anything commit, which session rows changed."""

    def __init__(self, database: Path) -> None:
        self.connection = sqlite3.connect(database, timeout=15, isolation_level=None)

    def close(self) -> None:
        self.connection.close()

    def data_version(self) -> int:
        # Changes whenever another connection commits (https://sqlite.org/pragma.html#pragma_data_version).
        return self.connection.execute("PRAGMA data_version").fetchone()[0]

    def rows(self) -> dict[str, tuple[str, str]]:
        return {
            row[0]: (row[1], row[2])
            for row in self.connection.execute("SELECT id, data, last_active_at FROM web_session")
        }


def describe_writes(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]], committed: bool) -> str:
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    updated = sum(1 for key in before.keys() & after.keys() if before[key] != after[key])
    if not committed:
        return "no database writes"
    parts = [
        f"{count} session row(s) {what}"
        for count, what in ((added, "inserted"), (updated, "updated"), (removed, "deleted"))
        if count
    ]
    return "database written: " + (", ".join(parts) if parts else "no web_session rows changed")


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"  # NaN when no request finished


def print_table(results: list[Measured]) -> None:
    reference = next((m.load for m in results if m.page == REFERENCE), None)
    header = (
        "page", "path", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx/3xx", "non-200", "sock err",
        "vs bare", "others' CPU",
    )  # fmt: skip
    rows = [header]
    for measured in results:
        load = measured.load
        ratio = load.requests_per_s / reference.requests_per_s if reference and reference.requests_per_s else None
        rows.append(
            (
                measured.page.label,
                measured.page.path,
                fmt(load.requests_per_s) + ("*" if load.capped else ""),
                fmt(load.p50_ms, 2),
                fmt(load.p99_ms, 2),
                f"{load.requests:,}",
                str(load.non_2xx_3xx),
                str(load.non_200) if load.non_200 >= 0 else "n/a",
                str(load.socket_errors),
                f"{ratio:.2f}" if ratio is not None else "n/a",
                fmt(measured.others_cpu, 0) + " %",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def measure(
    page: Page,
    server: servers.Server,
    cookie: str | None,
    args: argparse.Namespace,
    *,
    tool: str,
    root: Path,
    watcher: SessionTable,
    pgids: set[int],
) -> Measured:
    """Check the page answers 200 with its content, warm up, then one measured bounded run."""
    check = client.request(servers.HOST, server.port, "GET", page.path, cookie=cookie)
    if check.status != 200 or page.expect not in check.body:
        raise RuntimeError(f"GET {page.path} answered {check.status} without {page.expect!r}: {check.body[:300]!r}")
    load_options = {
        "cookie": cookie, "threads": args.threads, "connections": args.connections,
        "max_requests": args.max_requests, "script_dir": root, "tool": tool,
    }  # fmt: skip
    url = server.base_url + page.path
    if args.warmup:
        http_load.run_load(url, duration=args.warmup, **load_options)
    rows, version, cpu_before = watcher.rows(), watcher.data_version(), cpu.sample(pgids)
    load = http_load.run_load(url, duration=args.duration, **load_options)
    others = cpu.others_percent(cpu_before, cpu.sample(pgids))
    writes = describe_writes(rows, watcher.rows(), watcher.data_version() != version)
    return Measured(page, load, others, writes)


def run(args: argparse.Namespace) -> int:
    tool = args.client
    if tool == "auto":
        tool = "wrk" if http_load.wrk_path() else "python"
    elif tool == "wrk" and not http_load.wrk_path():
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --client python")

    print("Liaison benchmarks (figures, not pass/fail)")
    for line in describe_machine(tool):
        print("  " + line)
    print(
        f"  runs:    {args.warmup} s warm-up + {args.duration} s measured per page, {args.connections} connections"
        + (f", {args.threads} wrk threads" if tool == "wrk" else "")
        + f", at most {args.max_requests:,} requests; 2 sync gunicorn workers per server, same 2 cores"
    )
    print()
    started = time.monotonic()

    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="liaison-bench-")))
        instance = servers.make_instance(root)
        print(f"instance:  {root} (fresh SQLite database)", flush=True)
        instance.flask("db", "upgrade")
        print(f"seed-demo: {instance.flask('liaison', 'seed-demo').splitlines()[-1]}", flush=True)

        app = stack.enter_context(
            servers.gunicorn("app", "wsgi:app", env=instance.env, log_dir=root, ready_path="/healthz")
        )
        bare = stack.enter_context(
            servers.gunicorn("bare", "benchmarks.bare_app:app", env=instance.env, log_dir=root, ready_path="/")
        )
        print(f"app:       gunicorn -w 2 -b 127.0.0.1:{app.port} wsgi:app")
        print(f"bare:      gunicorn -w 2 -b 127.0.0.1:{bare.port} benchmarks.bare_app:app")
        by_name = {"app": app, "bare": bare}

        cookies = {
            account: client.log_in(servers.HOST, app.port, email, DEMO_PASSWORD)
            for account, email in DEMO_ACCOUNTS.items()
        }
        print("logged in: " + ", ".join(DEMO_ACCOUNTS.values()))

        watcher = SessionTable(instance.database)
        stack.callback(watcher.close)
        pgids = {app.process.pid, bare.process.pid}
        idle = cpu.sample(pgids)
        time.sleep(1)
        others = cpu.others_percent(idle, cpu.sample(pgids))
        print(f"CPU used by other programs just before the runs: {fmt(others, 0)} % of the machine")
        if others > BUSY_WARNING_PERCENT:
            print("  warning: the machine is busy; figures will be low and noisy (see the others' CPU column)")
        print(flush=True)

        results: list[Measured] = []
        for page in PAGES:
            cookie = cookies[page.account] if page.account else None
            measured = measure(
                page, by_name[page.server], cookie, args, tool=tool, root=root, watcher=watcher, pgids=pgids
            )
            print(f"  {page.label:<30} {fmt(measured.load.requests_per_s):>9} req/s", flush=True)
            results.append(measured)

        print()
        print_table(results)
        print("  vs bare: req/s divided by the bare render_template_string route's req/s.")
        if any(measured.load.capped for measured in results):
            print("  *: wrk reached the request cap before the end of the run, so its req/s is understated.")
        print("  non-200 counts 3xx too (wrk's own count does not). others' CPU: share of the machine used by")
        print("  programs other than this benchmark during the run; above a few % the figures are not comparable.")
        print()
        print("Database writes while each app page was under load (SQLite data_version, web_session rows):")
        for measured in results:
            if measured.page.server == "app":
                print(f"  {measured.page.label}: {measured.writes} ({measured.load.requests:,} requests)")
        print("  The app keeps sessions server-side (web_session) and refreshes last_active_at at most once per")
        print("  60 s, so a dashboard GET with a valid cookie is normally read-only. An anonymous GET /login")
        print("  stores a CSRF token in a new session: one INSERT per visitor without a cookie (wrk sends none).")
        print(f"  load average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")

        print()
        training_pages.run(args, tool=tool, root=root, bare=bare, stack=stack)

        print(flush=True)
        certificates.run()  # in-process in a child: its own throwaway database, no server

        print(flush=True)
        service_requests.run()  # in-process in a child: throwaway SQLite and PostgreSQL databases

        if args.profile:
            print()
            print("Profile of GET /coordinator in-process (Flask test client, cProfile):", flush=True)
            profile = subprocess.run(
                [sys.executable, "-m", "benchmarks.profile_page", "/coordinator", DEMO_ACCOUNTS["coordinator"]],
                cwd=servers.PROJECT_ROOT,
                env=instance.env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            print(profile.stdout + profile.stderr)
    print(f"done in {time.monotonic() - started:.0f} s; servers stopped, temporary instance removed.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the servers are stopped and the instance is removed.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped, temporary instance removed.", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"\nbenchmark failed: {error}\nservers stopped, temporary instance removed.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
