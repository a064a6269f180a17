"""Dry-run's venue in-process: the real OrderManager and OMS trading the exchange engine,
whose price feed is the "real venue" (the test's simulator, read without signing).

What the engine does with orders (duplicates, orphans, repairs, emergency stop, partial
fills) is the simulator's, covered in ``test_order_manager_sim``; here: what dry-run
adds, the prices of another venue and not one signed request to it.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.oms.events import Snapshot
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from bot.sim.account import Fees
from bot.sim.feeds import VenueFeed
from bot.sim.simulator import TICK_S
from bot.strategy import Signal
from bot.stream.recovery import missed_exit_events
from tests.execution.conftest import order_settings

OPEN_MS = 1_764_000_000_000
TP_ID = "ufbd-BTCUSDC-midc1z40CL-TP"
SL_ID = "ufbd-BTCUSDC-midc1z40CL-SL"


@pytest.fixture
def engine(bot) -> Iterator[Simulator]:
    """The engine, its prices polled from the real venue at every tick."""
    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    venue = Venue(bot.sim.rest_url, bot.sim.ws_url, SIM_USER_PATH)
    feed = VenueFeed(ExchangeClient(venue, "", ""), interval_s=0)
    with Simulator(feed=feed, fees=Fees(slippage_bps=Decimal(0))) as paper:
        paper.seed_balance(Decimal("10000"))
        yield paper


@pytest.fixture
def paper(engine) -> Iterator[ExchangeClient]:
    """The bot's own client, on the engine (as ``--dry-run`` wires it)."""
    venue = Venue(engine.rest_url, engine.ws_url, SIM_USER_PATH)
    with ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, resolve_delay_s=0) as client:
        yield client


def sync(bot, client, engine) -> None:
    """Reconcile as the App does: exits that filled unseen first, then the snapshot."""
    now = engine.now_ms()
    snapshot = Snapshot.from_rest(
        client.position_risk(),
        client.open_orders(),
        client.open_algo_orders(),
        client.usdc_balance(),
        now,
    )
    for event in missed_exit_events(client, bot.oms.snapshot(), snapshot, now):
        bot.oms.apply(event)
    bot.oms.apply(snapshot)


def open_long(bot, engine, client, **exits):
    manager = bot.manager(client, order_settings(**exits))
    sync(bot, client, engine)
    signal = Signal("BTCUSDC", "LONG", Decimal("300"), Decimal("600"), "test cross", OPEN_MS)
    result = manager.open_bracket(signal)
    sync(bot, client, engine)
    return manager, result


def feed_moves(bot, engine, **prices: Decimal) -> None:
    """The real venue's prices move; returns once the engine has matched at them."""
    bot.sim.set_prices("BTCUSDC", **prices)
    market = engine.exchange.market
    deadline = time.monotonic() + 5
    while any(getattr(market, kind)("BTCUSDC") != price for kind, price in prices.items()):
        assert time.monotonic() < deadline, "the engine's prices did not follow the feed"
        time.sleep(0.02)
    time.sleep(2 * TICK_S)  # the tick that polled them matches next, or has matched


def test_dry_run_bracket_sends_zero_signed_requests_to_the_venue(bot, engine, paper):
    bot.sim.clear_request_log()

    _, result = open_long(bot, engine, paper, working_type="MARK_PRICE")

    assert result.status == "opened", result.reason
    view = bot.oms.snapshot()
    assert view.positions["BTCUSDC"].amount == result.filled_qty > 0
    assert {a.order_type for a in view.open_algo_orders.values()} == {
        "STOP_MARKET",
        "TAKE_PROFIT_MARKET",
    }
    assert bot.sim.signed_requests() == 0
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0


def test_stop_triggers_on_mark_not_last_then_leftover_tp_is_cancelled(bot, engine, paper):
    manager, result = open_long(bot, engine, paper, working_type="MARK_PRICE")
    below_stop = result.stop_price - Decimal("100")

    feed_moves(bot, engine, last=below_stop)
    sync(bot, paper, engine)
    assert "BTCUSDC" in bot.oms.snapshot().positions
    feed_moves(bot, engine, mark=below_stop)
    sync(bot, paper, engine)

    view = bot.oms.snapshot()
    assert "BTCUSDC" not in view.positions
    assert view.sl_streak == 1
    assert manager.cancel_orphans(view) == [TP_ID]
    assert engine.open_algo_orders() == []


def test_take_profit_on_last_price_then_stop_is_cancelled(bot, engine, paper):
    manager, result = open_long(
        bot, engine, paper, working_type="LAST_PRICE", tp_order_style="TAKE_PROFIT"
    )
    above_target = result.take_profit_price + Decimal("50")

    feed_moves(bot, engine, mark=above_target)
    sync(bot, paper, engine)
    assert "BTCUSDC" in bot.oms.snapshot().positions
    feed_moves(bot, engine, last=above_target)
    sync(bot, paper, engine)

    view = bot.oms.snapshot()
    assert "BTCUSDC" not in view.positions
    assert manager.cancel_orphans(view) == [SL_ID]
    assert view.day_pnl(datetime.now(UTC).date()) > 0
    assert bot.sim.signed_requests() == 0
