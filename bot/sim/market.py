"""Sim clock and a deterministic, seeded price path per symbol.

The path is a function of absolute time (not of the order of calls), so `klines`,
`premiumIndex`, `ticker/price` and the trigger engine agree, closed candles never change,
and two processes with the same seed see the same market. It is multi-scale value noise
on the log price: a bounded random walk look-alike, computable for any minute without
summing from an epoch. The noise itself is float maths inside a generator; every price
that leaves this module is a Decimal rounded to the symbol's tick.

Tests take exact control with pins: a pinned last or mark price stays where it was put
(across `advance`) until unpinned. An unpinned mark follows the last price with a small
seeded basis, so moving only the last price moves the mark too, as on Binance.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Protocol

from bot.sim.symbols import SymbolSpec

KlineRow = list[int | str]  # [open time, "open", "high", "low", "close", "volume", close time, ...]

MINUTE_MS = 60_000
_LEVELS = 14  # 1 minute … ~5.7 days
_SIGMA = 0.0005  # per-minute log-price scale
MARK_DECIMALS = Decimal("0.00000001")

INTERVAL_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}


class Clock:
    """Server time = wall clock + an offset that `advance` grows; it never goes back."""

    def __init__(self, offset_ms: int = 0) -> None:
        self._lock = threading.Lock()
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        with self._lock:
            return int(time.time() * 1000) + self.offset_ms

    def advance_ms(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the sim clock only moves forward")
        with self._lock:
            self.offset_ms += ms


def _unit(*parts: object) -> float:
    """A reproducible number in [-1, 1) from its key."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


class PricePath:
    """Seeded price path of one symbol: minute opens, candles and an intra-minute last price."""

    def __init__(self, seed: int, spec: SymbolSpec) -> None:
        self.seed = seed
        self.spec = spec
        self._base = float(spec.base_price)
        self.minute_open = lru_cache(maxsize=65536)(self._minute_open)
        self._node = lru_cache(maxsize=65536)(self._node_value)

    def _node_value(self, level: int, index: int) -> float:
        return _unit(self.seed, self.spec.symbol, level, index)

    def _minute_open(self, minute: int) -> Decimal:
        log_price = 0.0
        for level in range(_LEVELS):
            span = 1 << level
            index, rest = divmod(minute, span)
            frac = rest / span
            a, b = self._node(level, index), self._node(level, index + 1)
            log_price += _SIGMA * math.sqrt(span) * (a + (b - a) * frac)
        return self.round_price(self._base * math.exp(log_price))

    def round_price(self, value: float | Decimal) -> Decimal:
        return round_to_tick(Decimal(f"{value:.8f}"), self.spec.tick_size)

    def last_at(self, t_ms: int) -> Decimal:
        minute, rest = divmod(t_ms, MINUTE_MS)
        start, end = self.minute_open(minute), self.minute_open(minute + 1)
        return self.round_price(start + (end - start) * Decimal(rest) / MINUTE_MS)

    def basis_at(self, t_ms: int) -> Decimal:
        """Mark/last gap, a few basis points, varying per minute."""
        return Decimal(
            f"{0.0003 * _unit(self.seed, self.spec.symbol, 'basis', t_ms // MINUTE_MS):.8f}"
        )

    def minute_candle(self, minute: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """(open, high, low, close, volume) of a closed 1m candle."""
        o, c = self.minute_open(minute), self.minute_open(minute + 1)
        up = 1 + abs(_unit(self.seed, self.spec.symbol, "hi", minute)) * 0.0004
        down = 1 - abs(_unit(self.seed, self.spec.symbol, "lo", minute)) * 0.0004
        high = max(self.round_price(float(max(o, c)) * up), o, c)
        low = min(self.round_price(float(min(o, c)) * down), o, c)
        volume = Decimal(f"{5 + 5 * abs(_unit(self.seed, self.spec.symbol, 'v', minute)):.3f}")
        return o, high, low, c, volume


class PriceFeed(Protocol):
    """Where the engine's market comes from (``bot.sim.feeds``): the seeded path, the real
    venue's prices, or (the backtest) historical candles. Calls come with the engine lock
    held, so prices answer from memory; ``refresh`` (polling) is made outside the lock, at
    the ticker's cadence. A live feed's ``klines`` (once per cycle and symbol) and first
    quote of a symbol are read through, holding the lock for that request."""

    def last(self, symbol: str, at_ms: int) -> Decimal: ...

    def mark(self, symbol: str, at_ms: int, last: Decimal) -> Decimal:
        """``last``: the engine's last price at ``at_ms`` (a pin, if a test set one)."""
        ...

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
        """Binance kline rows up to ``now_ms``; ``last`` closes the still-open candle."""
        ...

    def refresh(self, now_ms: int) -> None: ...

    def close(self) -> None: ...


@dataclass
class Pins:
    last: Decimal | None = None
    mark: Decimal | None = None


def round_to_tick(value: Decimal, tick: Decimal) -> Decimal:
    return (Decimal(value) / tick).quantize(Decimal(1), ROUND_HALF_UP) * tick


@dataclass
class Market:
    """Prices of every symbol at the engine clock's time: the feed's, unless a test pinned them.

    The feed (``bot.sim.feeds``) decides where prices come from: the seeded path, the
    real venue, or history; the pins, the tick rounding and the kline shape are the
    engine's, whatever the feed."""

    seed: int
    clock: Clock
    specs: dict[str, SymbolSpec]
    feed: PriceFeed
    pins: dict[str, Pins] = field(default_factory=dict)

    def last(self, symbol: str, at_ms: int | None = None) -> Decimal:
        pin = self.pins.get(symbol)
        if pin and pin.last is not None:
            return pin.last
        return self.feed.last(symbol, self.clock.now_ms() if at_ms is None else at_ms)

    def mark(self, symbol: str, at_ms: int | None = None) -> Decimal:
        pin = self.pins.get(symbol)
        if pin and pin.mark is not None:
            return pin.mark
        t = self.clock.now_ms() if at_ms is None else at_ms
        return self.feed.mark(symbol, t, self.last(symbol, t)).quantize(MARK_DECIMALS)

    def pin(self, symbol: str, *, mark: Decimal | None, last: Decimal | None) -> None:
        pin = self.pins.setdefault(symbol, Pins())
        if last is not None:
            pin.last = round_to_tick(last, self.specs[symbol].tick_size)
        if mark is not None:
            pin.mark = Decimal(mark).quantize(MARK_DECIMALS)

    def unpin(self, symbol: str) -> None:
        self.pins.pop(symbol, None)

    def klines(
        self,
        symbol: str,
        interval: str,
        limit: int,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[KlineRow]:
        """Binance kline rows; the still-open candle ends at the current last price."""
        now = self.clock.now_ms()
        return self.feed.klines(symbol, interval, limit, start_ms, end_ms, now, self.last(symbol))
