"""cProfile one page in-process: `python -m benchmarks.profile_page PATH [EMAIL]`.

Run by `python -m benchmarks --profile` with the benchmark instance's environment (the app reads
its settings from the environment at import). Logs in through the real form with the Flask test
client, warms up, then profiles a batch of requests and prints the top costs and SQL per request.
"""

from __future__ import annotations

import collections
import cProfile
import io
import logging
import pstats
import sys
import time

from sqlalchemy import event

from benchmarks.client import csrf_token

DEMO_PASSWORD = "liaison-demo"
WARMUP = 30
REQUESTS = 300


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "/coordinator"
    email = argv[1] if len(argv) > 1 else None

    from liaison.extensions import db
    from wsgi import app

    logging.getLogger().setLevel(logging.WARNING)  # create_app logs logins at INFO

    test_client = app.test_client()
    if email:
        page = test_client.get("/login")
        login = test_client.post(
            "/login",
            data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email, "password": DEMO_PASSWORD},
        )
        if login.status_code != 302:
            print(f"login as {email} failed: {login.status_code}")
            return 1
    for _ in range(WARMUP):
        response = test_client.get(path)
        if response.status_code != 200:
            print(f"GET {path} answered {response.status_code}")
            return 1

    started = time.perf_counter()
    for _ in range(REQUESTS):
        test_client.get(path)
    plain = (time.perf_counter() - started) / REQUESTS

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(REQUESTS):
        test_client.get(path)
    profiler.disable()
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count)

    print(
        f"GET {path} in-process (no gunicorn, no concurrency): {plain * 1000:.2f} ms per request, "
        f"{elapsed / REQUESTS * 1000:.2f} ms under cProfile; {len(statements) / REQUESTS:.1f} SQL statements "
        "per request (pool pre-ping not counted):"
    )
    for statement, seen in collections.Counter(" ".join(s.split())[:100] for s in statements).items():
        print(f"  {seen / REQUESTS:4.1f} x {statement}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(25)
        print(f"\nTop 25 by {order}:")
        print(out.getvalue().split("\n\n", 1)[-1].rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
