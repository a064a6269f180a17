"""A simulator served over HTTP whose market is historical candles, stepped one candle
per ``POST /_sim/step_candle``: the venue of the backtest's parity check, where separate
``python main.py --once`` processes trade against the same candles the backtest replays.

Each step moves the price with the backtest's own stepping (``bot.backtest.ticks``): the
same ticks, the same matches at every resting price crossed, the same funding rates. Unlike the
backtest's engine, the clock here runs with the wall clock between steps (a bot in
another process signs requests with its own clock and Binance refuses a timestamp
1 s ahead of the server's), and a step only ever moves it forward: a bot run at a
close sees the close plus the seconds it takes.
"""

from __future__ import annotations

import time
from decimal import Decimal

from bot.backtest.feed import CandleFeed
from bot.backtest.run import Market
from bot.backtest.ticks import step_candle
from bot.sim import Simulator
from bot.sim.account import Fees
from bot.sim.symbols import SymbolSpec
from bot.sim.venue import Json


class SteppedSimulator(Simulator):
    def __init__(
        self,
        *,
        market: Market,
        specs: dict[str, SymbolSpec],
        fees: Fees,
        balance: Decimal,
        tick_order: str,
    ) -> None:
        """``market`` as the backtest loaded it: candles, funding and mark prices."""
        bars = market.bars
        self.feed = CandleFeed(bars, market.step_ms, market.marks)
        start_ms = next(iter(bars.values()))[0].open_ms
        super().__init__(
            feed=self.feed,
            fees=fees,
            specs=specs,
            clock_offset_ms=start_ms - int(time.time() * 1000),
        )
        self.exchange.account.wallet = {"USDC": balance}
        self.bars, self.funding, self.tick_order = bars, market.funding, tick_order
        self.next_index = 0

    def step_candle(self) -> int:
        """The next candle, tick by tick; returns its close (ms), where the clock now is."""
        index = self.next_index
        candles = {symbol: bars[index] for symbol, bars in self.bars.items()}
        close_ms = step_candle(self, self.feed, candles, self.funding, self.tick_order)
        self.next_index += 1
        return close_ms

    def set_time(self, at_ms: int) -> None:
        """Forward to ``at_ms``, never back (the clock also runs with the wall clock)."""
        with self.exchange.lock:
            clock = self.exchange.clock
            clock.advance_ms(max(0, at_ms - clock.now_ms()))

    def run_market(self) -> None:
        with self.exchange.lock:
            self._run_market()

    def _control(self, method: str, name: str, payload: Json) -> tuple[int, object]:
        """The simulator's control API, plus ``step_candle``."""
        if name == "step_candle":
            return 200, {"close_ms": self.step_candle()}
        return super()._control(method, name, payload)
