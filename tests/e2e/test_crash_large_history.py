"""Kill -9 in the middle of a bracket on a state dir with a large history: the next
run loads only open state and a window, finishes the bracket, and loses nothing."""

from __future__ import annotations

import time

import pytest

from bench.history import FIRST_ORDER_ID, write_history
from bot.oms.store import Store
from tests.e2e.conftest import BotRunner
from tests.e2e.test_crash_recovery import NEVER, entries, killed_at

pytestmark = pytest.mark.e2e

ORDERS = 20_000  # terminal orders, one a second: more than the in-memory window
FILL_IDS = 60_000


def add_history(bot: BotRunner) -> None:
    with Store.open(bot.state_dir / "state.db") as store:
        write_history(
            store, orders=ORDERS, fill_ids=FILL_IDS, end_ms=int(time.time() * 1000) - 60_000
        )


def stored_history(bot: BotRunner) -> tuple[int, int]:
    with Store.open(bot.state_dir / "state.db") as store:
        loaded = store.load()
    old = sum(1 for o in loaded.orders if o.order_id >= FIRST_ORDER_ID and o.status == "FILLED")
    fill_ids = sum(1 for key in loaded.processed_ids if key.startswith("trade:BTCUSDC:"))
    return old, fill_ids


def test_a_bracket_killed_on_a_large_history_is_finished_and_nothing_is_lost(bot):
    bot.configure(strategy=NEVER)
    first = bot.run("--once")
    assert first.returncode == 0, first.stdout + first.stderr
    add_history(bot)
    killed_at(bot, 1, executed=True)  # set up by the first run: the entry filled, unanswered

    recovery = bot.run("--once")

    assert recovery.returncode in (0, 5), recovery.stdout + recovery.stderr
    assert len(entries(bot)) == 1
    algos = {a["orderType"] for a in bot.sim.open_algo_orders("BTCUSDC")}
    assert algos == {"STOP_MARKET", "TAKE_PROFIT_MARKET"}, recovery.stdout
    old, fill_ids = stored_history(bot)
    assert old == ORDERS
    assert fill_ids >= FILL_IDS  # the history's, and the entry's own fill
    audit = bot.run("verify-audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
