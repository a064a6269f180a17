"""The strategy's closed candles, fetched in full once, then only those closed since: a
cycle at every candle close asks for ~3 rows instead of the whole history.

Exact: ``get`` returns what ``parse_klines`` of a full ``klines(limit=count)`` would at
the same moment. A short reply is a suffix of the venue's series; it must hold the last
cached candle, unchanged to the digit, to be joined on. Anything else (a first call, a
candle the venue revised, a gap longer than the history, a clock that went back) is
answered by a full fetch. The still-open rows at the reply's tail are counted, so the
history is as long as a full fetch's would be.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.records import Kline
from bot.strategy.base import Candle, parse_klines

OVERLAP_AND_OPEN = 2  # the last cached candle (to join on) and the one still forming


class MarketData(Protocol):
    def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]: ...


class ClosedCandles:
    def __init__(self, market: MarketData, interval: str, count: int) -> None:
        """``count``: the klines limit of a full fetch (the strategy's history)."""
        self._market = market
        self._interval = interval
        self._count = count
        self._history: dict[str, list[Candle]] = {}  # closed, oldest first

    def get(self, symbol: str, now_ms: int) -> list[Candle]:
        """The closed candles among the venue's last ``count`` rows at ``now_ms``."""
        history = self._history.get(symbol)
        candles = self._joined(symbol, history, now_ms) if history else None
        if candles is None:
            candles = parse_klines(self._market.klines(symbol, self._interval, self._count), now_ms)
        self._history[symbol] = candles
        return candles

    def _joined(self, symbol: str, history: list[Candle], now_ms: int) -> list[Candle] | None:
        last = history[-1]
        step = last.close_time_ms + 1 - last.open_time_ms  # Binance: close = next open - 1
        closed_since = max(0, (now_ms - last.open_time_ms) // step - 1)
        limit = closed_since + OVERLAP_AND_OPEN
        if limit >= self._count:
            return None
        rows = self._market.klines(symbol, self._interval, limit)
        fresh = parse_klines(rows, now_ms)
        at = next((i for i, c in enumerate(fresh) if c.open_time_ms == last.open_time_ms), None)
        if at is None or _digits(fresh[at]) != _digits(last):
            return None
        keep = self._count - (len(rows) - len(fresh))  # a full reply's closed rows
        joined = [*history, *fresh[at + 1 :]]
        return joined[max(len(joined) - keep, 0) :]


def _digits(candle: Candle) -> tuple[str, ...]:
    """A candle as written (``1.0`` and ``1.00`` are equal Decimals, not the same text)."""
    c = candle
    return tuple(map(str, (c.open_time_ms, c.open, c.high, c.low, c.close, c.volume)))
