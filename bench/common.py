"""What every benchmark script shares: import path, machine facts, percentiles, output.

Each script runs on its own (``python bench/<name>.py``) or under ``bench/run.py``,
which starts one fresh interpreter per benchmark so that one benchmark's threads,
caches and heap do not colour the next one's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare a result with another machine's."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds of nanosecond samples."""
    ordered = sorted(samples_ns)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 50) / 1e6, 4),
        "p90_ms": round(percentile(ordered, 90) / 1e6, 4),
        "p99_ms": round(percentile(ordered, 99) / 1e6, 4),
        "max_ms": round(ordered[-1] / 1e6, 4) if ordered else float("nan"),
    }


def best_of(repeats: int, call: Callable[[], Any]) -> float:
    """Fastest wall time (s) of ``repeats`` calls: the floor is the undisturbed cost."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def cli(description: str, run: Callable[..., dict], sizes: dict[str, tuple[int, int]]) -> None:
    """Parse ``--quick`` / size overrides / ``--json PATH``, run, print and save the result.

    ``sizes`` maps an option name to (full size, quick size).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    for name, (full, _) in sizes.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=None, help=f"default {full}"
        )
    args = parser.parse_args()
    chosen = {
        name: getattr(args, name) or (quick if args.quick else full)
        for name, (full, quick) in sizes.items()
    }
    result = run(**chosen)
    result["machine"] = machine()
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    sys.stdout.flush()
