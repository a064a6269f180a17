"""CCXT's binanceusdm (REST) and ccxt.pro (websockets), as freqtrade-style bots use them.

Positions, leverage tiers and liquidation prices: `test_margin_ccxt_sdk.py`; rejections:
`test_rejections.py`.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt
import pytest

from bot.sim import Simulator

pytestmark = pytest.mark.conformance
BTC = "BTCUSDC"
PAIR = "BTC/USDC:USDC"


def test_ccxt_load_markets_parses_precision_and_limits(cx: ccxt.binanceusdm) -> None:
    market = cx.load_markets()[PAIR]
    assert (market["id"], market["settle"], market["linear"]) == (BTC, "USDC", True)
    assert (market["precision"]["price"], market["precision"]["amount"]) == (0.1, 0.001)
    assert market["limits"]["amount"]["min"] == 0.001
    assert market["limits"]["cost"]["min"] == 5.0


def test_ccxt_balance_leverage_and_margin_mode(cx: ccxt.binanceusdm) -> None:
    cx.load_markets()
    assert cx.fetch_balance()["USDC"]["total"] == 10000.0
    assert cx.set_leverage(5, PAIR)["leverage"] == 5
    assert cx.set_margin_mode("isolated", PAIR)["code"] == 200


def test_ccxt_orders_with_client_ids_trades_and_income(
    sim: Simulator, cx: ccxt.binanceusdm
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    cx.load_markets()
    entry = cx.create_order(PAIR, "market", "buy", 0.01, params={"clientOrderId": "cx-entry-1"})
    assert entry["clientOrderId"] == "cx-entry-1"
    assert cx.fetch_order(entry["id"], PAIR)["status"] == "closed"
    limit = cx.create_order(PAIR, "limit", "buy", 0.01, 59000, {"clientOrderId": "cx-limit-1"})
    assert [o["clientOrderId"] for o in cx.fetch_open_orders(PAIR)] == ["cx-limit-1"]
    assert cx.cancel_order(limit["id"], PAIR)["status"] == "canceled"
    trades = cx.fetch_my_trades(PAIR)
    assert [(t["order"], t["amount"], t["price"]) for t in trades] == [(entry["id"], 0.01, 60000)]
    assert cx.fetch_trading_fee(PAIR)["taker"] == 0.0004
    income = cx.fetch_ledger("USDC")
    assert [row["type"] for row in income] == ["commission"]


def test_ccxt_stop_loss_goes_through_the_algo_api(sim: Simulator, cx: ccxt.binanceusdm) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    cx.load_markets()
    cx.create_order(PAIR, "market", "buy", 0.01)
    stop = cx.create_order(
        PAIR, "market", "sell", 0.01, params={"stopLossPrice": 58000, "reduceOnly": True}
    )
    assert sim.open_algo_orders(BTC)[0]["algoId"] == int(stop["id"])
    assert [o["id"] for o in cx.fetch_open_orders(PAIR, params={"trigger": True})] == [stop["id"]]
    cx.cancel_order(stop["id"], PAIR, params={"trigger": True})
    assert sim.open_algo_orders(BTC) == []


def test_ccxt_market_data_ticker_order_book_and_funding(
    sim: Simulator, cx: ccxt.binanceusdm
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60001"))
    cx.load_markets()
    assert cx.fetch_ticker(PAIR)["last"] == 60000.0
    book = cx.fetch_order_book(PAIR, 5)
    assert (book["bids"][0][0], book["asks"][0][0]) == (60000.0, 60000.1)
    history = cx.fetch_funding_rate_history(PAIR, limit=3)
    assert [row["fundingRate"] for row in history] == [0.0001] * 3


def test_ccxt_pro_watch_orders_sees_an_order_after_it_is_placed(sim: Simulator, cxpro, run) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))

    async def scenario():
        await cxpro.load_markets()
        watcher = asyncio.ensure_future(cxpro.watch_orders(PAIR))
        for _ in range(500):
            if sim.stream_connections():
                break
            await asyncio.sleep(0.01)
        await cxpro.create_order(PAIR, "market", "buy", 0.01, params={"clientOrderId": "pro-1"})
        return await asyncio.wait_for(watcher, 5)

    orders = run(scenario())
    assert orders[-1]["clientOrderId"] == "pro-1"


def test_ccxt_pro_watch_ohlcv_streams_klines(sim: Simulator, cxpro, run) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))

    async def scenario():
        await cxpro.load_markets()
        return await asyncio.wait_for(cxpro.watch_ohlcv(PAIR, "1m"), 5)

    candles = run(scenario())
    assert candles[-1][4] == 60000.0


def test_ccxt_listen_key_is_created_kept_alive_and_closed(
    sim: Simulator, cx: ccxt.binanceusdm
) -> None:
    key = cx.fapiPrivatePostListenKey()["listenKey"]
    sim.advance(50 * 60)
    assert cx.fapiPrivatePutListenKey()["listenKey"] == key  # no parameter, as ccxt.pro sends
    sim.advance(50 * 60)  # 100 min after creation: alive only because it was extended
    assert sim._key_is_valid(key)
    assert cx.fapiPrivateDeleteListenKey() == {}
    assert not sim._key_is_valid(key)


def test_ccxt_trailing_stop_is_an_algo_order_with_activate_price(
    sim: Simulator, cx: ccxt.binanceusdm
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    cx.load_markets()
    cx.create_order(PAIR, "market", "buy", 0.01)
    params = {"trailingPercent": 1, "trailingTriggerPrice": 61000, "reduceOnly": True}
    trail = cx.create_order(PAIR, "market", "sell", 0.01, None, params)
    [algo] = sim.open_algo_orders(BTC)
    assert (algo["algoId"], algo["orderType"]) == (int(trail["id"]), "TRAILING_STOP_MARKET")
    assert (algo["activatePrice"], algo["callbackRate"]) == ("61000.00", "1")
    for last in ("61000", "62000", "61380"):
        sim.set_prices(BTC, last=Decimal(last))
    assert sim.position(BTC)["positionAmt"] == "0.000"
