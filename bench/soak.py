"""Benchmark 5: the service on the simulator for 10 simulated minutes under churn.

``python main.py`` (service mode, user stream on) runs against a standalone
simulator. A second client on the same account makes a MARKET fill every simulated
second (alternating BUY/SELL), the simulator's clock is advanced one second per
fill, and every simulated minute the simulator drops all user-data websockets.
Wall time stays around two minutes. Sampled: the service's RSS (``/proc``) and its
``health.json`` (OMS queue depth, reconnects). At the end the service is stopped
and ``python main.py reconcile`` compares its stored state with the exchange's
(exit 0: no difference).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import run_child, write_config
from bench.common import cli
from bench.simproc import ROOT, SimProcess
from bot.exchange.client import ExchangeClient
from bot.exchange.orders import market_order
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET

SYMBOL = "BTCUSDC"
QTY = Decimal("0.001")
START_TIMEOUT_S = 60
RSS_GROWTH_LIMIT_MB = 10  # after warm-up; allocator noise is a few MB
QUEUE_DEPTH_LIMIT = 1000
SETTLE_TIMEOUT_S = 70  # two health.json rewrites after the last drop


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _health(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / "health.json").read_text())
    except (OSError, ValueError):
        return None


def _wait_for_line(process: subprocess.Popen, text: str, timeout_s: float) -> bool:
    seen = threading.Event()

    def read() -> None:
        for line in process.stdout:
            if text in line:
                seen.set()
                return

    reader = threading.Thread(target=read, name="bench-soak-ready")
    reader.start()
    reader.join(timeout_s)
    return seen.is_set()


def _settle(state_dir: Path) -> float | None:
    """Seconds until health.json (rewritten every 30 s) reports the stream connected
    again after the last drop; None if it did not within SETTLE_TIMEOUT_S."""
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_TIMEOUT_S:
        time.sleep(1)
        health = _health(state_dir) or {}
        written = health.get("at", "")
        stream = health.get("stream") or {}
        if written > _iso_at(started) and stream.get("healthy"):
            return round(time.perf_counter() - started, 1)
    return None


def _iso_at(perf_counter_s: float) -> str:
    wall = time.time() - (time.perf_counter() - perf_counter_s)
    return datetime.fromtimestamp(wall, UTC).isoformat()


def run(sim_minutes: int, fills_per_wall_s: int) -> dict:
    steps = sim_minutes * 60
    rss, depths, fills = [], [], 0
    with (
        tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp,
        SimProcess(balance="100000") as sim,
    ):
        config = write_config(Path(tmp), sim, [SYMBOL])
        state_dir = Path(tmp) / "var"
        service = subprocess.Popen(
            [sys.executable, "main.py", "--config", str(config)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
        client = ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET)
        try:
            if not _wait_for_line(service, "service running", START_TIMEOUT_S):
                raise RuntimeError("the service did not start")
            started = time.perf_counter()
            for step in range(steps):
                side = "BUY" if step % 2 == 0 else "SELL"
                params = market_order(SYMBOL, side, QTY, f"soak-{step}")
                client.place_order(params)
                fills += 1
                sim.control("advance", seconds=1)
                if step % 4 == 3:  # our own clock falls behind the advanced one (-1021)
                    client.sync_time()
                if step % 60 == 59:
                    sim.control("drop_streams")
                if step % fills_per_wall_s == 0:
                    rss.append(round(_rss_mb(service.pid), 1))
                    health = _health(state_dir)
                    if health and health.get("oms"):
                        depths.append(health["oms"]["queue_depth"])
                due = started + (step + 1) / fills_per_wall_s
                time.sleep(max(0.0, due - time.perf_counter()))
            settle_s = _settle(state_dir)
            final_health = _health(state_dir)
        finally:
            client.close()
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=60)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait(timeout=10)
            service.stdout.close()
        wall_s = time.perf_counter() - started
        reconcile = run_child(
            [sys.executable, "main.py", "reconcile", "--config", str(config)], timeout_s=120
        )
        exchange_position = sim.control("position", symbol=SYMBOL)
    warm = rss[len(rss) // 4] if rss else float("nan")
    growth = (rss[-1] - warm) if rss else float("nan")
    return {
        "benchmark": "soak",
        "sim_minutes": sim_minutes,
        "wall_s": round(wall_s, 1),
        "fills": fills,
        "drops": steps // 60,
        "rss_mb": {
            "start": rss[0] if rss else None,
            "after_warmup": warm,
            "end": rss[-1] if rss else None,
            "samples": rss,
        },
        "queue_depth_samples": depths,
        "max_queue_depth": max(depths, default=0),
        "settle_s": settle_s,
        "final_health": final_health,
        "service_exit_code": service.returncode,
        "reconcile_exit_code": reconcile.returncode,
        "reconcile_output": reconcile.stdout.strip()[-1500:],
        "exchange_position": exchange_position.get("positionAmt"),
        "goal": "memory flat, queue depth bounded, local state equal to the exchange's",
        "goal_met": {
            "memory_flat": growth <= RSS_GROWTH_LIMIT_MB,
            "queue_bounded": max(depths, default=0) <= QUEUE_DEPTH_LIMIT,
            "state_in_sync": reconcile.returncode == 0,
        },
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"sim_minutes": (10, 1), "fills_per_wall_s": (5, 20)})
