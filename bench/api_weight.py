"""Benchmark 4: request weight a ``--once`` cycle spends, and the service's weight per minute.

Weights are the simulator's own accounting (its request log, EXCHANGE-FACTS §3).
The simulator lists two USDC perpetuals (BTCUSDC, ETHUSDC), so cycles are measured
for 1 and 2 symbols; the difference is the per-symbol weight, and 10 symbols are
extrapolated as fixed + 10 × per-symbol. The service runs ``python main.py`` for a
window of wall time once its stream is up, and every request in the window is
listed by endpoint: with a healthy stream, none should be a fallback poll.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import run_once, write_config
from bench.common import cli
from bench.simproc import ROOT, SimProcess

GOAL_PER_SYMBOL = 10
STEADY_RUNS = 3
SERVICE_WARMUP_S = 8


def _weights(log: list[dict]) -> tuple[int, dict[str, int]]:
    by_endpoint: Counter[str] = Counter()
    for record in log:
        by_endpoint[f"{record['method']} {record['path']}"] += record["weight"]
    return sum(by_endpoint.values()), dict(by_endpoint.most_common())


def _once_weight(symbols: list[str]) -> dict:
    """First run of a fresh state dir, then the steady weight of the runs after it."""
    with tempfile.TemporaryDirectory(prefix="bench-weight-") as tmp, SimProcess() as sim:
        config = write_config(Path(tmp), sim, symbols)
        sim.control("clear_request_log")
        run_once(config)
        first, _ = _weights(sim.control("request_log"))
        sim.control("clear_request_log")
        for _ in range(STEADY_RUNS):
            result = run_once(config)
            if result.returncode != 0:
                raise RuntimeError(f"main.py --once failed: {result.stderr[-2000:]}")
        total, by_endpoint = _weights(sim.control("request_log"))
    per_run = {endpoint: weight / STEADY_RUNS for endpoint, weight in by_endpoint.items()}
    return {
        "symbols": symbols,
        "first_run": first,
        "steady": total / STEADY_RUNS,
        "by_endpoint": per_run,
    }


def _service_weight(window_s: int) -> dict:
    """Weight per minute of ``python main.py`` (service) after start-up, stream healthy."""
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp, SimProcess() as sim:
        config = write_config(Path(tmp), sim, ["BTCUSDC"])
        process = subprocess.Popen(
            [sys.executable, "main.py", "--config", str(config)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(SERVICE_WARMUP_S)
            sim.control("clear_request_log")
            time.sleep(window_s)
            total, by_endpoint = _weights(sim.control("request_log"))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    return {
        "window_s": window_s,
        "weight": total,
        "weight_per_min": round(total * 60 / window_s, 1),
        "by_endpoint": by_endpoint,
        "exit_code": process.returncode,
    }


def run(service_window_s: int) -> dict:
    one, two = _once_weight(["BTCUSDC"]), _once_weight(["BTCUSDC", "ETHUSDC"])
    per_symbol = two["steady"] - one["steady"]
    fixed = one["steady"] - per_symbol
    service = _service_weight(service_window_s)
    polls = {
        endpoint: weight
        for endpoint, weight in service["by_endpoint"].items()
        if endpoint.split()[1]
        in (
            "/fapi/v3/positionRisk",
            "/fapi/v1/openOrders",
            "/fapi/v1/openAlgoOrders",
            "/fapi/v3/account",
        )
    }
    return {
        "benchmark": "api_weight",
        "once_1_symbol": one,
        "once_2_symbols": two,
        "per_symbol": per_symbol,
        "fixed_per_cycle": fixed,
        "once_10_symbols_extrapolated": fixed + 10 * per_symbol,
        "per_symbol_at_10": round((fixed + 10 * per_symbol) / 10, 1),
        "service": service,
        "service_state_reads": polls,
        "goal": f"no-signal cycle <= {GOAL_PER_SYMBOL} weight per symbol; "
        "no polling weight while the stream is healthy",
        "goal_met": {
            "once_1_symbol": one["steady"] <= GOAL_PER_SYMBOL,
            "once_10_symbols": fixed + 10 * per_symbol <= 10 * GOAL_PER_SYMBOL,
            "service_no_polling": not polls,
        },
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"service_window_s": (65, 5)})
