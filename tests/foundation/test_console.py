"""What an operator sees on the console: one line per refusal, prices at the symbol's
tick, amounts without 25 digits, and a service console without INFO chatter.

``main.py`` runs as a real process against the test's simulator (as in tests/e2e).
"""

from __future__ import annotations

import re
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from bot.sim import Simulator
from tests.e2e.conftest import BotRunner
from tests.waiting import eventually

LONG_DECIMALS = re.compile(r"\d\.\d{9,}")  # no figure a person reads has 9+ decimals


@pytest.fixture
def bot(sim: Simulator, tmp_path: Path) -> BotRunner:
    runner = BotRunner(sim, tmp_path, tmp_path / "var")
    runner.configure()
    return runner


def _decimals(text: str) -> int:
    return len(text.partition(".")[2])


def _tick(sim: Simulator, symbol: str) -> Decimal:
    info = requests.get(f"{sim.rest_url}/fapi/v1/exchangeInfo", timeout=5).json()
    row = next(s for s in info["symbols"] if s["symbol"] == symbol)
    price_filter = next(f for f in row["filters"] if f["filterType"] == "PRICE_FILTER")
    return Decimal(price_filter["tickSize"]).normalize()


def test_a_refusal_reaches_the_console_once_with_rounded_figures(bot):
    bot.configure(risk={"max_notional_per_symbol": 1})  # too small for one step: refused

    run = bot.run("force-entry", "BTCUSDC", "LONG")

    assert run.returncode == 3, run.stderr
    console = run.stdout + run.stderr
    assert console.count("is below minQty") == 1, console
    stop = re.search(r"over stop (\S+) ", console)
    assert stop is not None, console
    assert _decimals(stop.group(1)) <= _decimals(str(_tick(bot.sim, "BTCUSDC"))), console
    assert not LONG_DECIMALS.search(console), console
    assert "is below minQty" in (bot.state_dir / "logs" / "bot.log").read_text()


def test_force_entry_prints_prices_at_the_ticks_decimals(bot):
    run = bot.run("force-entry", "BTCUSDC", "LONG")

    assert run.returncode == 0, run.stderr
    tick_decimals = _decimals(str(_tick(bot.sim, "BTCUSDC")))
    opened = re.search(r"filled @ (\S+); SL (\S+); TP (\S+) ", run.stdout)
    held = re.search(r"positions: BTCUSDC \S+ @ (\S+);", run.stdout)
    assert opened is not None and held is not None, run.stdout
    for price in (*opened.groups(), held.group(1)):
        assert _decimals(price) == tick_decimals, run.stdout
    pnl = re.search(r"today's PnL (\S+) USDC", run.stdout)
    assert pnl is not None and _decimals(pnl.group(1)) <= 2, run.stdout
    assert not LONG_DECIMALS.search(run.stdout + run.stderr), run.stdout


def test_service_console_shows_no_info_lines(bot):
    service = bot.start()
    try:
        assert service.stdout is not None
        banner = service.stdout.readline()  # the one start-up line, after the first cycle
        assert "service running" in banner
        log_file = bot.state_dir / "logs" / "bot.log"
        eventually(lambda: "user-data stream connected" in log_file.read_text(), "stream up")
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = service.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            raise
    assert service.returncode == 0, stderr
    console = (banner + stdout + stderr).splitlines()
    assert [line for line in console if " INFO " in line or " DEBUG " in line] == []
    assert " INFO " in log_file.read_text()  # the file keeps them


def test_verbose_shows_the_bots_info_once_and_no_library_info(bot):
    run = bot.run("-v", "--once")

    assert run.returncode == 0, run.stderr
    info = [line for line in run.stderr.splitlines() if " INFO " in line]
    assert info, run.stderr  # -v: the bot's own INFO lines are on the console
    assert all(" INFO    bot." in line for line in info), info  # no library's
    summary = next(line for line in run.stdout.splitlines() if line.startswith("today's PnL"))
    assert summary not in run.stderr  # the report line is printed, not logged twice


def test_a_position_opened_by_hand_is_reported_at_the_ticks_decimals(bot, other_client):
    assert bot.run("--once").returncode == 0  # the account is set up (margin type) first
    other_client.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")

    run = bot.run("--once")

    assert run.returncode == 5, run.stdout + run.stderr  # a stop had to be placed
    console = run.stdout + run.stderr
    entry = re.search(r"from its entry (\S+) ", console)
    stop = re.search(r"stop loss re-placed at (\S+) ", console)
    assert entry is not None and stop is not None, console
    tick_decimals = _decimals(str(_tick(bot.sim, "BTCUSDC")))
    assert _decimals(entry.group(1)) == _decimals(stop.group(1)) == tick_decimals, console
    assert not LONG_DECIMALS.search(console), console
