"""The successor SDK's own websocket streams (aiohttp) on the simulator's three roots."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams
from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.conformance
BTC = "BTCUSDC"


def _client(sim: Simulator) -> DerivativesTradingUsdsFutures:
    return DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(
            api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_path=sim.rest_url
        ),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=sim.ws_url),
    )


async def _first(queue: asyncio.Queue, predicate, timeout: float = 5.0):
    async def wait():
        while True:
            item = await queue.get()
            if predicate(item):
                return item

    return await asyncio.wait_for(wait(), timeout)


def test_sdk_user_data_stream_delivers_order_trade_update_after_an_order(
    sim: Simulator, run
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    client = _client(sim)

    async def scenario():
        key = client.rest_api.start_user_data_stream().data().listen_key
        connection = await client.websocket_streams.create_connection()
        events: asyncio.Queue = asyncio.Queue()
        try:
            stream = await connection.user_data(key)
            stream.on("message", events.put_nowait)
            await _until(lambda: sim.stream_connections() == 3)
            await asyncio.sleep(0.2)  # the SDK sends SUBSCRIBE after a short delay
            client.rest_api.new_order(
                BTC, "BUY", "MARKET", quantity=0.01, new_client_order_id="conf-ws-1"
            )
            event = await _first(
                events, lambda e: type(e.actual_instance).__name__ == "OrderTradeUpdate"
            )
            return event.actual_instance
        finally:
            await connection.close_connection(close_session=True)

    update = run(scenario())
    assert (update.o.c, update.o.x) == ("conf-ws-1", "NEW")


def test_sdk_kline_and_mark_price_streams_arrive_on_the_market_root(sim: Simulator, run) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60001"))
    client = _client(sim)

    async def scenario():
        connection = await client.websocket_streams.create_connection()
        klines: asyncio.Queue = asyncio.Queue()
        marks: asyncio.Queue = asyncio.Queue()
        books: asyncio.Queue = asyncio.Queue()
        try:
            (await connection.kline_candlestick_streams(BTC.lower(), "1m")).on(
                "message", klines.put_nowait
            )
            (await connection.mark_price_stream(BTC.lower(), update_speed="1s")).on(
                "message", marks.put_nowait
            )
            (await connection.individual_symbol_book_ticker_streams(BTC.lower())).on(
                "message", books.put_nowait
            )
            return (
                await _first(klines, lambda k: True),
                await _first(marks, lambda m: True),
                await _first(books, lambda b: True),
            )
        finally:
            await connection.close_connection(close_session=True)

    kline, mark, book = run(scenario())
    assert (kline.e, kline.s, kline.k.i, kline.k.c, kline.k.x) == (
        "kline",
        BTC,
        "1m",
        "60000.00",
        False,
    )
    assert (mark.e, mark.p) == ("markPriceUpdate", "60001.00000000")
    assert (book.e, book.b, book.a) == ("bookTicker", "60000.00", "60000.10")


async def _until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")
