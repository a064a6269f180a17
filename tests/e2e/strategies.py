"""Test strategies loaded by dotted path, as an operator's own strategy would be."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.strategy.base import Candle, Signal


class AlwaysLong:
    """Signals LONG on every closed candle: makes "one entry per candle" observable."""

    def __init__(self, stop_pct: str = "1", take_profit_pct: str = "2") -> None:
        self._stop = Decimal(stop_pct) / 100
        self._take_profit = Decimal(take_profit_pct) / 100

    def evaluate(self, symbol: str, candles: Sequence[Candle], view: Any) -> Signal | None:
        last = candles[-1]
        return Signal(
            symbol=symbol,
            side="LONG",
            stop_distance=last.close * self._stop,
            take_profit_distance=last.close * self._take_profit,
            reason="test strategy: always long",
            candle_open_ms=last.open_time_ms,
        )


class Never:
    """Never signals: a run does only what protection and recovery require."""

    def evaluate(self, symbol: str, candles: Sequence[Candle], view: Any) -> Signal | None:
        return None


class FixedExits(Never):
    """Never signals; an operator's force-entry gets this strategy's own exits."""

    def __init__(self, stop: str = "100", take_profit: str = "300") -> None:
        self._distances = (Decimal(stop), Decimal(take_profit))

    def exit_distances(self, candles: Sequence[Candle]) -> tuple[Decimal, Decimal]:
        return self._distances
