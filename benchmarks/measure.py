"""Small measuring tools: latency percentiles, and child processes with their wall time and peak RSS."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was really observed, never interpolated."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise_ms(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
            "p99_ms": round(percentile(values, 99), 1), "max_ms": round(max(values), 1),
            "mean_ms": round(sum(values) / len(values), 1)}


# A small parent for the measured command. The Linux ru_maxrss of a child starts at its parent's RSS (fork copies
# the high-water mark, and exec keeps it), so measured from the benchmark process every child would look as big as
# the benchmark itself. This parent is ~10 MB: the figure it reports is the command's own peak.
_WRAPPER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"exit_code": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - started,
               "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}, handle)
"""


@dataclass
class ChildRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cpu_seconds: float
    max_rss_mb: float


def run_child(command: list[str], env: dict | None = None, timeout: float = 600) -> ChildRun:
    """Run a command in a new process; report its wall time and its own peak resident memory."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as folder:
        usage_file = os.path.join(folder, "usage.json")
        with open(os.path.join(folder, "out"), "w+b") as out, open(os.path.join(folder, "err"), "w+b") as err:
            wrapper = subprocess.Popen([sys.executable, "-c", _WRAPPER, usage_file, *command], stdout=out, stderr=err,
                                       stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            try:
                wrapper.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(wrapper.pid, signal.SIGKILL)
                wrapper.wait()
                raise
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        with open(usage_file) as handle:
            usage = json.load(handle)
    return ChildRun(usage["exit_code"], stdout, stderr, usage["seconds"], usage["cpu_seconds"],
                    usage["max_rss_kb"] / 1024)
