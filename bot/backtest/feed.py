"""The historical-candle price feed (``bot.sim.market.PriceFeed``): the engine's market in
a backtest.

The driver (``bot.backtest.driver``) moves the price tick by tick through each candle and
moves the engine's clock; the feed answers from there: ``last`` is the current tick.
``mark`` is the last price, unless mark-price klines are given: then it is exact at each
mark candle's open (the mark candle's open; the funding times are such opens) and in
between follows the last price with the premium seen at that open (mark open − price
open), because the mark klines (8h in the sample) say nothing of the path inside them. ``klines`` are the candles closed before the engine's time (any
interval that is a multiple of the data's, aggregated), then the still-open candle up to
the current price: nothing later than the engine's clock ever leaks out.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal

from bot.backtest.data import Bar
from bot.sim.market import INTERVAL_MS, KlineRow


@dataclass(frozen=True)
class MarkSeries:
    """One symbol's mark-price candles, oldest first, ``interval`` apart."""

    interval: str
    bars: list[Bar]


class CandleFeed:
    def __init__(
        self,
        bars: dict[str, list[Bar]],
        step_ms: int,
        marks: dict[str, MarkSeries] | None = None,
    ) -> None:
        """``bars``: each traded symbol's candles, oldest first, ``step_ms`` apart;
        ``marks``: the mark-price candles of the symbols that have them."""
        self.step_ms = step_ms
        self._bars = bars
        self._opens = {s: [b.open_ms for b in series] for s, series in bars.items()}
        self._last: dict[str, Decimal] = {s: series[0].open for s, series in bars.items()}
        self._mark: dict[str, Decimal] = {}
        self._closed: dict[tuple[str, str], tuple[list[int], list[KlineRow]]] = {}
        self._premiums = {s: self._premium_series(s, m) for s, m in (marks or {}).items()}

    def _premium_series(
        self, symbol: str, marks: MarkSeries
    ) -> tuple[int, list[int], list[Decimal | None]]:
        """Per mark candle: its open minus the price candle's open at the same time (None
        when the price data has no candle there: then the mark is the last price)."""
        opens = {b.open_ms: b.open for b in self._bars.get(symbol, [])}
        return (
            INTERVAL_MS[marks.interval],
            [m.open_ms for m in marks.bars],
            [m.open - opens[m.open_ms] if m.open_ms in opens else None for m in marks.bars],
        )

    def premium(self, symbol: str, at_ms: int) -> Decimal:
        """Mark minus last price at ``at_ms`` (0 without mark-price klines)."""
        series = self._premiums.get(symbol)
        if series is None:
            return Decimal(0)
        step, opens, premiums = series
        k = bisect.bisect_right(opens, at_ms) - 1
        premium = premiums[k] if k >= 0 and at_ms < opens[k] + step else None
        return Decimal(0) if premium is None else premium

    # --- moved by the driver -----------------------------------------------------------
    def set_price(self, symbol: str, last: Decimal, mark: Decimal | None = None) -> None:
        self._last[symbol] = last
        if mark is None:
            self._mark.pop(symbol, None)
        else:
            self._mark[symbol] = mark

    # --- PriceFeed ---------------------------------------------------------------------
    def last(self, symbol: str, at_ms: int) -> Decimal:
        return self._last[symbol]

    def mark(self, symbol: str, at_ms: int, last: Decimal) -> Decimal:
        return self._mark.get(symbol, last + self.premium(symbol, at_ms))

    def refresh(self, now_ms: int) -> None:
        """Nothing to fetch: the driver moves the prices."""

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
        opens, rows = self._closed_rows(symbol, interval)
        step = INTERVAL_MS[interval]
        current_open = now_ms - now_ms % step
        closed = bisect.bisect_left(opens, current_open)
        ranged = start_ms is not None or end_ms is not None
        first = 0 if ranged else max(closed - limit, 0)  # the latest: the tail is enough
        rows = [*rows[first:closed], self._open_row(symbol, current_open, step, now_ms, last)]
        if start_ms is not None:
            rows = [r for r in rows if int(r[0]) >= start_ms][:limit]
        if end_ms is not None:
            rows = [r for r in rows if int(r[0]) <= end_ms]
        return rows[-limit:]

    def _closed_rows(self, symbol: str, interval: str) -> tuple[list[int], list[KlineRow]]:
        """Every full candle of ``interval`` in the data (built once per interval)."""
        key = (symbol, interval)
        if key not in self._closed:
            step = INTERVAL_MS[interval]
            if step % self.step_ms:
                raise ValueError(f"{interval} candles cannot be built from the data's")
            per = step // self.step_ms
            buckets: dict[int, list[Bar]] = {}
            for bar in self._bars[symbol]:
                buckets.setdefault(bar.open_ms - bar.open_ms % step, []).append(bar)
            full = [(t, bars) for t, bars in sorted(buckets.items()) if len(bars) == per]
            self._closed[key] = ([t for t, _ in full], [_row(t, step, bars) for t, bars in full])
        return self._closed[key]

    def _open_row(
        self, symbol: str, open_ms: int, step: int, now_ms: int, last: Decimal
    ) -> KlineRow:
        """The candle still forming at ``now_ms``: the data's bars closed in it, then ``last``."""
        opens = self._opens[symbol]
        first = bisect.bisect_left(opens, open_ms)
        done = bisect.bisect_left(opens, now_ms - self.step_ms + 1)
        bars = self._bars[symbol][first:done]
        tick = Bar(now_ms, last, last, last, last, Decimal(0))
        return _row(open_ms, step, [*bars, tick])


def _row(open_ms: int, step: int, bars: list[Bar]) -> KlineRow:
    volume = sum((b.volume for b in bars), Decimal(0))
    return [
        open_ms,
        f"{bars[0].open:f}",
        f"{max(b.high for b in bars):f}",
        f"{min(b.low for b in bars):f}",
        f"{bars[-1].close:f}",
        f"{volume:f}",
        open_ms + step - 1,
        "0",
        0,
        "0",
        "0",
        "0",
    ]
