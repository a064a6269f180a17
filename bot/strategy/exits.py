"""A force-entry's stop and target: the strategy's own rule, or a default ATR rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.strategy.base import Candle
from bot.strategy.indicators import atr


@dataclass(frozen=True)
class AtrExits:
    """Stop and target as multiples of the ATR: the default exits of a force-entry."""

    period: int = 14
    stop_mult: Decimal = Decimal("1.5")
    take_profit_mult: Decimal = Decimal("3")

    def exit_distances(self, candles: Sequence[Candle]) -> tuple[Decimal, Decimal] | None:
        volatility = atr(candles, self.period)
        if not volatility:  # too few candles, or a flat market: a zero stop cannot be sized
            return None
        return volatility * self.stop_mult, volatility * self.take_profit_mult


DEFAULT_EXITS = AtrExits()


def exit_distances(strategy: object, candles: Sequence[Candle]) -> tuple[Decimal, Decimal] | None:
    """The strategy's own exit distances for these candles, else the default ATR rule's."""
    own = getattr(strategy, "exit_distances", None)
    return own(candles) if callable(own) else DEFAULT_EXITS.exit_distances(candles)
