"""What a strategy sees and what it returns.

A strategy only ever gets CLOSED candles: a candle still forming changes until its
close time, so a signal computed from it could vanish a second later and the same
candle could produce two different decisions in two runs. ``parse_klines`` drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

Side = Literal["LONG", "SHORT"]


@dataclass(frozen=True)
class Candle:
    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_time_ms: int


@dataclass(frozen=True)
class Signal:
    """An intent to enter, with distances (not prices) so sizing uses the fill price.

    ``candle_open_ms`` is the open time of the candle that produced the signal: it is
    part of every client id of the bracket, which is what makes a signal idempotent.
    """

    symbol: str
    side: Side
    stop_distance: Decimal
    take_profit_distance: Decimal
    reason: str
    candle_open_ms: int

    def __post_init__(self) -> None:
        if self.side not in ("LONG", "SHORT"):
            raise ValueError(f"signal side must be LONG or SHORT, got {self.side!r}")
        if self.stop_distance <= 0 or self.take_profit_distance <= 0:
            raise ValueError(
                f"signal distances must be positive: stop {self.stop_distance}, "
                f"take profit {self.take_profit_distance}"
            )


class Strategy(Protocol):
    """Given a symbol's closed candles (oldest first) and a read-only state view,
    return a signal for the LAST candle, or None.

    A strategy may also define ``exit_distances(candles) -> (stop, take_profit) | None``:
    the distances an operator's ``force-entry`` uses on the same candles. Without it,
    :data:`bot.strategy.exits.DEFAULT_EXITS` (an ATR rule) stands in, and says so in the entry's reason."""

    def evaluate(self, symbol: str, candles: Sequence[Candle], view: Any) -> Signal | None: ...


def parse_klines(rows: Sequence[Sequence[Any]], now_ms: int) -> list[Candle]:
    """Binance kline rows → candles, oldest first, keeping only those closed before ``now_ms``.

    Row layout (GET /fapi/v1/klines): [open_time, open, high, low, close, volume,
    close_time, quote_volume, trades, taker_buy_base, taker_buy_quote, ignore];
    prices arrive as strings and are read as Decimal without passing through float.
    """
    candles = [
        Candle(
            open_time_ms=int(row[0]),
            open=_decimal(row[1]),
            high=_decimal(row[2]),
            low=_decimal(row[3]),
            close=_decimal(row[4]),
            volume=_decimal(row[5]),
            close_time_ms=int(row[6]),
        )
        for row in rows
    ]
    candles.sort(key=lambda c: c.open_time_ms)
    return [c for c in candles if c.close_time_ms < now_ms]


def _decimal(value: Any) -> Decimal:
    """A Decimal as is (the client's decoded klines), anything else through its text."""
    return value if type(value) is Decimal else Decimal(str(value))
