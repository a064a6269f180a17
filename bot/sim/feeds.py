"""The engine's price feeds: what moves the market the matching engine trades against.

One engine, several markets (``bot.sim.market.PriceFeed``):

- :class:`SeededFeed`: the deterministic seeded path, the embedded venue's and the tests'
  market (and ``--dry-run`` on ``venue: sim``);
- :class:`VenueFeed`: the real venue's mark and last prices and candles, read with
  unsigned requests only, for ``--dry-run`` on testnet/live (or on an external sim);
- a historical-candle feed for the backtest fits the same protocol: ``last``/``mark`` at
  the engine clock's time from the candles, ``klines`` cut at ``now_ms``, and the
  backtest moves the engine clock.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Protocol

from bot.domain.records import Kline
from bot.sim import errors
from bot.sim.market import INTERVAL_MS, MINUTE_MS, KlineRow, PricePath
from bot.sim.symbols import SymbolSpec

log = logging.getLogger(__name__)


class SeededFeed:
    """The seeded price path of every symbol: a function of time, the same in every process."""

    def __init__(self, seed: int, specs: dict[str, SymbolSpec]) -> None:
        self.paths = {s: PricePath(seed, spec) for s, spec in specs.items()}

    def last(self, symbol: str, at_ms: int) -> Decimal:
        return self.paths[symbol].last_at(at_ms)

    def mark(self, symbol: str, at_ms: int, last: Decimal) -> Decimal:
        """The last price with a small seeded basis: moving only the last moves the mark."""
        return last * (1 + self.paths[symbol].basis_at(at_ms))

    def refresh(self, now_ms: int) -> None:
        """Nothing to fetch: the path is computed."""

    def close(self) -> None:
        """Nothing to release."""

    def klines(
        self,
        symbol: str,
        interval: str,
        limit: int,
        start_ms: int | None,
        end_ms: int | None,
        now_ms: int,
        last: Decimal,
    ) -> list[KlineRow]:
        step = INTERVAL_MS[interval]
        current = now_ms - now_ms % step
        if start_ms is not None:
            first = start_ms - start_ms % step + (step if start_ms % step else 0)
            opens = [first + i * step for i in range(limit)]
        else:
            last_open = current if end_ms is None else min(current, end_ms - end_ms % step)
            opens = [last_open - (limit - 1 - i) * step for i in range(limit)]
        end = now_ms if end_ms is None else min(end_ms, now_ms)
        return [self._kline(symbol, t, step, now_ms, last) for t in opens if t <= end]

    def _kline(self, symbol: str, open_ms: int, step: int, now: int, last: Decimal) -> KlineRow:
        path = self.paths[symbol]
        first_minute = open_ms // MINUTE_MS
        closed_until = min(open_ms + step, now - now % MINUTE_MS) // MINUTE_MS
        candles = [path.minute_candle(m) for m in range(first_minute, closed_until)]
        o = path.minute_open(first_minute)
        highs = [c[1] for c in candles]
        lows = [c[2] for c in candles]
        close = candles[-1][3] if candles else o
        volume = sum((c[4] for c in candles), Decimal(0))
        if open_ms + step > now:  # the open candle: up to the current last price
            close = last
            highs.append(max(o, close))
            lows.append(min(o, close))
            volume += Decimal("1.000")
        high, low = max(highs), min(lows)
        quote = (volume * (o + close) / 2).quantize(Decimal("0.00001"))
        taker = (volume / 2).quantize(Decimal("0.001"))
        return [
            open_ms,
            f"{o:f}",
            f"{high:f}",
            f"{low:f}",
            f"{close:f}",
            f"{volume:f}",
            open_ms + step - 1,
            f"{quote:f}",
            int(volume * 100),
            f"{taker:f}",
            f"{(quote / 2).quantize(Decimal('0.00001')):f}",
            "0",
        ]


class MarketReader(Protocol):
    """The unsigned reads a :class:`VenueFeed` makes (``bot.exchange.ExchangeClient``'s)."""

    def mark_price(self, symbol: str) -> Decimal: ...

    def last_price(self, symbol: str) -> Decimal: ...

    def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]: ...

    def close(self) -> None: ...


class VenueFeed:
    """The real venue's prices, polled with unsigned reads, at most every ``interval_s``.

    The engine asks with its lock held, so a read answers from the last poll; only a
    symbol never quoted before is fetched then (once). The ticker's ``refresh`` polls the
    symbols asked for so far (two requests of weight 1 each per symbol and poll). A failed
    poll keeps the previous quote and logs; a symbol that was never quoted answers 503.
    A live venue knows only its present: a price "at" another time is today's price.
    """

    def __init__(self, reader: MarketReader, *, interval_s: float = 2.0) -> None:
        self._reader = reader
        self._interval_ms = int(interval_s * 1000)
        self._lock = threading.Lock()
        self._quotes: dict[str, tuple[int, Decimal, Decimal]] = {}  # symbol: (at, mark, last)

    def last(self, symbol: str, at_ms: int) -> Decimal:
        return self._quote(symbol, at_ms)[2]

    def mark(self, symbol: str, at_ms: int, last: Decimal) -> Decimal:
        return self._quote(symbol, at_ms)[1]

    def klines(
        self,
        symbol: str,
        interval: str,
        limit: int,
        start_ms: int | None,
        end_ms: int | None,
        now_ms: int,
        last: Decimal,
    ) -> list[KlineRow]:
        """The venue's own candles (a live read: the bot asks once per cycle and symbol);
        a window (``startTime``/``endTime``) is cut from the latest ``limit`` rows."""
        try:
            candles = self._reader.klines(symbol, interval, limit)
        except Exception as error:  # the venue's trouble is a 503 of the engine
            log.warning("price feed: klines %s %s failed: %s", symbol, interval, error)
            raise errors.unknown_error_503() from None
        return [
            _row(candle)
            for candle in candles
            if (start_ms is None or candle.open_time_ms >= start_ms)
            and (end_ms is None or candle.open_time_ms <= end_ms)
        ]

    def refresh(self, now_ms: int) -> None:
        with self._lock:
            due = [s for s, (at, _, _) in self._quotes.items() if now_ms - at >= self._interval_ms]
        for symbol in due:
            self._fetch(symbol, now_ms)

    def close(self) -> None:
        """The reader (its HTTP session) is the feed's: closed with the engine."""
        self._reader.close()

    def _quote(self, symbol: str, now_ms: int) -> tuple[int, Decimal, Decimal]:
        with self._lock:
            quote = self._quotes.get(symbol)
        if quote is None and not self._fetch(symbol, now_ms):
            raise errors.unknown_error_503()
        with self._lock:
            return self._quotes[symbol]

    def _fetch(self, symbol: str, now_ms: int) -> bool:
        try:
            mark, last = self._reader.mark_price(symbol), self._reader.last_price(symbol)
        except Exception as error:  # the venue's trouble must not stop the engine
            log.warning("price feed: %s not refreshed: %s", symbol, error)
            return False
        with self._lock:
            self._quotes[symbol] = (now_ms, mark, last)
        return True


def _row(candle: Kline) -> KlineRow:
    """A kline row as Binance writes it; the fields the feed does not read are zero."""
    prices = (candle.open, candle.high, candle.low, candle.close, candle.volume)
    return [
        candle.open_time_ms,
        *(f"{value:f}" for value in prices),
        candle.close_time_ms,
        "0",
        0,
        "0",
        "0",
        "0",
    ]
