"""Benchmark 3: ``python main.py --once`` (cron) on a standalone simulator, no signal.

Wall time and peak RSS of each run, next to the import floor (a process that only
imports the SDK, pydantic, APScheduler, tenacity and PyYAML), with cached bytecode
(``.pyc``, the usual case) and without (the first run after an install), and the number of REST
requests the run made (from the simulator's request log) times the round trip
measured in the same run. The first run of a fresh state dir also fetches and caches
exchangeInfo and sets up the account, so it is reported apart.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import import_floor, run_once, without_pyc, write_config
from bench.common import cli, summary_ms
from bench.simproc import SimProcess
from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET

GOAL_FLOOR_FACTOR = 1.5
GOAL_RSS_MB = 80


def _round_trip_ms(sim: SimProcess, samples: int) -> float:
    with ExchangeClient(
        Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH), SIM_API_KEY, SIM_API_SECRET
    ) as client:
        out = []
        for _ in range(samples):
            started = time.perf_counter_ns()
            client.mark_price("BTCUSDC")
            out.append(time.perf_counter_ns() - started)
    return summary_ms(out)["p50_ms"]


def run(runs: int) -> dict:
    floors = [import_floor() for _ in range(runs)]
    with tempfile.TemporaryDirectory(prefix="bench-cron-") as tmp, SimProcess() as sim:
        cold = without_pyc(Path(tmp) / "empty-pycache")
        cold_floors = [import_floor(cold) for _ in range(runs)]
        config = write_config(Path(tmp), sim, ["BTCUSDC"])
        sim.control("clear_request_log")
        first = run_once(config)
        first_requests = len(sim.control("request_log"))
        steady, requests, outputs = [], [], []
        for _ in range(runs):
            sim.control("clear_request_log")
            result = run_once(config)
            if result.returncode != 0:
                raise RuntimeError(f"main.py --once failed: {result.stderr[-2000:]}")
            steady.append(result)
            requests.append(len(sim.control("request_log")))
            outputs.append(result.stdout.strip().splitlines()[0] if result.stdout.strip() else "")
        cold_runs = [run_once(config, cold) for _ in range(runs)]
        rtt_ms = _round_trip_ms(sim, 50)
    floor_s = statistics.median(f.wall_s for f in floors)
    wall_s = statistics.median(r.wall_s for r in steady)
    cold_floor_s = statistics.median(f.wall_s for f in cold_floors)
    cold_wall_s = statistics.median(r.wall_s for r in cold_runs)
    rss_mb = max(r.max_rss_mb for r in steady)
    round_trips_s = statistics.median(requests) * rtt_ms / 1000
    budget_s = GOAL_FLOOR_FACTOR * floor_s + round_trips_s
    return {
        "benchmark": "cron_startup",
        "runs": runs,
        "import_floor": {
            "wall_s": round(floor_s, 3),
            "max_rss_mb": round(max(f.max_rss_mb for f in floors), 1),
        },
        "first_run": {
            "wall_s": round(first.wall_s, 3),
            "max_rss_mb": round(first.max_rss_mb, 1),
            "requests": first_requests,
        },
        "once": {
            "wall_s_median": round(wall_s, 3),
            "wall_s_min": round(min(r.wall_s for r in steady), 3),
            "max_rss_mb": round(rss_mb, 1),
            "requests_median": statistics.median(requests),
            "first_output_line": outputs[-1],
        },
        "without_pyc": {
            "note": "no cached bytecode read or written: the first run after an install",
            "import_floor_wall_s": round(cold_floor_s, 3),
            "once_wall_s_median": round(cold_wall_s, 3),
            "wall_vs_floor": round(cold_wall_s / cold_floor_s, 2),
        },
        "rest_round_trip_ms": rtt_ms,
        "wall_vs_floor": round(wall_s / floor_s, 2),
        "budget_s": round(budget_s, 3),
        "goal": f"wall <= {GOAL_FLOOR_FACTOR}x floor + round trips; RSS <= {GOAL_RSS_MB} MB",
        "goal_met": {"wall": wall_s <= budget_s, "rss": rss_mb <= GOAL_RSS_MB},
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"runs": (5, 1)})
