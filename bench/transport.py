"""Benchmark: the engine over HTTP (loopback) vs in-process (``bot.sim.inprocess``).

1. Requests per second through ``ExchangeClient`` (SDK signing, weight accounting, error
   mapping included) to one simulator in this process: a signed read
   (``GET /fapi/v1/openOrders?symbol``, weight 1) and a public one (``premiumIndex``),
   each over HTTP and through the in-process adapter, in the same run.
2. ``python main.py --once`` on the embedded venue (``venue: sim``, no ``rest_url``)
   with ``sim.transport: http`` and ``in_process``: median wall time of a steady run.

The embedded default (``sim.transport``) is chosen by these figures (README, Benchmarks).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import run_child
from bench.common import ROOT, cli
from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

TRANSPORTS = ("http", "in_process")
ENV = {"PYTHONPATH": str(ROOT)}  # the test strategy that never signals


def _per_second(client: ExchangeClient, call: str, requests: int) -> float:
    request = {
        "signed": lambda: client.open_orders("BTCUSDC"),
        "public": lambda: client.mark_price("BTCUSDC"),
    }[call]
    request()  # connection and caches warm
    started = time.perf_counter()
    for _ in range(requests):
        request()
    return round(requests / (time.perf_counter() - started))


def requests_per_s(requests: int) -> dict[str, dict[str, float]]:
    """Each figure on a fresh simulator: ``requests`` stays under the weight budget."""
    out: dict[str, dict[str, float]] = {}
    for transport in TRANSPORTS:
        out[transport] = {}
        for call in ("signed", "public"):
            with Simulator() as sim:
                adapter = sim.adapter() if transport == "in_process" else None
                venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
                with ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, adapter=adapter) as client:
                    client.sync_time()
                    out[transport][call] = _per_second(client, call, requests)
    return out


def once_wall_s(runs: int) -> dict[str, float]:
    """Median wall time of ``main.py --once`` on the embedded venue, per transport; the
    two alternate run by run, so a busy machine weighs on both alike."""
    walls: dict[str, list[float]] = {transport: [] for transport in TRANSPORTS}
    with tempfile.TemporaryDirectory(prefix="bench-transport-") as tmp:
        commands = {}
        for transport in TRANSPORTS:
            config = Path(tmp) / f"{transport}.yaml"
            config.write_text(
                "schema_version: 2\n"
                "symbols: [BTCUSDC]\n"
                f"paths:\n  state_dir: {Path(tmp) / transport}\n"
                f"sim:\n  transport: {transport}\n"
                "strategy:\n  name: tests.e2e.strategies:Never\n"
                "logging:\n  level: WARNING\n"
            )
            commands[transport] = [
                sys.executable,
                str(ROOT / "main.py"),
                "--once",
                "--config",
                str(config),
            ]
            run_child(commands[transport], env=ENV)  # first run: exchangeInfo cache, set-up
        for _ in range(runs):
            for transport in TRANSPORTS:
                result = run_child(commands[transport], env=ENV)
                if result.returncode != 0:
                    raise RuntimeError(f"--once ({transport}) failed: {result.stderr[-2000:]}")
                walls[transport].append(result.wall_s)
    return {transport: round(statistics.median(w), 3) for transport, w in walls.items()}


def run(requests: int, runs: int) -> dict:
    rates = requests_per_s(requests)
    walls = once_wall_s(runs)
    return {
        "benchmark": "transport",
        "requests_per_s": rates,
        "in_process_speed_up": {
            call: round(rates["in_process"][call] / rates["http"][call], 2)
            for call in ("signed", "public")
        },
        "once_wall_s_median": walls,
        # the new path must earn its place: a start-up gain under the noise keeps HTTP
        "choice": "in_process" if walls["in_process"] < 0.95 * walls["http"] else "http",
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"requests": (1000, 100), "runs": (15, 1)})
