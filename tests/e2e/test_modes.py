"""The run modes as an operator uses them, each a real ``main.py`` process."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.oms.state import OmsView  # noqa: F401  (documents what status reads)

pytestmark = pytest.mark.e2e


def signed_writes(sim) -> list:
    """Signed non-GET requests: orders, algo orders, cancels, leverage, margin, mode."""
    return [r for r in sim.request_log if r.signed and r.method != "GET"]


def test_force_entry_places_a_bracket_with_the_configured_parameters(bot):
    bot.configure(execution={"working_type": "LAST_PRICE", "tp_order_style": "TAKE_PROFIT"})
    result = bot.run("force-entry", "BTCUSDC", "LONG")
    assert result.returncode == 0, result.stderr
    assert "LONG" in result.stdout and "filled" in result.stdout
    entries = [r for r in bot.sim.request_log if r.method == "POST" and r.path == "/fapi/v1/order"]
    assert len(entries) == 1
    position = Decimal(bot.sim.position("BTCUSDC")["positionAmt"])
    assert position > 0
    algos = {a["orderType"]: a for a in bot.sim.open_algo_orders("BTCUSDC")}
    assert set(algos) == {"STOP_MARKET", "TAKE_PROFIT"}
    for algo in algos.values():
        assert algo["workingType"] == "CONTRACT_PRICE"
        assert algo["reduceOnly"] is True and algo["side"] == "SELL"
        assert Decimal(algo["quantity"]) == position
    assert Decimal(algos["TAKE_PROFIT"]["price"]) > 0
    assert not any(
        r.status == 400 and "4120" in str(r) for r in bot.sim.request_log
    )  # -4120 never seen


def test_daily_loss_from_income_history_alone_refuses_the_entry(bot):
    bot.sim.add_income("BTCUSDC", "REALIZED_PNL", Decimal("-60"))
    result = bot.run("force-entry", "BTCUSDC", "LONG")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "daily loss limit" in result.stdout
    assert bot.sim.open_orders() == [] and bot.sim.open_algo_orders() == []
    refusals = [
        r for r in bot.audit_records() if r["kind"] == "decision" and "daily loss" in str(r["data"])
    ]
    assert refusals


def test_kill_switch_survives_processes_until_resume(bot):
    assert bot.run("emergency-stop").returncode == 0
    assert "kill switch: ON" in bot.run("status").stdout
    unconfigured = bot.run("force-entry", "ETHUSDC", "SHORT")
    assert unconfigured.returncode == 2 and "not configured" in unconfigured.stderr
    bot.configure(symbols=["BTCUSDC", "ETHUSDC"])
    refused = bot.run("force-entry", "ETHUSDC", "SHORT")
    assert refused.returncode == 3 and "kill switch" in refused.stdout
    assert bot.run("resume").returncode == 0
    assert bot.run("force-entry", "ETHUSDC", "SHORT").returncode == 0
    kinds = [r["data"].get("engaged") for r in bot.audit_records() if r["kind"] == "kill_switch"]
    assert kinds == [True, False]


def test_emergency_stop_flatten_leaves_nothing_open(bot):
    bot.configure(symbols=["BTCUSDC", "ETHUSDC"])
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    assert bot.run("force-entry", "ETHUSDC", "SHORT").returncode == 0
    assert len(bot.sim.open_algo_orders()) == 4
    result = bot.run("emergency-stop", "--flatten")
    assert result.returncode == 0, result.stderr
    assert bot.sim.open_orders() == [] and bot.sim.open_algo_orders() == []
    for symbol in ("BTCUSDC", "ETHUSDC"):
        assert Decimal(bot.sim.position(symbol)["positionAmt"]) == 0


def test_take_profit_fill_cancels_the_stop_loss(bot):
    bot.configure(strategy={"name": "tests.e2e.strategies:Never"})
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    tp = next(a for a in bot.sim.open_algo_orders() if a["orderType"] == "TAKE_PROFIT_MARKET")
    above = Decimal(tp["triggerPrice"]) + 50
    bot.sim.set_prices("BTCUSDC", mark=above, last=above)
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
    result = bot.run("--once")
    assert result.returncode == 0, result.stderr
    assert bot.sim.open_algo_orders() == [] and bot.sim.open_orders() == []


def test_stop_loss_streak_blocks_entries_then_releases(bot):
    bot.configure(risk={"max_sl_streak": 2, "sl_streak_cooldown_min": 30})
    for _ in range(2):
        assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
        sl = next(a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET")
        below = Decimal(sl["triggerPrice"]) - 50
        bot.sim.set_prices("BTCUSDC", mark=below, last=below)
        assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
        bot.sim.unpin_prices("BTCUSDC")
        bot.sim.advance(15 * 60)  # next candle: a new entry id
    blocked = bot.run("force-entry", "BTCUSDC", "LONG")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert "stop-loss exits in a row" in blocked.stdout
    bot.sim.advance(31 * 60)
    released = bot.run("force-entry", "BTCUSDC", "LONG")
    assert released.returncode == 0, released.stdout + released.stderr


def test_dry_run_sends_no_signed_order_request(bot):
    bot.configure(symbols=["BTCUSDC", "ETHUSDC"])
    bot.sim.clear_request_log()
    for args in (
        ("--dry-run", "--once"),
        ("--dry-run", "force-entry", "BTCUSDC", "LONG"),
        ("--dry-run", "emergency-stop", "--flatten"),
        ("--dry-run", "reconcile"),
    ):
        result = bot.run(*args)
        assert result.returncode in (0, 3), result.stderr
    assert signed_writes(bot.sim) == []
    assert bot.sim.request_log  # it did talk to the venue (market data, account reads)
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0


def test_reconcile_reports_an_injected_difference_and_exits_3(bot):
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    clean = bot.run("reconcile")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    sl = next(a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET")
    bot.sim.exchange.cancel_algo_order({"clientAlgoId": sl["clientAlgoId"]})  # behind our back
    drift = bot.run("reconcile")
    assert drift.returncode == 3
    assert sl["clientAlgoId"] in drift.stdout
    assert "no drift" not in drift.stdout


def test_once_twice_in_one_candle_enters_once(bot):
    bot.configure(strategy={"name": "tests.e2e.strategies:AlwaysLong", "interval": "15m"})
    first = bot.run("--once")
    assert first.returncode == 0, first.stderr
    assert "LONG" in first.stdout and "filled" in first.stdout
    second = bot.run("--once")
    assert second.returncode == 0, second.stderr
    entries = [r for r in bot.sim.request_log if r.method == "POST" and r.path == "/fapi/v1/order"]
    assert len(entries) == 1
    assert len(bot.sim.open_algo_orders("BTCUSDC")) == 2


def test_service_runs_until_sigterm_and_stops_cleanly(bot):
    import signal
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT

    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")],
        cwd=bot.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert "service running" in process.stdout.readline()
        assert bot.sim.stream_connections() == 1
        assert (bot.state_dir / "health.json").exists()
        status = bot.run("status")
        assert "stream connected (healthy)" in status.stdout
        assert "last cycle 20" in status.stdout  # the first cycle ran before "service running"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill() if process.poll() is None else None
        process.stdout.close()
    kinds = [r["kind"] for r in bot.audit_records()]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    assert not (bot.state_dir / "health.json").exists()
    assert bot.sim.stream_connections() == 0


def test_dry_run_paper_account_persists_across_cron_runs(bot):
    opened = bot.run("--dry-run", "force-entry", "BTCUSDC", "SHORT")
    assert opened.returncode == 0, opened.stderr
    assert bot.run("--dry-run", "--once").returncode == 0
    assert bot.run("--dry-run", "reconcile").returncode == 0  # paper compared with paper
    status = bot.run("--dry-run", "status").stdout
    assert "BTCUSDC: -" in status and "open algo orders (TP/SL): 2" in status
    assert "no state yet" in bot.run("status").stdout  # live state untouched


def test_loss_taken_while_the_bot_was_away_counts_on_the_next_run(bot, other_client):
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    qty = bot.sim.position("BTCUSDC")["positionAmt"]
    # closed behind the bot's back (by hand, or a liquidation), at a loss
    other_client.new_order(
        symbol="BTCUSDC", side="SELL", type="MARKET", quantity=qty, reduceOnly="true"
    )
    bot.sim.advance(15 * 60)  # a later candle: a new entry id
    bot.sim.add_income("BTCUSDC", "REALIZED_PNL", Decimal("-60"))  # today, whatever the hour
    result = bot.run("force-entry", "BTCUSDC", "LONG")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "daily loss limit" in result.stdout
    assert bot.sim.open_algo_orders() == []  # the orphaned SL/TP were cancelled


def test_symbol_the_venue_cannot_trade_is_a_config_error(bot):
    bot.configure(symbols=["BTCUSDC", "SOLUSDC"])
    result = bot.run("--once")
    assert result.returncode == 2
    assert "SOLUSDC" in result.stderr and "Traceback" not in result.stderr
    assert [r for r in bot.sim.request_log if r.method == "POST" and "order" in r.path] == []


def test_stop_loss_that_cannot_be_placed_is_repaired_in_the_same_run(bot):
    # the stop's POST times out unexecuted (-1007) on every try of the first placement
    bot.sim.inject("-1007", method="POST", path="/fapi/v1/algoOrder", count=3, execute=False)
    result = bot.run("force-entry", "BTCUSDC", "LONG")
    assert "unprotected" in result.stdout, result.stdout + result.stderr
    position = Decimal(bot.sim.position("BTCUSDC")["positionAmt"])
    stops = [a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET"]
    assert position > 0 and len(stops) == 1
    assert Decimal(stops[0]["quantity"]) == position
    alarms = [r for r in bot.audit_records() if r["kind"] == "alarm"]
    assert alarms
