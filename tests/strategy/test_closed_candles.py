"""The strategy's candles from a cache that asks only for what closed since: always what
a full fetch would have given at the same moment, in fewer rows."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bot.backtest.data import Bar
from bot.backtest.engine import ReplayEngine
from bot.backtest.feed import CandleFeed
from bot.candles import ClosedCandles
from bot.domain.records import Kline
from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET
from bot.sim.account import Fees
from bot.sim.symbols import default_symbols
from bot.strategy.base import parse_klines

NOWHERE = Venue("http://engine.invalid", "ws://engine.invalid", SIM_USER_PATH)
T0 = 1704067200000
MINUTE = 60_000
COUNT = 30


class Counting:
    """A venue's klines, recording each limit asked for."""

    def __init__(self, klines) -> None:
        self._klines = klines
        self.limits: list[int] = []

    def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]:
        self.limits.append(limit)
        return self._klines(symbol, interval, limit)


@pytest.fixture
def engine() -> Iterator[tuple[ReplayEngine, ExchangeClient]]:
    """The engine replaying 1m candles on a clock that moves only when told."""
    bars = [
        Bar(T0 + i * MINUTE, *(Decimal(40000 + (i * 37) % 101),) * 4, Decimal(1))
        for i in range(24 * 60)
    ]
    specs = {"BTCUSDC": default_symbols()["BTCUSDC"]}
    replay = ReplayEngine(
        feed=CandleFeed({"BTCUSDC": bars}, MINUTE),
        specs=specs,
        fees=Fees(),
        start_ms=T0,
        balance=Decimal(1000),
    )
    replay.start()
    try:
        with ExchangeClient(
            NOWHERE, SIM_API_KEY, SIM_API_SECRET, adapter=replay.adapter()
        ) as client:
            yield replay, client
    finally:
        replay.stop()


def test_cached_candles_equal_a_full_fetch_through_every_kind_of_wait(engine) -> None:
    replay, client = engine
    market = Counting(client.klines)
    candles = ClosedCandles(market, "1m", COUNT)
    now = T0 + 2 * 3_600_000
    for wait_ms in [0, 60_000, 0, 30_000, 30_000, 61_000, 150_000, 600_000, 1, 3_600_000]:
        now += wait_ms
        replay.set_time(now)
        got = candles.get("BTCUSDC", now)
        assert got == parse_klines(client.klines("BTCUSDC", "1m", COUNT), now)
        assert len(got) == COUNT - 1  # the last row of a full reply is the open candle
    # in full at first and after an hour (past the history); else what closed since
    assert market.limits == [COUNT, 3, 2, 2, 3, 3, 4, 12, 2, COUNT]


def test_a_candle_the_venue_wrote_otherwise_is_fetched_again_in_full() -> None:
    rows = [
        Kline(i * MINUTE, *(Decimal(100 + i),) * 4, Decimal(1), (i + 1) * MINUTE - 1)
        for i in range(10)
    ]
    market = Counting(lambda symbol, interval, limit: rows[-limit:])
    candles = ClosedCandles(market, "1m", 5)
    now = 9 * MINUTE + 1  # the candle opened at 9 min is still open
    assert candles.get("X", now) == parse_klines(rows[-5:], now)
    rows[8] = rows[8]._replace(close=Decimal("108.0"))  # an equal Decimal, other digits

    assert str(candles.get("X", now)[-1].close) == "108.0"
    assert market.limits == [5, 2, 5]
