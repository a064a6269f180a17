"""``main.py --dry-run`` against the exchange engine, whose price feed is the "real venue":
the test's standalone simulator on loopback. The bot trades a paper account in the engine
(its state file under the dry-run state dir); the real venue only answers unsigned
market-data reads."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.sim import state
from bot.sim.account import AccountState

LONG_EXITS = {"name": "tests.e2e.strategies:Never"}


def paper_account(bot) -> AccountState:
    """The engine's state file, as the last dry-run process left it."""
    saved = state.read(bot.state_dir / "dry-run" / "sim" / "account.json")
    assert saved is not None
    account, _, _ = state.load_state(saved)
    return account


def paper_position(bot, symbol: str = "BTCUSDC") -> Decimal:
    return paper_account(bot).position(symbol).amount


def open_long(bot, working_type: str) -> Decimal:
    """A dry-run force-entry at 60000; returns its stop price."""
    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    bot.configure(
        strategy=LONG_EXITS,
        execution={"working_type": working_type},
        dry_run={"slippage_bps": 0},
    )
    opened = bot.run("--dry-run", "force-entry", "BTCUSDC", "LONG")
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "filled @ 60000" in opened.stdout
    stop = Decimal(re.search(r"SL (\d+(?:\.\d+)?)", opened.stdout).group(1))
    assert paper_position(bot) > 0
    return stop


def test_dry_run_trades_at_the_real_venue_price_with_zero_signed_requests_there(bot):
    bot.sim.set_prices("BTCUSDC", mark=Decimal("61230"), last=Decimal("61234.5"))
    bot.configure(strategy=LONG_EXITS, dry_run={"slippage_bps": 0})
    bot.sim.clear_request_log()

    opened = bot.run("--dry-run", "force-entry", "BTCUSDC", "LONG")
    assert opened.returncode == 0, opened.stdout + opened.stderr
    flattened = bot.run("--dry-run", "emergency-stop", "--flatten")
    assert flattened.returncode == 0, flattened.stdout + flattened.stderr

    assert "filled @ 61234.5" in opened.stdout
    assert bot.sim.signed_requests() == 0
    assert {r.path for r in bot.sim.request_log} <= {
        "/fapi/v1/time",
        "/fapi/v1/exchangeInfo",
        "/fapi/v1/premiumIndex",
        "/fapi/v1/ticker/price",
        "/fapi/v1/klines",
    }
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0  # the real account
    account = paper_account(bot)
    assert account.position("BTCUSDC").amount == 0
    assert len(account.trades) == 2  # entry and the emergency close, in the paper account


@pytest.mark.parametrize(
    ("working_type", "ignored", "followed"),
    [("MARK_PRICE", "last", "mark"), ("LAST_PRICE", "mark", "last")],
)
def test_stop_triggers_on_its_working_price_of_the_feed_only(bot, working_type, ignored, followed):
    stop = open_long(bot, working_type)
    through = stop - 200

    bot.sim.set_prices("BTCUSDC", **{ignored: through})
    assert bot.run("--dry-run", "--once").returncode == 0
    assert paper_position(bot) > 0

    bot.sim.set_prices("BTCUSDC", **{followed: through})
    closed = bot.run("--dry-run", "--once")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert paper_position(bot) == 0
    assert "SL streak 1/" in closed.stdout  # the stop's fill was recovered and counted
    assert bot.sim.signed_requests() == 0


def test_dry_run_once_twice_in_one_candle_enters_once(bot):
    bot.configure(strategy={"name": "tests.e2e.strategies:AlwaysLong", "interval": "15m"})

    first = bot.run("--dry-run", "--once")
    second = bot.run("--dry-run", "--once")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "filled" in first.stdout and "filled" not in second.stdout
    account = paper_account(bot)
    entries = [o for o in account.orders.values() if o.type == "MARKET" and not o.reduce_only]
    assert len(entries) == 1
    assert len([a for a in account.algo_orders.values() if a.is_open]) == 2
    assert bot.sim.signed_requests() == 0


def test_paper_account_survives_between_processes(bot):
    bot.configure(strategy=LONG_EXITS)
    opened = bot.run("--dry-run", "force-entry", "BTCUSDC", "SHORT")
    assert opened.returncode == 0, opened.stdout + opened.stderr
    wallet = paper_account(bot).wallet["USDC"]

    later = bot.run("--dry-run", "--once")

    assert later.returncode == 0, later.stdout + later.stderr
    assert "positions: BTCUSDC -" in later.stdout  # the next process trades the same account
    assert paper_account(bot).wallet["USDC"] == wallet < Decimal(10000)  # the entry's fee
    status = bot.run("--dry-run", "status").stdout
    assert "open algo orders (TP/SL): 2" in status
    assert "no state yet" in bot.run("status").stdout  # live state untouched


def test_dry_run_once_on_the_embedded_venue_in_process_enters_once_and_keeps_its_account(bot):
    bot.configure(
        exchange={"rest_url": None, "ws_url": None},  # the embedded engine: feed and venue
        sim={"transport": "in_process"},
        strategy={"name": "tests.e2e.strategies:AlwaysLong", "interval": "15m"},
    )

    first = bot.run("--dry-run", "--once")
    second = bot.run("--dry-run", "--once")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "filled" in first.stdout and "filled" not in second.stdout
    assert "positions: BTCUSDC 0." in second.stdout
    entries = [o for o in paper_account(bot).orders.values() if o.type == "MARKET"]
    assert len(entries) == 1
    assert bot.sim.request_log == []  # the test's simulator was not the venue
