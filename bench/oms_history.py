"""Benchmark 7: the trading state after a month at one fill per second.

The store is built directly (simulating a month of trading is far too slow): what a
bot that traded one fill per second for 30 days and pruned daily leaves in
``state.db``: terminal orders of the last ORDER_RETENTION (one per fill), fill ids of
the last PROCESSED_ID_RETENTION, a day's PnL per day, written through ``Store`` in
batches. Then, against a fresh state dir on the same simulator:

* ``python main.py --once`` wall time and peak RSS (median of ``runs``);
* a service's RSS: a process that loads the OMS from the store and applies two hours
  of exchange time at two fills per second (``bench/payloads.py``, made 100 trades at a
  time) through ``Oms.apply``, committing every 1000 events;
* a lookup by client id in the OMS view, and by key in the store (history out of memory).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import run_child, run_once, write_config
from bench.common import cli
from bench.history import write_history
from bench.simproc import SimProcess
from bot.oms.oms import ORDER_RETENTION, PROCESSED_ID_RETENTION, Oms
from bot.oms.state import DayPnl
from bot.oms.store import Store

GOAL_FACTOR = 1.3
GOAL_SERVICE_RSS_MB = 80
MONTH_DAYS = 30

_SERVICE = """
import sys, time
sys.path.insert(0, ".")
from bench.payloads import EVENTS_PER_TRADE, user_data_payloads
from bot.audit import AuditJournal
from bot.exchange.user_data import parse_user_data
from bot.oms.oms import Oms
from bot.oms.store import Store
state = sys.argv[1]
with Store.open(__import__("pathlib").Path(state) / "state.db") as store, AuditJournal(
    __import__("pathlib").Path(state) / "audit"
) as audit:
    oms = Oms(store, audit)
    start = max(store.newest_ms(), int(time.time() * 1000)) + 1000
    for chunk in range(int(sys.argv[2]) // 100):  # 100 trades at a time: the payloads
        for raw in user_data_payloads(100 * EVENTS_PER_TRADE, start, chunk * 100):
            oms.apply(parse_user_data(raw, 0), commit=False)  # are not the service's memory
        oms.commit()
    print(len(oms.snapshot().orders))
"""


def build_history(state_db: Path, end: datetime) -> dict:
    """What a month at one fill per second leaves in the store (see the docstring)."""
    end_ms = int(end.timestamp() * 1000)
    orders = int(ORDER_RETENTION.total_seconds())
    fill_ids = int(PROCESSED_ID_RETENTION.total_seconds())
    started = time.perf_counter()
    with Store.open(state_db) as store:
        write_history(store, orders=orders, fill_ids=fill_ids, end_ms=end_ms)
        for day in range(MONTH_DAYS):
            today = date.fromordinal(end.date().toordinal() - day)
            store.put_day_pnl(DayPnl(today, Decimal("12.5"), Decimal("-20.7"), Decimal("-0.3")))
        store.commit()
    return {
        "orders": orders,
        "fill_ids": fill_ids,
        "days": MONTH_DAYS,
        "build_s": round(time.perf_counter() - started, 1),
        "state_db_mb": round(
            sum(p.stat().st_size for p in state_db.parent.glob("state.db*")) / 1e6, 1
        ),
    }


def _lookups(state_db: Path, samples: int) -> dict:
    with Store.open(state_db) as store:
        oms = Oms(store, _NoAudit())
        view = oms.snapshot()
        recent = next(o for o in view.orders.values())
        started = time.perf_counter_ns()
        for _ in range(samples):
            view.order(recent.client_order_id)
        in_view = (time.perf_counter_ns() - started) / samples / 1000
        key = ("BTCUSDC", 10_000_000)  # the oldest stored order: out of memory
        started = time.perf_counter_ns()
        for _ in range(samples):
            store.order(key)
        in_store = (time.perf_counter_ns() - started) / samples / 1000
        return {
            "orders_in_memory": len(view.orders),
            "view_order_by_client_id_us": round(in_view, 2),
            "store_order_by_key_us": round(in_store, 2),
        }


class _NoAudit:
    def append(self, *args: object, **kwargs: object) -> None:
        return None


def _once(config: Path, runs: int) -> dict:
    results = []
    for _ in range(runs):
        result = run_once(config)
        if result.returncode != 0:
            raise RuntimeError(f"main.py --once failed: {result.stderr[-2000:]}")
        results.append(result)
    return {
        "wall_s_median": round(statistics.median(r.wall_s for r in results), 3),
        "max_rss_mb": round(max(r.max_rss_mb for r in results), 1),
    }


def _service_rss(state_dir: Path, trades: int) -> float:
    done = run_child([sys.executable, "-c", _SERVICE, str(state_dir), str(trades)], timeout_s=600)
    if done.returncode != 0:
        raise RuntimeError(f"service run failed: {done.stderr[-2000:]}")
    return round(done.max_rss_mb, 1)


def run(runs: int, service_trades: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, SimProcess() as sim:
        fresh_dir, old_dir = Path(tmp) / "fresh", Path(tmp) / "month"
        fresh_dir.mkdir()
        old_dir.mkdir()
        fresh, old = (write_config(d, sim, ["BTCUSDC"]) for d in (fresh_dir, old_dir))
        run_once(fresh)  # each state dir's first run caches exchangeInfo and sets up
        run_once(old)
        built = build_history(old_dir / "var" / "state.db", datetime.now(UTC))
        fresh_once = _once(fresh, runs)
        month_once = _once(old, runs)
        lookups = _lookups(old_dir / "var" / "state.db", 10_000)
        service = {
            "fresh_mb": _service_rss(fresh_dir / "var", service_trades),
            "month_mb": _service_rss(old_dir / "var", service_trades),
            "trades_applied": service_trades,
        }
    wall_x = round(month_once["wall_s_median"] / fresh_once["wall_s_median"], 2)
    rss_x = round(month_once["max_rss_mb"] / fresh_once["max_rss_mb"], 2)
    return {
        "benchmark": "oms_history",
        "history": built,
        "note": "built directly in the store: what 30 days at 1 fill/s leave after daily pruning",
        "once_fresh": fresh_once,
        "once_month": month_once,
        "wall_vs_fresh": wall_x,
        "rss_vs_fresh": rss_x,
        "service_rss": service,
        "lookups": lookups,
        "goal": f"--once wall and RSS <= {GOAL_FACTOR}x fresh; service RSS <= {GOAL_SERVICE_RSS_MB} MB",
        "goal_met": {
            "wall": wall_x <= GOAL_FACTOR,
            "rss": rss_x <= GOAL_FACTOR,
            "service_rss": service["month_mb"] <= GOAL_SERVICE_RSS_MB,
        },
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"runs": (5, 1), "service_trades": (7200, 200)})
