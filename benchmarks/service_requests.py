"""The bulk-request benchmark: a 5,000-row upload parsed, validated, imported and submitted, and
"My requests" and the coordinator queue with 200,000 requests in the database.

Run alone with `python -m benchmarks.service_requests [--requests 200000] [--rows 5000] [--db sqlite|postgresql|both]`,
or with the rest by `python -m benchmarks` (which runs it in a child process at the end).

In-process, with the app's own services, on throwaway databases (removed at the end): a SQLite
file, and a PostgreSQL cluster started for the run (unix socket only, fsync off, as the tests use).

- parse + validate: `importer.parse_upload` of a generated 5,000-row CSV (the catalog's services,
  with attribute columns and neighbor contact), median of 3;
- import: `importer.import_into_batch` of those rows into a draft batch, plus the commit;
- submit: `submission.timed_submit` (the web's submit service and its single commit), per phase;
- pages: GET "My requests" (`/requests/`, a liaison with 2,000 of the requests) and the coordinator
  queue (`/coordinator/requests/`, all 200,000; then filtered by state and service) through the
  Flask test client: median and p90 of 20 requests after 3 warm-ups, and the SQL statements each runs.

Figures only, no pass/fail; the issue's target (5,000 rows submitted in under 1 s) is printed next
to them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "liaison-bench-password"
LIAISON_EMAIL = "bench.liaison@example.org"
COORDINATOR_EMAIL = "bench.coordinator@example.org"
OTHER_LIAISONS = 1_000
OWN_REQUESTS = 2_000
TARGET_SUBMIT_S = 1.0
PAGE_RUNS = 20
STREETS = ["Cedar Ave", "Baltimore Ave", "Spruce St", "Catharine St", "Christian St", "S 52nd St", "Larchwood Ave"]
TRANSACTION_CONTROL = ("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _make_app(database_url: str, root: Path) -> Any:
    from liaison import create_app
    from liaison.config import DevelopmentConfig

    app = create_app(
        {
            "CONFIG_CLASS": DevelopmentConfig,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_OUTBOX_DIR": str(root / "outbox"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_ENABLED": False,
            # The test client logs in with a plain POST; the pages measured are GETs.
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 8,
        }
    )
    logging.getLogger("liaison").setLevel(logging.WARNING)
    return app


def _seed(requests: int) -> dict[str, Any]:
    """Catalog, a certified liaison, a coordinator, 1,000 other liaisons and `requests` requests."""
    from sqlalchemy import insert, select, text

    from liaison.auth.models import Role, User
    from liaison.auth.services import create_user
    from liaison.certificates.models import Certificate, CertificatePeriod, CertificateStatus, PeriodKind
    from liaison.certificates.services import new_code
    from liaison.enrollment.models import Cohort, CohortStatus, Membership, MembershipStatus
    from liaison.extensions import db
    from liaison.service_requests.catalog import seed_catalog
    from liaison.service_requests.models import RequestEvent, RequestState, ServiceRequest, ServiceType
    from liaison.service_requests.validation import normalize_address

    coordinator = create_user(
        email=COORDINATOR_EMAIL, full_name="Bench Coordinator", role=Role.COORDINATOR, password=PASSWORD, is_admin=True
    )
    liaison = create_user(email=LIAISON_EMAIL, full_name="Bench Liaison", role=Role.LIAISON, password=PASSWORD)
    db.session.flush()
    seed_catalog(coordinator)
    cohort = Cohort(name="Cedar Park benchmark cohort", neighborhood="Cedar Park", capacity=2_000)
    cohort.status = CohortStatus.ACTIVE
    db.session.add(cohort)
    db.session.flush()
    db.session.add(Membership(user_id=liaison.id, cohort_id=cohort.id, status=MembershipStatus.ACTIVE))
    now = datetime.now(UTC)
    certificate = Certificate(
        user_id=liaison.id,
        cohort_id=cohort.id,
        code=new_code(),
        status=CertificateStatus.ACTIVE,
        issued_at=now,
        expires_at=now + timedelta(days=365),
    )
    certificate.periods.append(
        CertificatePeriod(kind=PeriodKind.ISSUED, starts_at=now, ends_at=now + timedelta(days=365))
    )
    db.session.add(certificate)
    db.session.execute(
        insert(User),
        [
            {
                "email": f"bench.other{number:04d}@example.org",
                "full_name": f"Other Liaison {number:04d}",
                "role": Role.LIAISON,
                "active": True,
                "is_admin": False,
            }
            for number in range(OTHER_LIAISONS)
        ],
    )
    others = list(db.session.scalars(select(User.id).where(User.email.like("bench.other%"))))
    service_ids = list(db.session.scalars(select(ServiceType.id)))
    db.session.commit()

    randomly = random.Random(311)
    states = list(RequestState)
    chunk = 10_000
    for start in range(0, requests, chunk):
        rows = []
        for number in range(start, min(start + chunk, requests)):
            address = f"{randomly.randint(100, 6999)} {randomly.choice(STREETS)}"
            state = randomly.choice(states)
            requested = now - timedelta(minutes=randomly.randint(0, 365 * 24 * 60))
            rows.append(
                {
                    "public_token": secrets.token_urlsafe(16),
                    "liaison_id": liaison.id if number < OWN_REQUESTS else randomly.choice(others),
                    "service_type_id": randomly.choice(service_ids),
                    "address": address,
                    "normalized_address": normalize_address(address),
                    "zipcode": "19143",
                    "description": "Reported at a civic meeting",
                    "attributes": {},
                    "neighbor_first_name": "Ana" if number % 3 == 0 else "",
                    "neighbor_last_name": "",
                    "neighbor_phone": "",
                    "neighbor_email": "",
                    "contact_consent": number % 3 == 0,
                    "neighborhood": "Cedar Park",
                    "state": state,
                    "status_note": "",
                    "needs_review": number % 50 == 0,
                    "review_reason": "",
                    "external_id": "",
                    "requested_at": requested,
                    "updated_at": requested,
                    "closed_at": requested if state in (RequestState.CLOSED, RequestState.REJECTED) else None,
                }
            )
        db.session.execute(insert(ServiceRequest), rows)
        db.session.commit()
    db.session.execute(
        insert(RequestEvent).from_select(
            ["request_id", "occurred_at", "actor_id", "kind", "to_state", "note"],
            select(
                ServiceRequest.id,
                ServiceRequest.requested_at,
                ServiceRequest.liaison_id,
                _literal("filed"),
                _literal("submitted"),
                _literal(""),
            ),
        )
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # A live database has planner statistics (autovacuum); one fresh from a bulk load does not yet.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return {"liaison_id": liaison.id, "service_codes": _codes()}


def _literal(value: str) -> Any:
    from sqlalchemy import String, literal

    return literal(value, String)


def _codes() -> list[tuple[str, list[tuple[str, str, list[str]]]]]:
    """(service code, [(attribute code, datatype, value keys)]) for every active service."""
    from liaison.service_requests.validation import load_catalog

    catalog = load_catalog()
    return [
        (
            service.code,
            [
                (attribute.code, str(attribute.datatype), [value["key"] for value in attribute.values or []])
                for attribute in service.attributes
                if attribute.variable
            ],
        )
        for service in catalog.types
    ]


def _csv(rows: int, codes: list[tuple[str, list[tuple[str, str, list[str]]]]]) -> bytes:
    """A realistic upload: every service, its attribute columns, some neighbors with consent."""
    attribute_columns = sorted({f"attribute:{code}" for _, attributes in codes for code, _, _ in attributes})
    header = [
        "service_code", "address", "zipcode", "description", "neighbor_first_name", "neighbor_last_name",
        "neighbor_phone", "neighbor_email", "contact_consent", *attribute_columns,
    ]  # fmt: skip
    randomly = random.Random(5000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for number in range(rows):
        code, attributes = codes[number % len(codes)]
        answers = dict.fromkeys(attribute_columns, "")
        for attribute_code, datatype, keys in attributes:
            column = f"attribute:{attribute_code}"
            if datatype == "number":
                answers[column] = str(randomly.randint(1, 30))
            elif datatype == "datetime":
                answers[column] = "2026-11-20 09:30"
            elif datatype == "singlevaluelist" and keys:
                answers[column] = randomly.choice(keys)
            elif datatype == "multivaluelist" and keys:
                answers[column] = ";".join(randomly.sample(keys, min(2, len(keys))))
            else:
                answers[column] = f"P-{number:05d}"
        consent = number % 4 == 0
        writer.writerow(
            [
                code,
                f"{randomly.randint(100, 6999)} {randomly.choice(STREETS)}",
                "19143",
                f"Concern {number} raised at the civic meeting",
                "Ana" if consent else "",
                "Ruiz" if consent else "",
                "215-555-0134" if consent else "",
                f"neighbor{number}@example.org" if consent else "",
                "yes" if consent else "no",
                *(answers[column] for column in attribute_columns),
            ]
        )
    return out.getvalue().encode("utf-8")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def _counting(engine: Any) -> Iterator[list[str]]:
    from sqlalchemy import event

    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _page(app: Any, client: Any, path: str, expect: str) -> tuple[float, float, int]:
    """Median and p90 ms of GET path, and the statements one request runs."""
    from liaison.extensions import db

    for _ in range(3):
        response = client.get(path)
        if response.status_code != 200 or expect.encode() not in response.data:
            raise RuntimeError(f"GET {path} answered {response.status_code} without {expect!r}")
    timings = []
    for _ in range(PAGE_RUNS):
        started = time.perf_counter()
        client.get(path)
        timings.append(_ms(started))
    with app.app_context():
        engine = db.engine
    with _counting(engine) as statements:
        client.get(path)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.9) - 1], len(statements)


def measure(kind: str, database_url: str, root: Path, *, requests: int, rows: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from liaison.auth.models import User
    from liaison.extensions import db
    from liaison.service_requests import importer, submission
    from liaison.service_requests.models import RequestBatch
    from liaison.service_requests.validation import load_catalog

    app = _make_app(database_url, root)
    print(f"[{kind}]", flush=True)
    with app.app_context():
        started = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade(directory=str(PROJECT_ROOT / "migrations"))
        seeded = _seed(requests)
        print(f"  seeded {requests:,} requests, {OTHER_LIAISONS:,} liaisons in {_ms(started) / 1000:.1f} s", flush=True)
        data = _csv(rows, seeded["service_codes"])

    with app.test_request_context():
        catalog = load_catalog()
        parse_ms = []
        for _ in range(3):
            started = time.perf_counter()
            parsed = importer.parse_upload(
                "meeting.csv", data, catalog=catalog, max_rows=rows, max_bytes=app.config["BULK_MAX_BYTES"]
            )
            parse_ms.append(_ms(started))
        problems = parsed.rows_with_problems
        liaison = db.session.get(User, seeded["liaison_id"])
        batch = RequestBatch(liaison_id=liaison.id, title="Benchmark meeting", neighborhood="Cedar Park")
        db.session.add(batch)
        db.session.commit()
        started = time.perf_counter()
        importer.import_into_batch(liaison, batch, parsed)
        db.session.commit()
        import_ms = _ms(started)
        batch_id = batch.id

    with app.test_request_context():
        submitted = submission.timed_submit(seeded["liaison_id"], batch_id)
        filed = db.session.scalar(select(RequestBatch.row_count).where(RequestBatch.id == batch_id))

    print(
        f"  {rows:,}-row CSV ({len(data) / 1024 / 1024:.1f} MB): parse + validate {statistics.median(parse_ms):.0f} ms "
        f"(median of 3; {problems} rows with problems)"
    )
    print(f"  import into the draft batch (Core insert + commit): {import_ms:.0f} ms")
    phases = ", ".join(f"{phase} {value:.0f}" for phase, value in submitted["phases_ms"].items())
    total_s = submitted["total_ms"] / 1000
    print(
        f"  submit {submitted['filed']:,} of {filed:,} rows: {submitted['total_ms']:.0f} ms ({phases} ms) "
        f"(target < {TARGET_SUBMIT_S:.0f} s: {'met' if total_s < TARGET_SUBMIT_S else 'NOT met'})"
    )
    print(
        f"  server-side parse + validate + submit: {(statistics.median(parse_ms) + submitted['total_ms']) / 1000:.2f} s"
    )

    total = requests + rows
    for email, pages in (
        (LIAISON_EMAIL, [("My requests", "/requests/", "My requests")]),
        (
            COORDINATOR_EMAIL,
            [
                ("queue", "/coordinator/requests/", "Requests"),
                ("queue, state=submitted", "/coordinator/requests/?state=submitted", "Requests"),
                ("queue, flagged, page 3", "/coordinator/requests/?review=yes&page=3", "Requests"),
            ],
        ),
    ):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"could not log in as {email}: {response.status_code}")
        for label, path, expect in pages:
            median, p90, queries = _page(app, client, path, expect)
            print(
                f"  {label:<26} {path:<42} median {median:6.1f} ms  p90 {p90:6.1f} ms  {queries:2d} queries "
                f"({total:,} requests in the database)",
                flush=True,
            )
    with app.app_context():
        db.engine.dispose()


def run_all(kinds: list[str], *, requests: int, rows: int) -> int:
    print(f"Bulk requests benchmark: {rows:,}-row upload, pages with {requests:,} requests (figures, not pass/fail)")
    with tempfile.TemporaryDirectory(prefix="liaison-bench-requests-") as folder:
        root = Path(folder)
        if "sqlite" in kinds:
            measure("SQLite", f"sqlite:///{root / 'bench.sqlite3'}", root, requests=requests, rows=rows)
        if "postgresql" in kinds:
            from sqlalchemy import create_engine, text

            from tests.support.postgres import throwaway_cluster

            with throwaway_cluster() as server_url:
                engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
                with engine.connect() as connection:
                    connection.execute(text("CREATE DATABASE bench"))
                engine.dispose()
                measure("PostgreSQL", server_url.replace("/postgres?", "/bench?"), root, requests=requests, rows=rows)
    print("  temporary databases removed.")
    return 0


def run() -> int:
    """For `python -m benchmarks`: run this benchmark in a child process (it imports the app)."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.service_requests"], cwd=PROJECT_ROOT, timeout=1800, check=False
    )
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service_requests", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="requests in the database (default 200000)")
    parser.add_argument("--rows", type=int, default=5_000, help="rows in the upload and the submit (default 5000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    if not OWN_REQUESTS <= args.requests <= 2_000_000 or not 10 <= args.rows <= 5_000:
        parser.error(f"need {OWN_REQUESTS} <= --requests <= 2000000 and 10 <= --rows <= 5000")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    return run_all(kinds, requests=args.requests, rows=args.rows)


if __name__ == "__main__":
    sys.exit(main())
