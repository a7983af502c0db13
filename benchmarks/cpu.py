"""How much CPU other programs took while a run was measured (Linux /proc).

The benchmark shares two cores with whatever else runs on the machine (test suites, browsers).
Total busy time from /proc/stat minus the time of the benchmark's own processes (this process,
its waited-for children such as wrk, and every process in the gunicorn process groups) is what
others used: a figure measured with others taking half the machine is not comparable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _system() -> tuple[int, int]:
    """(busy, total) clock ticks over all CPUs since boot."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


def _groups(pgids: set[int]) -> int:
    """utime + stime ticks of the live processes in these process groups."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[2]) in pgids:
            ticks += int(fields[11]) + int(fields[12])
    return ticks


def _own() -> int:
    times = os.times()
    return round((times.user + times.system + times.children_user + times.children_system) * TICKS_PER_SECOND)


@dataclass
class Sample:
    busy: int
    total: int
    ours: int


def sample(pgids: set[int]) -> Sample:
    busy, total = _system()
    return Sample(busy, total, _groups(pgids) + _own())


def others_percent(before: Sample, after: Sample) -> float:
    """Share of the machine's CPU capacity used by other programs between two samples."""
    total = after.total - before.total
    if total <= 0:
        return float("nan")
    others = (after.busy - before.busy) - (after.ours - before.ours)
    return max(0.0, 100.0 * others / total)
