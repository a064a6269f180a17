"""Benchmark: ``python main.py backtest``, the whole command, on the bundled sample.

Wall time, CPU time and peak RSS of the command as a user runs it (a fresh process:
imports, data load, the replay through the unchanged bot, the report), the import
floor of the command (a process that only imports ``bot.cli``), and the cost per
candle of everything after the imports. ``BENCH_BACKTEST_DATA`` replays another data
folder (the four-month files before they are bundled).

The anchor is freqtrade 2026.9 with an equivalent EMA-cross/ATR strategy on the same
four months on this machine: ~9.2 s end to end, ~2.2 s of it imports, ~185 µs per
candle in its simulation loop, with a backtest engine separate from its live bot.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import run_child
from bench.common import cli
from bot.backtest.run import SAMPLE_DIR

GOAL_WALL_S = 4.6  # 2x ahead of freqtrade's 9.2 s
ANCHOR = {"tool": "freqtrade 2026.9", "wall_s": 9.2, "imports_s": 2.2, "per_candle_us": 185}


def run(runs: int) -> dict:
    data = Path(os.environ.get("BENCH_BACKTEST_DATA") or SAMPLE_DIR)
    floors = [run_child([sys.executable, "-c", "import bot.cli"]) for _ in range(runs)]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        for i in range(runs):
            out = Path(tmp) / f"run-{i}"
            command = [sys.executable, "main.py", "backtest", "--data", str(data)]
            done = run_child([*command, "--out", str(out)], timeout_s=600)
            if done.returncode != 0:
                raise RuntimeError(f"main.py backtest failed: {done.stderr[-2000:]}")
            results.append(done)
        report = json.loads((out / "report.json").read_text())
    candles = _candles(report)
    wall = statistics.median(r.wall_s for r in results)
    imports = statistics.median(f.wall_s for f in floors)
    return {
        "benchmark": "backtest",
        "data": str(data),
        "runs": runs,
        "period": report["period"],
        "candles": candles,
        "trades": report["figures"]["trades"],
        "wall_s": round(wall, 3),
        "cpu_s": round(statistics.median(r.cpu_s for r in results), 3),
        "max_rss_mb": round(max(r.max_rss_mb for r in results), 1),
        "imports_s": round(imports, 3),
        "per_candle_us": round((wall - imports) / candles * 1e6, 1),
        "anchor": ANCHOR,
        "goal": f"whole command <= {GOAL_WALL_S} s on 2 cores",
        "goal_met": {"wall": wall <= GOAL_WALL_S},
    }


def _candles(report: dict) -> int:
    """5m candles replayed, from the report's period."""
    from datetime import datetime

    start, end = (datetime.fromisoformat(report["period"][k]) for k in ("from", "to"))
    return int((end - start).total_seconds() // 300)


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"runs": (3, 1)})
