"""Bounded HTTP load: wrk when it is installed, a small threaded Python client otherwise.

Every run stops at `duration` seconds or `max_requests` requests, whichever comes first (the cap
is a safety bound, far above what two sync workers serve in a few seconds). wrk
counts 3xx as success, so a dashboard that redirects to the login page would look healthy: a Lua
script counts responses other than 200 separately (and stops wrk at the request cap).
"""

from __future__ import annotations

import http.client
import math
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.client import SESSION_COOKIE, USER_AGENT
from benchmarks.servers import die_with_parent

WRK_SCRIPT = """\
-- Written by benchmarks/http_load.py: count non-200 responses, stop at a request cap.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  cap = tonumber(args[1])
  seen = 0
  non200 = 0
end

function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then
    non200 = non200 + 1
  end
  if seen >= cap then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non200")
  end
  io.write(string.format("Non-200 responses: %d\\n", total))
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    non_200: int
    socket_errors: int
    raw: str = ""
    # wrk stopped at the request cap but still divides by the whole duration: req/s is understated.
    capped: bool = False


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Figures from the text wrk prints with --latency (and the Lua script's non-200 line)."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output)
        if match is None:
            raise ValueError(f"wrk output has no {pattern!r}:\n{output}")
        return match

    total = find(r"(\d+) requests in " + _TIME)
    p50 = find(r"\n\s*50%\s+" + _TIME)
    p99 = find(r"\n\s*99%\s+" + _TIME)
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    non_200 = re.search(r"Non-200 responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return LoadResult(
        tool="wrk",
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        requests_per_s=float(find(r"Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=_ms(p50.group(1), p50.group(2)),
        p99_ms=_ms(p99.group(1), p99.group(2)),
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        non_200=int(non_200.group(1)) if non_200 else -1,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        raw=output,
    )


def run_wrk(
    url: str,
    *,
    cookie: str | None,
    duration: float,
    threads: int,
    connections: int,
    max_requests: int,
    script_dir: Path,
) -> LoadResult:
    script = script_dir / "count_non_200.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "--latency",
        "-H",
        f"User-Agent: {USER_AGENT}",
        "-s",
        str(script),
    ]
    if cookie:
        command += ["-H", f"Cookie: {SESSION_COOKIE}={cookie}"]
    command += [url, "--", str(math.ceil(max_requests / threads))]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False, preexec_fn=die_with_parent
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    parsed = parse_wrk(result.stdout)
    parsed.capped = parsed.requests >= max_requests
    return parsed


def run_python(url: str, *, cookie: str | None, duration: float, connections: int, max_requests: int) -> LoadResult:
    """The fallback: `connections` threads issuing requests back to back (one connection each)."""
    match = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)", url)
    if match is None:
        raise ValueError(f"not a loopback http URL: {url}")
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    issued = 0
    deadline = time.monotonic() + duration

    def worker() -> None:
        nonlocal errors, issued
        connection = http.client.HTTPConnection(host, port, timeout=5)
        mine: list[float] = []
        try:
            while time.monotonic() < deadline:
                with lock:
                    if issued >= max_requests:
                        break
                    issued += 1
                started = time.perf_counter()
                try:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    with lock:
                        errors += 1
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=duration + 30)
    seconds = time.monotonic() - started
    latencies.sort()

    def percentile(fraction: float) -> float:
        if not latencies:
            return math.nan
        return latencies[min(len(latencies) - 1, max(0, math.ceil(fraction * len(latencies)) - 1))]

    return LoadResult(
        tool="python",
        requests=len(latencies),
        seconds=seconds,
        requests_per_s=len(latencies) / seconds if seconds else 0.0,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        non_2xx_3xx=sum(count for status, count in statuses.items() if not 200 <= status < 400),
        non_200=sum(count for status, count in statuses.items() if status != 200),
        socket_errors=errors,
    )


def run_load(
    url: str,
    *,
    cookie: str | None,
    duration: float,
    threads: int,
    connections: int,
    max_requests: int,
    script_dir: Path,
    tool: str,
) -> LoadResult:
    """One bounded run with the chosen tool ("wrk" or "python")."""
    if tool == "wrk":
        return run_wrk(
            url,
            cookie=cookie,
            duration=duration,
            threads=threads,
            connections=connections,
            max_requests=max_requests,
            script_dir=script_dir,
        )
    return run_python(url, cookie=cookie, duration=duration, connections=connections, max_requests=max_requests)
