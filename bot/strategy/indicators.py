"""Indicators in Decimal, so a signal is reproducible to the last digit across runs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise

from bot.strategy.base import Candle


def ema(values: Sequence[Decimal], period: int) -> list[Decimal | None]:
    """Exponential moving average, seeded with the simple average of the first ``period``
    values; entries before the seed are None (not enough data yet)."""
    if period < 1:
        raise ValueError(f"EMA period must be at least 1, got {period}")
    out: list[Decimal | None] = [None] * len(values)
    if len(values) < period:
        return out
    alpha = Decimal(2) / Decimal(period + 1)
    current = sum(values[:period], Decimal(0)) / Decimal(period)
    out[period - 1] = current
    for i in range(period, len(values)):
        current = current + alpha * (values[i] - current)
        out[i] = current
    return out


def true_ranges(candles: Sequence[Candle]) -> list[Decimal]:
    """True range of each candle after the first (it needs the previous close)."""
    return [
        max(cur.high - cur.low, abs(cur.high - prev.close), abs(cur.low - prev.close))
        for prev, cur in pairwise(candles)
    ]


def atr(candles: Sequence[Candle], period: int) -> Decimal | None:
    """Wilder's average true range at the last candle, or None with too few candles."""
    if period < 1:
        raise ValueError(f"ATR period must be at least 1, got {period}")
    ranges = true_ranges(candles)
    if len(ranges) < period:
        return None
    current = sum(ranges[:period], Decimal(0)) / Decimal(period)
    for tr in ranges[period:]:
        current = (current * (period - 1) + tr) / Decimal(period)
    return current
