"""Run ``python main.py`` as cron or an operator would, against a standalone simulator.

Each run is a separate process: its wall time and peak RSS are the child's own
(``os.wait4`` returns the rusage of that one child, where ``RUSAGE_CHILDREN`` would
report the largest of every child ever waited for).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.simproc import ROOT, SimProcess

IMPORT_FLOOR = "import binance.um_futures, pydantic, apscheduler, tenacity, yaml"


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system time of the child


def run_child(
    command: list[str], *, timeout_s: float = 120, env: dict[str, str] | None = None
) -> ChildRun:
    """Run one process to the end; its own wall time and peak RSS (killed after timeout).
    ``env`` adds to (or overrides) this process's environment."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
        )
        watchdog = threading.Timer(timeout_s, process.kill)
        watchdog.name = "bench-child-watchdog"
        watchdog.start()
        try:
            # Reaped here, not by Popen: wait4 returns this very child's rusage.
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
            watchdog.join()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            wall,
            usage.ru_maxrss / 1024,
            process.returncode,
            out.read(),
            err.read(),
            usage.ru_utime + usage.ru_stime,
        )


def without_pyc(directory: Path) -> dict[str, str]:
    """Environment for a run that finds no cached bytecode and writes none: every module
    is compiled from source, as on the first run after an install or an upgrade."""
    return {"PYTHONPYCACHEPREFIX": str(directory), "PYTHONDONTWRITEBYTECODE": "1"}


def import_floor(env: dict[str, str] | None = None) -> ChildRun:
    return run_child([sys.executable, "-c", IMPORT_FLOOR], env=env)


def write_config(directory: Path, sim: SimProcess, symbols: list[str], **sections) -> Path:
    """A config.yaml for the standalone simulator; state (and the lock) under ``directory``."""
    lines = [
        "schema_version: 2",
        "exchange:",
        "  venue: sim",
        f"  rest_url: {sim.rest_url}",
        f"  ws_url: {sim.ws_url}",
        f"symbols: [{', '.join(symbols)}]",
        "paths:",
        f"  state_dir: {directory / 'var'}",
        "logging:",
        "  level: WARNING",
    ]
    for section, body in sections.items():
        lines.append(f"{section}:")
        lines += [f"  {key}: {value}" for key, value in body.items()]
    path = directory / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_once(config: Path, env: dict[str, str] | None = None) -> ChildRun:
    return run_child([sys.executable, "main.py", "--once", "--config", str(config)], env=env)
