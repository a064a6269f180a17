"""EMA cross with ATR-based stop and target: the one built-in example strategy.

LONG when the fast EMA crosses above the slow EMA on the last closed candle, SHORT
when it crosses below. Only the crossing candle signals: one candle later the EMAs
are still apart but nothing crossed, so a retried or late run does not re-enter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from bot.strategy.base import Candle, Signal
from bot.strategy.indicators import atr, ema


@dataclass(frozen=True)
class EmaCross:
    fast: int = 9
    slow: int = 21
    atr_period: int = 14
    atr_stop_mult: Decimal = Decimal("1.5")
    atr_tp_mult: Decimal = Decimal("3")

    def __post_init__(self) -> None:
        if not 1 <= self.fast < self.slow:
            raise ValueError(f"need 1 <= fast < slow, got fast={self.fast} slow={self.slow}")
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be at least 1, got {self.atr_period}")
        # Params come from YAML: accept "1.5" or 1.5 but never keep a float.
        for name in ("atr_stop_mult", "atr_tp_mult"):
            value = Decimal(str(getattr(self, name)))
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
            object.__setattr__(self, name, value)

    @property
    def min_candles(self) -> int:
        """Candles needed for a decision: both EMAs on the last two candles, and the ATR."""
        return max(self.slow + 1, self.atr_period + 1)

    def evaluate(self, symbol: str, candles: Sequence[Candle], view: Any) -> Signal | None:
        if len(candles) < self.min_candles:
            return None
        closes = [c.close for c in candles]
        fast, slow = ema(closes, self.fast), ema(closes, self.slow)
        fast_prev, slow_prev, fast_last, slow_last = fast[-2], slow[-2], fast[-1], slow[-1]
        if fast_prev is None or slow_prev is None or fast_last is None or slow_last is None:
            return None  # not reached: min_candles gives both EMAs on the last two candles
        prev_gap = fast_prev - slow_prev
        gap = fast_last - slow_last
        side: Literal["LONG", "SHORT"]
        if prev_gap <= 0 < gap:
            side = "LONG"
        elif prev_gap >= 0 > gap:
            side = "SHORT"
        else:
            return None
        distances = self.exit_distances(candles)
        if distances is None:
            return None
        last = candles[-1]
        return Signal(
            symbol=symbol,
            side=side,
            stop_distance=distances[0],
            take_profit_distance=distances[1],
            reason=(
                f"EMA{self.fast} crossed {'above' if side == 'LONG' else 'below'} "
                f"EMA{self.slow} at close {last.close} "
                f"(fast {fast[-1]:.8f}, slow {slow[-1]:.8f}, stop {distances[0]:.8f} = "
                f"{self.atr_stop_mult} x ATR{self.atr_period})"
            ),
            candle_open_ms=last.open_time_ms,
        )

    def exit_distances(self, candles: Sequence[Candle]) -> tuple[Decimal, Decimal] | None:
        """Stop and target as multiples of the ATR (also a force-entry's exits)."""
        volatility = atr(candles, self.atr_period)
        if not volatility:  # flat market: a zero stop distance cannot be sized
            return None
        return volatility * self.atr_stop_mult, volatility * self.atr_tp_mult
