"""The engine with a pluggable price feed: the real venue's prices (a standalone simulator
standing in for it), read with unsigned requests only; MARKET fills pay the configured
slippage and taker fee, resting LIMITs the maker fee."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from binance.um_futures import UMFutures

from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from bot.sim.account import Fees
from bot.sim.feeds import VenueFeed
from tests.waiting import eventually


@pytest.fixture
def venue_reader(sim: Simulator) -> Iterator[ExchangeClient]:
    """Unsigned reads of the "real venue" (the test's standalone simulator), no keys."""
    with ExchangeClient(Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH), "", "") as reader:
        yield reader


def test_engine_prices_follow_the_venue_feed_with_zero_signed_requests(sim, venue_reader):
    sim.set_prices("BTCUSDC", mark=Decimal("61000"), last=Decimal("61010.5"))
    feed = VenueFeed(venue_reader, interval_s=0)
    with Simulator(feed=feed) as engine:
        market = engine.exchange.market
        assert market.mark("BTCUSDC") == Decimal("61000")
        assert market.last("BTCUSDC") == Decimal("61010.5")

        sim.set_prices("BTCUSDC", mark=Decimal("59000"), last=Decimal("58990"))

        eventually(lambda: market.last("BTCUSDC") == Decimal("58990"), timeout=5, interval=0.02)
        assert market.mark("BTCUSDC") == Decimal("59000")
        candles = market.klines("BTCUSDC", "15m", 5)
        assert candles[-1][4] == "58990.00"  # the venue's own open candle
    assert sim.signed_requests() == 0
    assert {r.path for r in sim.request_log} <= {
        "/fapi/v1/premiumIndex",
        "/fapi/v1/ticker/price",
        "/fapi/v1/klines",
    }


def test_mark_price_stop_triggers_on_a_mark_move_of_the_feed_not_a_last_move(sim, venue_reader):
    sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    with Simulator(feed=VenueFeed(venue_reader, interval_s=0)) as engine:
        engine.seed_balance(Decimal("10000"))
        trader = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=engine.rest_url, timeout=5)
        try:
            trader.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")
            trader.sign_request(
                "POST",
                "/fapi/v1/algoOrder",
                {
                    "algoType": "CONDITIONAL",
                    "symbol": "BTCUSDC",
                    "side": "SELL",
                    "type": "STOP_MARKET",
                    "triggerPrice": "59000",
                    "workingType": "MARK_PRICE",
                    "closePosition": "true",
                },
            )
        finally:
            trader.session.close()

        sim.set_prices("BTCUSDC", last=Decimal("58000"))  # last through the stop, mark not
        eventually(
            lambda: engine.exchange.market.last("BTCUSDC") == Decimal("58000"),
            timeout=5,
            interval=0.02,
        )
        time.sleep(0.6)  # two engine ticks
        assert engine.position("BTCUSDC")["positionAmt"] == "0.010"

        sim.set_prices("BTCUSDC", mark=Decimal("58900"))
        eventually(
            lambda: engine.position("BTCUSDC")["positionAmt"] in ("0", "0.000"),
            timeout=5,
            interval=0.02,
        )
    assert sim.signed_requests() == 0


def test_market_fill_pays_slippage_over_last_and_the_taker_fee():
    fees = Fees(taker=Decimal("0.0005"), slippage_bps=Decimal("10"))
    with Simulator(fees=fees) as engine:
        engine.seed_balance(Decimal("10000"))
        engine.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
        engine.exchange.new_order(
            {"symbol": "BTCUSDC", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
        )
        engine.exchange.new_order(
            {"symbol": "BTCUSDC", "side": "SELL", "type": "MARKET", "quantity": "0.010"}
        )
        buy, sell = engine.exchange.account.trades
    assert buy.price == Decimal("60060.0") and sell.price == Decimal("59940.0")
    assert buy.commission == (Decimal("600.600") * Decimal("0.0005")).quantize(Decimal("1e-8"))
    assert sell.realized_pnl == Decimal("-1.2")


def test_resting_limit_fills_at_its_price_with_the_maker_fee_when_the_price_crosses():
    with Simulator(fees=Fees(maker=Decimal("0.0001"))) as engine:
        engine.seed_balance(Decimal("10000"))
        engine.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
        engine.exchange.new_order(
            {
                "symbol": "BTCUSDC",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.010",
                "price": "59500",
            }
        )
        assert engine.exchange.account.trades == []
        engine.set_prices("BTCUSDC", last=Decimal("59400"))
        (trade,) = engine.exchange.account.trades
    assert trade.price == Decimal("59500") and trade.maker
    assert trade.commission == Decimal("0.05950000")


def test_dry_run_engine_lists_the_venue_symbols_with_the_venue_filters():
    from dataclasses import replace

    from bot.sim.symbols import default_symbols, exchange_info, spec_from_info
    from bot.wiring import venue_specs

    listed = replace(default_symbols()["ETHUSDC"], symbol="SOLUSDC", tick_size=Decimal("0.010"))
    info = exchange_info({"SOLUSDC": listed, **default_symbols()}, 0)

    specs = venue_specs(info, ["SOLUSDC", "DOGEUSDC"])

    assert list(specs) == ["SOLUSDC"]  # an unlisted symbol stays unlisted
    assert specs["SOLUSDC"] == spec_from_info(info["symbols"][0])
    assert specs["SOLUSDC"] == replace(listed, base_price=Decimal(0))
