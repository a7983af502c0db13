"""The training benchmark: 500 liaisons in one cohort × 10 published modules with quizzes.

Run with the rest by `python -m benchmarks` (or alone: `python -m benchmarks.training_pages`).
It builds its own throwaway instance (fresh SQLite database, no demo data), seeds it in bulk with
Core inserts, serves it with gunicorn (2 sync workers) next to the bare 50-row Flask table, and
measures with wrk:

- the training page (`/training/`) as one liaison,
- the quiz page (`/training/attempts/<id>`) of that liaison's open attempt,
- the cohort roster (`/coordinator/cohorts/<id>`, 50 rows per page, with the training column),
  served as coordinators get it (rendered once per data version, liaison/page_cache.py: every
  request after the first finds it rendered) and by a second app server with the cache off
  (PAGE_CACHE_ENTRIES=0: rendered on every request, as the first view after any change is),

printing requests/s, p50/p99 latency, the SQL statements each page runs (counted once per page
with the Flask test client and a before_cursor_execute listener) and whether each page reaches
the issue's target: at least half the requests/s of the bare route, measured in the same run.

The seeding and the query count run in child processes with the instance's environment (the app
reads its settings from the environment when `wsgi` is imported), like benchmarks.profile_page:
`python -m benchmarks.training_pages seed|queries|cpu|profile ...`. The `cpu` child also times
each page's CPU per request in-process against the bare route, a figure a busy machine disturbs
far less than the load test's requests/s.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import io
import json
import logging
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks import client, cpu, http_load, servers

LIAISONS = 500
MODULES = 10
QUESTIONS = 3
SESSIONS = 6
ROSTER_ROWS = 50
PASSWORD = "liaison-bench-password"
COORDINATOR_EMAIL = "bench.coordinator@example.org"
LIAISON_EMAIL = "bench.liaison@example.org"
TARGET_RATIO = 0.5
TRANSACTION_CONTROL = ("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# Both accounts' sessions are made by logging in through the real form (benchmarks.client).
ACCOUNTS = {"coordinator": COORDINATOR_EMAIL, "liaison": LIAISON_EMAIL}


@dataclass(frozen=True)
class TrainingPage:
    label: str
    server: str  # "app", "app-uncached" (PAGE_CACHE_ENTRIES=0: for figures, no target) or "bare"
    path: str
    account: str | None
    expect: str


@dataclass
class Row:
    page: TrainingPage
    load: http_load.LoadResult
    others_cpu: float
    queries: int | None
    # The bare route measured just before this page (the machine's load changes between runs).
    bare: http_load.LoadResult | None = None

    @property
    def ratio(self) -> float:
        if self.bare is None or not self.bare.requests_per_s:
            return float("nan")
        return self.load.requests_per_s / self.bare.requests_per_s


# Seeding (child process) ---------------------------------------------------------------------


def _seed() -> dict[str, Any]:
    """Fill an empty, migrated database; returns ids and counts for the parent. Deterministic."""
    import random

    from sqlalchemy import insert

    from liaison.auth.models import Role, User
    from liaison.auth.passwords import hash_password
    from liaison.db_types import utcnow
    from liaison.enrollment import services as enrollment
    from liaison.enrollment.models import Attendance, Membership, SessionKind, TrainingSession
    from liaison.extensions import db
    from liaison.training import grading
    from liaison.training import services as training
    from liaison.training.models import AttemptStatus, ModuleRead, QuestionKind, QuizAttempt
    from wsgi import app

    rng = random.Random(311)  # noqa: S311 - benchmark data, not security
    started = time.perf_counter()
    now = utcnow()
    # An application context, not a request: the app treats a GET request as read-only.
    with app.app_context():
        password_hash = hash_password(PASSWORD)
        db.session.execute(
            insert(User),
            [
                {
                    "email": COORDINATOR_EMAIL,
                    "full_name": "Bench Coordinator",
                    "role": Role.COORDINATOR,
                    "password_hash": password_hash,
                    "active": True,
                    "is_admin": False,
                }
            ],
        )
        coordinator = db.session.scalars(db.select(User).where(User.email == COORDINATOR_EMAIL)).one()
        cohort = enrollment.create_cohort(
            coordinator, enrollment.CohortInput(name="Benchmark cohort", capacity=LIAISONS + 10)
        )

        # Modules and quizzes through the services (few rows; the rules check them).
        modules = []
        for number in range(1, MODULES + 1):
            module = training.create_module(
                coordinator,
                training.ModuleInput(
                    title={"en": f"Module {number}: city services", "es": f"Módulo {number}: servicios"},
                    summary={"en": "What a liaison needs to know.", "es": "Lo que un enlace necesita saber."},
                    body={"en": "## Read this\n\n" + "A paragraph of training text. " * 60},
                    estimated_minutes=15,
                    required=number <= 8,
                ),
            )
            quiz = training.save_quiz_settings(
                coordinator,
                module,
                training.QuizSettings(pass_mark=67, attempts_allowed=3 if number % 3 else None),
            )
            for question_number in range(1, QUESTIONS + 1):
                kind = QuestionKind.TRUE_FALSE if question_number == 3 else QuestionKind.SINGLE
                choices = (
                    [training.ChoiceInput({"en": "True"}, True), training.ChoiceInput({"en": "False"})]
                    if kind is QuestionKind.TRUE_FALSE
                    else [
                        training.ChoiceInput({"en": f"Right answer {question_number}"}, True),
                        training.ChoiceInput({"en": f"Wrong answer {question_number}a"}),
                        training.ChoiceInput({"en": f"Wrong answer {question_number}b"}),
                        training.ChoiceInput({"en": f"Wrong answer {question_number}c"}),
                    ]
                )
                training.add_question(
                    coordinator,
                    quiz,
                    training.QuestionInput(
                        kind=kind,
                        prompt={"en": f"Module {number}, question {question_number}: which is right?"},
                        explanation={"en": "Because the training says so."},
                        choices=choices,
                    ),
                )
            training.set_module_published(coordinator, module, True)
            modules.append(module)
        for number in range(SESSIONS):
            db.session.add(
                TrainingSession(
                    cohort_id=cohort.id,
                    title=f"Session {number + 1}",
                    kind=SessionKind.IN_PERSON,
                    starts_at=now - timedelta(days=7 * (SESSIONS - number)),
                    ends_at=now - timedelta(days=7 * (SESSIONS - number), hours=-2),
                    location="Library",
                )
            )
        db.session.flush()
        sessions = list(db.session.scalars(db.select(TrainingSession.id).where(TrainingSession.cohort_id == cohort.id)))

        # 500 liaisons, their places, attendance, reads and attempts: Core inserts in bulk.
        db.session.execute(
            insert(User),
            [
                {
                    "email": LIAISON_EMAIL if number == 0 else f"bench.liaison{number:03d}@example.org",
                    "full_name": f"Liaison {number:03d} Example",
                    "role": Role.LIAISON,
                    "password_hash": password_hash,
                    "active": True,
                    "is_admin": False,
                    # Most have logged in lately: the roster shows when (a formatted date per row).
                    "last_login_at": now - timedelta(hours=rng.randint(1, 24 * 30)) if rng.random() < 0.85 else None,
                }
                for number in range(LIAISONS)
            ],
        )
        user_ids = list(db.session.scalars(db.select(User.id).where(User.role == Role.LIAISON).order_by(User.id)))
        db.session.execute(insert(Membership), [{"cohort_id": cohort.id, "user_id": uid} for uid in user_ids])
        db.session.execute(
            insert(Attendance),
            [
                {"session_id": session_id, "user_id": uid, "present": rng.random() < 0.8, "recorded_at": now}
                for uid in user_ids
                for session_id in sessions
            ],
        )
        snapshots = {}
        for module in modules:
            quiz = module.quiz
            snapshot = grading.build_snapshot(
                quiz.questions, language="en", seed=module.id, shuffle_questions=True, shuffle_choices=True
            )
            snapshots[quiz.id] = (quiz, snapshot)
        reads, attempts = [], []
        for index, uid in enumerate(user_ids):
            # A realistic spread: from nothing read to everything done, some stuck or locked.
            done = MODULES if index == 0 else rng.randint(0, MODULES)
            for module in modules[:done]:
                reads.append({"user_id": uid, "module_id": module.id, "read_at": now})
                quiz, snapshot = snapshots[module.quiz.id]
                tries = rng.choice([1, 1, 1, 2, 2, 3])
                for number in range(1, tries + 1):
                    last = number == tries
                    passes = last and (quiz.attempts_allowed is None or rng.random() < 0.85)
                    answers = {
                        question["key"]: [
                            choice["key"]
                            for choice in question["choices"]
                            if choice["correct"] == (passes or rng.random() < 0.5)
                        ][:1]
                        for question in snapshot
                    }
                    result = grading.grade(snapshot, answers)
                    attempts.append(
                        {
                            "quiz_id": quiz.id,
                            "user_id": uid,
                            "number": number,
                            "status": AttemptStatus.SUBMITTED,
                            "language": "en",
                            "started_at": now,
                            "submitted_at": now,
                            "snapshot": snapshot,
                            "answers": answers,
                            "score": result.score,
                            "passed": result.score >= quiz.pass_mark,
                            "late": False,
                        }
                    )
        db.session.execute(insert(ModuleRead), reads)
        db.session.execute(insert(QuizAttempt), attempts)
        db.session.commit()

        # The measured liaison has read everything and has one quiz open (a real start_attempt).
        liaison = db.session.get(User, user_ids[0])
        db.session.execute(
            db.delete(QuizAttempt).where(QuizAttempt.user_id == liaison.id, QuizAttempt.quiz_id == modules[-1].quiz.id)
        )
        open_attempt = training.start_attempt(liaison, modules[-1].quiz, language="en")
        db.session.commit()
        return {
            "cohort_id": cohort.id,
            "attempt_id": open_attempt.id,
            "liaisons": len(user_ids),
            "modules": len(modules),
            "reads": len(reads),
            "attempts": db.session.scalar(db.select(db.func.count()).select_from(QuizAttempt)),
            "seconds": round(time.perf_counter() - started, 1),
        }


# Query count and profile (child process) -----------------------------------------------------


def _logged_in_client(app: Any, email: str) -> Any:
    test_client = app.test_client()
    page = test_client.get("/login")
    login = test_client.post(
        "/login",
        data={"csrf_token": client.csrf_token(page.get_data(as_text=True)), "email": email, "password": PASSWORD},
    )
    if login.status_code != 302:
        raise RuntimeError(f"login as {email} failed: {login.status_code}")
    return test_client


def _queries(pages: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The SQL statements of one GET of each (account, path), after a warm-up request."""
    from sqlalchemy import event

    from liaison.extensions import db
    from wsgi import app

    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        engine = db.engine
    clients = {account: _logged_in_client(app, ACCOUNTS[account]) for account in {a for a, _ in pages}}
    counted: dict[str, list[str]] = {}
    for account, path in pages:
        test_client = clients[account]
        warm = test_client.get(path)
        if warm.status_code != 200:
            raise RuntimeError(f"GET {path} answered {warm.status_code}")
        statements: list[str] = []

        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # Like tests/conftest.py count_queries: transaction control is not a query.
            if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
                statements.append(statement)  # noqa: B023 - removed below, before the next page

        event.listen(engine, "before_cursor_execute", before)
        try:
            test_client.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        counted[path] = statements
    return counted


def _cpu(pages: list[tuple[str, str]], requests: int = 60, repeats: int = 7) -> dict[str, float]:
    """CPU ms per GET in-process (test client, no gunicorn, no load generator), the best of
    `repeats` runs, for each (account, path) and for the bare route ("bare"), measured in turn.

    CPU time of this process, not wall time: on a machine other programs keep busy the wall-time
    figures swing by 2-4x, this one far less; the ratio to the bare route is the same comparison
    as the load test's."""
    from benchmarks.bare_app import app as bare_app
    from wsgi import app

    logging.getLogger().setLevel(logging.WARNING)
    clients = {account: _logged_in_client(app, ACCOUNTS[account]) for account in {a for a, _ in pages}}
    bare_client = bare_app.test_client()

    def best(test_client: Any, path: str) -> float:
        for _ in range(10):
            test_client.get(path)
        runs = []
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(requests):
                test_client.get(path)
            runs.append((time.process_time() - started) / requests * 1000)
        return min(runs)

    result = {"bare": best(bare_client, "/")}
    for account, path in pages:
        result[path] = best(clients[account], path)
    result["bare"] = min(result["bare"], best(bare_client, "/"))
    return result


def _profile(account: str, path: str, requests: int = 200) -> str:
    """cProfile of `requests` GETs of one page in-process: where a slow page spends its time."""
    from wsgi import app

    logging.getLogger().setLevel(logging.WARNING)
    test_client = _logged_in_client(app, ACCOUNTS[account])
    for _ in range(20):
        test_client.get(path)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(requests):
        test_client.get(path)
    profiler.disable()
    elapsed = (time.perf_counter() - started) / requests
    out = io.StringIO()
    out.write(f"GET {path} in-process under cProfile: {elapsed * 1000:.2f} ms per request\n")
    for order in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(20)
        out.write(f"\nTop 20 by {order}:\n" + stream.getvalue().split("\n\n", 1)[-1].rstrip() + "\n")
    return out.getvalue()


def _child(argv: list[str]) -> int:
    command = argv[0]
    if command == "seed":
        print(json.dumps(_seed()))
    elif command == "queries":
        pages = [tuple(item.split(":", 1)) for item in argv[1:]]
        print(json.dumps(_queries(pages)))  # type: ignore[arg-type]
    elif command == "cpu":
        pages = [tuple(item.split(":", 1)) for item in argv[1:]]
        print(json.dumps(_cpu(pages)))  # type: ignore[arg-type]
    elif command == "profile":
        print(_profile(argv[1], argv[2]))
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


def _run_child(instance: servers.Instance, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.training_pages", *args],
        cwd=servers.PROJECT_ROOT,
        env=instance.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=servers.die_with_parent,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmarks.training_pages {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# Measuring (parent process) ------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def _measure(
    page: TrainingPage,
    server: servers.Server,
    cookie: str | None,
    args: argparse.Namespace,
    *,
    tool: str,
    root: Path,
    pgids: set[int],
    queries: int | None,
) -> Row:
    check = client.request(servers.HOST, server.port, "GET", page.path, cookie=cookie)
    if check.status != 200 or page.expect not in check.body:
        raise RuntimeError(f"GET {page.path} answered {check.status} without {page.expect!r}: {check.body[:300]!r}")
    options = {
        "cookie": cookie, "threads": args.threads, "connections": args.connections,
        "max_requests": args.max_requests, "script_dir": root, "tool": tool,
    }  # fmt: skip
    url = server.base_url + page.path
    if args.warmup:
        http_load.run_load(url, duration=args.warmup, **options)
    before = cpu.sample(pgids)
    load = http_load.run_load(url, duration=args.duration, **options)
    return Row(page, load, cpu.others_percent(before, cpu.sample(pgids)), queries)


def _print_rows(rows: list[Row]) -> list[Row]:
    """The table; returns the app pages below the target."""
    header = (
        "page", "path", "req/s", "p50 ms", "p99 ms", "non-200", "SQL/page", "bare req/s", "vs bare", "target",
        "others' CPU",
    )  # fmt: skip
    lines = [header]
    below = []
    for row in rows:
        verdict = ""
        if row.page.server == "app":
            verdict = "met" if row.ratio >= TARGET_RATIO else "BELOW"
            if not row.ratio >= TARGET_RATIO:
                below.append(row)
        elif row.page.server == "app-uncached":
            verdict = "(figure)"
        lines.append(
            (
                row.page.label,
                row.page.path,
                _fmt(row.load.requests_per_s) + ("*" if row.load.capped else ""),
                _fmt(row.load.p50_ms, 2),
                _fmt(row.load.p99_ms, 2),
                str(row.load.non_200) if row.load.non_200 >= 0 else "n/a",
                "" if row.queries is None else str(row.queries),
                _fmt(row.bare.requests_per_s) if row.bare else "",
                _fmt(row.ratio, 2) if row.bare else "",
                verdict,
                _fmt(row.others_cpu, 0) + " %",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print(
            "  " + "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(line)).rstrip()
        )
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    return below


def run(
    args: argparse.Namespace,
    *,
    tool: str,
    root: Path,
    bare: servers.Server,
    stack: contextlib.ExitStack,
) -> int:
    """Seed, serve, count queries, measure; print the table. Returns how many pages missed the target."""
    print(f"Training benchmark: {LIAISONS} liaisons in one cohort × {MODULES} published modules with quizzes")
    folder = root / "training"
    folder.mkdir()
    instance = servers.make_instance(folder)
    instance.flask("db", "upgrade")
    seeded = json.loads(_run_child(instance, "seed").strip().splitlines()[-1])
    print(
        f"  seeded in {seeded['seconds']} s (Core inserts): {seeded['liaisons']} liaisons, {seeded['modules']} modules"
        f" × {QUESTIONS} questions, {seeded['reads']:,} reads, {seeded['attempts']:,} attempts, {SESSIONS} sessions"
        " with attendance",
        flush=True,
    )
    reference = TrainingPage("bare: render_template_string", "bare", "/", None, "<td>Liaison 50</td>")
    pages = [
        TrainingPage("bare: template compiled once", "bare", "/cached", None, "<td>Liaison 50</td>"),
        TrainingPage("training page (liaison)", "app", "/training/", "liaison", "Module 10"),
        TrainingPage(
            "quiz page (open attempt)", "app", f"/training/attempts/{seeded['attempt_id']}", "liaison", "question 1"
        ),
        TrainingPage(
            f"cohort roster ({ROSTER_ROWS} rows)",
            "app",
            f"/coordinator/cohorts/{seeded['cohort_id']}",
            "coordinator",
            "required modules",
        ),
        TrainingPage(
            "  same, cache off (after a change)",
            "app-uncached",
            f"/coordinator/cohorts/{seeded['cohort_id']}",
            "coordinator",
            "required modules",
        ),
    ]
    uncached = servers.Instance(root=instance.root, env={**instance.env, "PAGE_CACHE_ENTRIES": "0"})
    envs = {"app": instance, "app-uncached": uncached}
    counted = {
        name: json.loads(_run_child(env, "queries", *(f"{p.account}:{p.path}" for p in pages if p.server == name)))
        for name, env in envs.items()
    }
    by_name: dict[str, servers.Server] = {"bare": bare}
    for name, env in envs.items():
        by_name[name] = stack.enter_context(
            servers.gunicorn(f"training-{name}", "wsgi:app", env=env.env, log_dir=folder, ready_path="/healthz")
        )
    app = by_name["app"]
    print(
        f"  app: gunicorn -w 2 -b 127.0.0.1:{app.port} wsgi:app (its own instance); the same with"
        f" PAGE_CACHE_ENTRIES=0: port {by_name['app-uncached'].port}; bare: port {bare.port}"
    )
    cookies = {
        (name, account): client.log_in(servers.HOST, by_name[name].port, email, PASSWORD)
        for name in envs
        for account, email in ACCOUNTS.items()
    }
    pgids = {server.process.pid for server in by_name.values()}
    rows = []
    for page in pages:
        cookie = cookies[page.server, page.account] if page.account else None
        queries = len(counted[page.server][page.path]) if page.server in envs else None
        # The reference right before each page: on a shared machine the load changes from run to run.
        bare_row = _measure(reference, bare, None, args, tool=tool, root=root, pgids=pgids, queries=None)
        row = _measure(page, by_name[page.server], cookie, args, tool=tool, root=root, pgids=pgids, queries=queries)
        row.bare = bare_row.load
        print(
            f"    {page.label:<32} {_fmt(row.load.requests_per_s):>9} req/s"
            f"   (bare just before: {_fmt(bare_row.load.requests_per_s)} req/s)",
            flush=True,
        )
        rows.append(row)
    print()
    below = _print_rows(rows)
    print(
        f"  target: each training page serves at least {TARGET_RATIO:.0%} of the requests/s of the bare"
        f" render_template_string route ({reference.path} on the bare server), measured just before it"
        " (bare req/s, vs bare)."
    )
    print(
        "  SQL/page: statements of one GET in-process (test client, before_cursor_execute, BEGIN/COMMIT"
        " not counted), after a warm-up:"
    )
    for page in pages:
        if page.server in envs:
            statements = counted[page.server][page.path]
            print(f"    {page.path}{' (cache off)' if page.server == 'app-uncached' else ''}: {len(statements)}")
            for statement, seen in collections.Counter(" ".join(s.split())[:110] for s in statements).items():
                print(f"      {seen} x {statement}")
    cpu_ms = {
        name: json.loads(
            _run_child(env, "cpu", *(f"{p.account}:{p.path}" for p in pages if p.server == name))
            .strip()
            .splitlines()[-1]
        )
        for name, env in envs.items()
    }
    print(
        f"  in-process CPU per GET (test client, best of 7 runs, the bare {reference.path} route: "
        f"{cpu_ms['app']['bare']:.2f} ms):"
    )
    for page in pages:
        if page.server in envs:
            figures = cpu_ms[page.server]
            ratio = figures["bare"] / figures[page.path]
            print(f"    {page.label:<32} {figures[page.path]:6.2f} ms   vs bare {ratio:.2f}")
    if below:
        print()
        print("  below the target: " + ", ".join(row.page.label for row in below))
    if below and getattr(args, "profile", False):
        for row in below:
            print(f"\nProfile of {row.page.path}:", flush=True)
            print(_run_child(instance, "profile", row.page.account or "", row.page.path, timeout=300))
    return len(below)


def main(argv: list[str] | None = None) -> int:
    """Alone: `python -m benchmarks.training_pages` (with the bare server, without the other pages)."""
    from benchmarks.__main__ import parse_args

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in {"seed", "queries", "cpu", "profile"}:
        return _child(argv)
    args = parse_args(argv)
    tool = args.client if args.client != "auto" else ("wrk" if http_load.wrk_path() else "python")
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="liaison-bench-")))
        env = servers.make_instance(root).env
        bare = stack.enter_context(
            servers.gunicorn("bare", "benchmarks.bare_app:app", env=env, log_dir=root, ready_path="/")
        )
        try:
            run(args, tool=tool, root=root, bare=bare, stack=stack)
        except RuntimeError as error:
            print(f"\nbenchmark failed: {error}", file=sys.stderr)
            return 1
    print(f"done in {time.monotonic() - started:.0f} s; servers stopped, temporary instance removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
