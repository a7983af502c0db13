"""A throwaway PostgreSQL cluster for the test run (initdb, pg_ctl; about a second to start).

initdb refuses to run as root, so as root the cluster is created and run by the `postgres`
user (runuser). The server listens only on a unix socket in a temporary folder, so no port can
clash with another process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]
PORT = 25432


def _bin(name: str) -> str:
    for folder in PG_BIN_CANDIDATES:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"PostgreSQL's {name} was not found; install the `postgresql` package.")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster and yield a SQLAlchemy URL for its `postgres` database."""
    root = Path(tempfile.mkdtemp(prefix="liaison-pg-"))
    data, socket_dir = root / "data", root / "socket"
    data.mkdir()
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(socket_dir, "postgres")
    user = "postgres"
    subprocess.run(
        _as_server_user([_bin("initdb"), "--no-sync", "-U", user, "-A", "trust", "-E", "UTF8", "-D", str(data)]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses='' -c unix_socket_directories={socket_dir} -c port={PORT} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    subprocess.run(
        _as_server_user(
            [_bin("pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "server.log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://{user}@/postgres?host={socket_dir}&port={PORT}"
    finally:
        subprocess.run(
            _as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
