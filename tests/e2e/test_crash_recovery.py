"""Kill -9 at every request boundary of a bracket, then let cron's next run finish it.

A ``force-entry`` process is killed by the simulator at its k-th signed write (account
set-up, entry, stop loss, take profit), either before Binance executes it or after it
executed but before the answer arrived. Then ``--once`` runs. Whatever the crash point:
there is at most one entry, an open position carries its *planned* stop and take
profit (re-derived from its real entry price and the distances the plan persisted),
and the audit journal verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
from decimal import Decimal

import pytest

from bot.exchange.rules import rules_from_exchange_info
from bot.execution.bracket import exit_prices
from tests.e2e.conftest import BotRunner

pytestmark = pytest.mark.e2e

NEVER = {"name": "tests.e2e.strategies:Never"}
BRACKET_WRITES = 6  # one-way mode, margin type, leverage, entry, stop loss, take profit
ENTRY_WRITE = 4


def killed_at(bot: BotRunner, k: int, *, executed: bool) -> subprocess.Popen:
    holder: dict[str, subprocess.Popen] = {}
    trap = bot.sim.crash_at(
        k, lambda: os.kill(holder["proc"].pid, signal.SIGKILL), executed=executed, writes_only=True
    )
    holder["proc"] = bot.start("force-entry", "BTCUSDC", "LONG")
    holder["proc"].communicate(timeout=60)
    assert trap.fired, f"the run made fewer than {k} signed writes"
    bot.sim.on_request(None)
    bot.sim.on_executed(None)
    return holder["proc"]


def entries(bot: BotRunner) -> list:
    with bot.sim.exchange.lock:
        orders = list(bot.sim.exchange.account.orders.values())
    return [o for o in orders if o.client_order_id.endswith("-E") and o.executed_qty > 0]


def planned_exits(bot: BotRunner, entry_price: Decimal) -> tuple[Decimal, Decimal]:
    allowed = [
        r["data"]
        for r in bot.audit_records()
        if r["kind"] == "decision" and r["data"]["action"] == "entry_allowed"
    ]
    info = bot.sim.exchange.exchange_info()
    rules = rules_from_exchange_info(next(s for s in info["symbols"] if s["symbol"] == "BTCUSDC"))
    return exit_prices(
        "LONG",
        entry_price,
        Decimal(allowed[-1]["stop_distance"]),
        Decimal(allowed[-1]["take_profit_distance"]),
        rules,
    )


@pytest.mark.parametrize("executed", [False, True], ids=["before-execution", "unanswered"])
@pytest.mark.parametrize("k", range(1, BRACKET_WRITES + 1))
def test_a_bracket_killed_at_any_write_is_finished_by_the_next_run(bot, k, executed):
    bot.configure(strategy=NEVER)
    killed_at(bot, k, executed=executed)

    recovery = bot.run("--once")

    assert recovery.returncode in (0, 5), recovery.stdout + recovery.stderr
    entry_reached_binance = k > ENTRY_WRITE or (k == ENTRY_WRITE and executed)
    assert len(entries(bot)) == int(entry_reached_binance)  # never two, and none made up
    position = bot.sim.position("BTCUSDC")
    amount = Decimal(position["positionAmt"])
    assert (amount > 0) == entry_reached_binance
    algos = {a["orderType"]: a for a in bot.sim.open_algo_orders("BTCUSDC")}
    if amount:
        stop, target = planned_exits(bot, Decimal(position["entryPrice"]))
        assert set(algos) == {"STOP_MARKET", "TAKE_PROFIT_MARKET"}, recovery.stdout
        assert Decimal(algos["STOP_MARKET"]["triggerPrice"]) == stop
        assert Decimal(algos["TAKE_PROFIT_MARKET"]["triggerPrice"]) == target
        for algo in algos.values():
            assert Decimal(algo["quantity"]) == amount
    else:
        assert algos == {}
    audit = bot.run("verify-audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_force_entry_rerun_after_a_crash_resumes_the_same_intent(bot):
    bot.configure(strategy=NEVER)
    killed_at(bot, ENTRY_WRITE, executed=True)  # the entry filled; the bot never heard of it

    rerun = bot.run("force-entry", "BTCUSDC", "LONG")

    assert len(entries(bot)) == 1, rerun.stdout + rerun.stderr
    assert rerun.returncode in (3, 5), rerun.stdout + rerun.stderr
    algos = {a["orderType"] for a in bot.sim.open_algo_orders("BTCUSDC")}
    assert algos == {"STOP_MARKET", "TAKE_PROFIT_MARKET"}


def test_force_entry_killed_before_its_entry_left_sends_it_once_on_rerun(bot):
    bot.configure(strategy=NEVER)
    killed_at(bot, ENTRY_WRITE, executed=False)  # the plan is persisted; the entry never arrived

    rerun = bot.run("force-entry", "BTCUSDC", "LONG")

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(entries(bot)) == 1
