"""Client ids name intents: one entry per intent, a new intent gets a new entry, and a
bot never takes another bot's orders for its own; exit codes tell cron what happened."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import BotRunner

pytestmark = pytest.mark.e2e

NEVER = {"name": "tests.e2e.strategies:Never"}


def entries(sim) -> list:
    return [
        r
        for r in sim.request_log
        if r.method == "POST" and r.path == "/fapi/v1/order" and "reduceOnly" not in r.params
    ]


def cancel_behind_our_back(sim, leg_type: str) -> dict:
    algo = next(a for a in sim.open_algo_orders() if a["orderType"] == leg_type)
    with sim.exchange.lock:
        sim.exchange.cancel_algo_order({"clientAlgoId": algo["clientAlgoId"]})
    return algo


def test_second_force_entry_after_a_flatten_in_the_same_candle_enters_again(bot):
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    assert bot.run("emergency-stop", "--flatten").returncode == 0
    assert bot.run("resume").returncode == 0

    again = bot.run("force-entry", "BTCUSDC", "LONG")

    assert again.returncode == 0, again.stdout + again.stderr
    assert len(entries(bot.sim)) == 2
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) > 0


def test_force_entry_beside_an_open_position_exits_3_and_says_when_it_is_possible(bot):
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0

    for side in ("LONG", "SHORT"):
        refused = bot.run("force-entry", "BTCUSDC", side)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "already has a position" in refused.stdout and "closed" in refused.stdout
    assert len(entries(bot.sim)) == 1


def test_once_that_had_to_repair_a_stop_exits_5_with_the_planned_stop_back(bot):
    bot.configure(strategy=NEVER)
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    planned = cancel_behind_our_back(bot.sim, "STOP_MARKET")

    result = bot.run("--once")

    assert result.returncode == 5, result.stdout + result.stderr
    assert "attention" in result.stdout
    stops = [a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET"]
    assert [s["triggerPrice"] for s in stops] == [planned["triggerPrice"]]
    assert bot.run("--once").returncode == 0  # nothing left to repair


def test_missing_take_profit_is_restored_by_the_next_run(bot):
    bot.configure(strategy=NEVER)
    # the take profit's POST times out unexecuted on each of its three tries
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    tp = next(a for a in bot.sim.open_algo_orders() if a["orderType"] == "TAKE_PROFIT_MARKET")
    with bot.sim.exchange.lock:  # gone without a trace: as if it never reached Binance
        del bot.sim.exchange.account.algo_orders[tp["algoId"]]

    result = bot.run("--once")

    assert result.returncode == 5, result.stdout + result.stderr
    restored = [a for a in bot.sim.open_algo_orders() if a["orderType"] == "TAKE_PROFIT_MARKET"]
    assert [(a["clientAlgoId"], a["triggerPrice"]) for a in restored] == [
        (tp["clientAlgoId"], tp["triggerPrice"])
    ]


def test_two_bots_on_one_account_never_cancel_each_others_exits(bot, tmp_path):
    other = BotRunner(bot.sim, tmp_path / "other", tmp_path / "other" / "var")
    other.workdir.mkdir()
    bot.configure(strategy=NEVER, execution={"bot_tag": "alpha"})
    other.configure(strategy=NEVER, execution={"bot_tag": "beta"})
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    assert other.run("--once").returncode == 0  # learns the account, position included
    tp = next(a for a in bot.sim.open_algo_orders() if a["orderType"] == "TAKE_PROFIT_MARKET")
    above = Decimal(tp["triggerPrice"]) + 50
    bot.sim.set_prices("BTCUSDC", mark=above, last=above)  # alpha's target fills

    assert other.run("--once").returncode == 0
    assert [a["clientAlgoId"].split("-")[0] for a in bot.sim.open_algo_orders()] == ["alpha"]
    assert bot.run("--once").returncode == 0
    assert bot.sim.open_algo_orders() == []  # alpha cleans up its own orphan


def test_force_entry_takes_its_stop_and_target_from_the_strategy(bot):
    bot.configure(
        strategy={
            "name": "tests.e2e.strategies:FixedExits",
            "params": {"stop": "150", "take_profit": "450"},
        }
    )
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    entry = Decimal(bot.sim.position("BTCUSDC")["entryPrice"])
    algos = {a["orderType"]: Decimal(a["triggerPrice"]) for a in bot.sim.open_algo_orders()}
    tick = Decimal("0.1")
    assert entry - 150 - tick <= algos["STOP_MARKET"] <= entry - 150
    assert entry + 450 - tick <= algos["TAKE_PROFIT_MARKET"] <= entry + 450
