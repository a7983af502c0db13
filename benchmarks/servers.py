"""A throwaway instance of the app, and gunicorn servers that are always stopped.

Every process is started in its own session (its process group id is its pid), asked to die with
this process (PR_SET_PDEATHSIG), and stopped by its own id: SIGTERM to the gunicorn master, then
SIGKILL to its group if anything is left after the grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Below Linux's ephemeral range (32768-60999), where other programs' client sockets come and go.
PORT_RANGE = (20000, 32767)
STARTUP_TIMEOUT = 30.0
STOP_GRACE = 10.0
COMMAND_TIMEOUT = 120.0


def venv_tool(name: str) -> str:
    """A console script next to the running interpreter (.venv/bin/flask, .venv/bin/gunicorn)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `make deps` first.")
    return str(path)


def die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM if the benchmark process dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(command: list[str], *, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a long-running child in its own process group, output to log_path."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a child started by spawn(), and whatever it forked, by their ids."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_GRACE)
    # Workers orphaned by a master that died first are still in its process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def pick_port() -> int:
    """A port below the ephemeral range that nothing listens on right now."""
    for _ in range(100):
        port = random.randint(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below 32768")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Instance:
    """A temporary instance folder with its own SQLite database and the environment to use it."""

    root: Path
    env: dict[str, str]

    @property
    def database(self) -> Path:
        return self.root / "bench.sqlite3"

    def flask(self, *args: str) -> str:
        """Run `flask --app wsgi ...` against this instance; its output, or SystemExit on failure."""
        command = [venv_tool("flask"), "--app", "wsgi", *args]
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            preexec_fn=die_with_parent,
        )
        if result.returncode != 0:
            raise SystemExit(f"`{' '.join(command[1:])}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout.strip()


def make_instance(root: Path) -> Instance:
    """Environment for a fresh instance in root: database, outbox, a random secret, development."""
    env = dict(os.environ)
    # Settings the caller's shell may carry that would point the app elsewhere.
    for name in ("FLASK_APP", "FLASK_DEBUG", "RATELIMIT_STORAGE_URI", "PUBLIC_BASE_URL", "MAIL_SERVER"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite:///{root / 'bench.sqlite3'}",
        LIAISON_INSTANCE_PATH=str(root),
        MAIL_OUTBOX_DIR=str(root / "outbox"),
        SECRET_KEY=secrets.token_hex(32),
        LIAISON_ENV="development",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return Instance(root=root, env=env)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def _wait_ready(server: Server, ready_path: str) -> bool:
    """True once ready_path answers 200; False if gunicorn exited first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(server.base_url + ready_path, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer {ready_path} within {STARTUP_TIMEOUT:.0f} s:\n{tail(server.log_path)}"
    )


@contextlib.contextmanager
def gunicorn(
    name: str, app_spec: str, *, env: dict[str, str], log_dir: Path, ready_path: str, workers: int = 2
) -> Iterator[Server]:
    """`gunicorn -w 2 -b 127.0.0.1:PORT app_spec`, ready when ready_path answers, always stopped."""
    log_path = log_dir / f"{name}.log"
    for _attempt in range(3):
        port = pick_port()
        command = [
            venv_tool("gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"{HOST}:{port}",
            # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: two
            # servers (or someone else's) would fight over it.
            "--no-control-socket",
            "--graceful-timeout",
            "5",
            app_spec,
        ]
        server = Server(name, port, spawn(command, env=env, log_path=log_path), log_path)
        try:
            if _wait_ready(server, ready_path):
                break
        except BaseException:
            stop(server.process)
            raise
        stop(server.process)
        if "Address already in use" not in tail(log_path):
            raise RuntimeError(f"{name} exited during startup:\n{tail(log_path)}")
    else:
        raise RuntimeError(f"{name} could not bind a free port:\n{tail(log_path)}")
    try:
        yield server
    finally:
        stop(server.process)
