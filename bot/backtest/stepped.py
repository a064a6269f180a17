"""A simulator served over HTTP whose market is historical candles, stepped one candle
per ``POST /_sim/step_candle``: the venue of the backtest's parity check, where separate
``python main.py --once`` processes trade against the same candles the backtest replays.

Each step moves the price as the backtest's driver does (``bot.backtest.driver``): the
funding rates due at the candle's open, then open → first extreme → second extreme →
close (``tick_path``), matching at every resting trigger or limit price crossed on the
way (none on the jump to the open), then the clock at the candle's close. Unlike the
backtest's engine, the clock here runs with the wall clock between steps (a bot in
another process signs requests with its own clock and Binance refuses a timestamp
1 s ahead of the server's), and a step only ever moves it forward: a bot run at a
close sees the close plus the seconds it takes.
"""

from __future__ import annotations

import time
from decimal import Decimal

from bot.backtest.driver import _resting_prices, tick_path
from bot.backtest.feed import CandleFeed
from bot.backtest.run import Market
from bot.sim import Simulator
from bot.sim.account import Fees
from bot.sim.funding import FUNDING_INTERVAL_MS
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
        symbols = list(self.bars)
        index = self.next_index
        open_ms = self.bars[symbols[0]][index].open_ms
        step = self.feed.step_ms
        with self.exchange.lock:
            paths = {s: tick_path(self.bars[s][index], self.tick_order) for s in symbols}
            for k in range(4):
                self._forward_to(open_ms + k * step // 4)
                for symbol in symbols:
                    self._move(symbol, paths[symbol][k], jump=k == 0)
            close_ms = open_ms + step
            if close_ms % FUNDING_INTERVAL_MS == 0:  # the rate is in force when the time comes
                for symbol in symbols:
                    rate = self.funding.get(symbol, {}).get(close_ms, Decimal(0))
                    self.exchange.funding_rates[symbol] = rate
            self._forward_to(close_ms)
            self._run_market()
        self.next_index += 1
        return open_ms + step

    def _forward_to(self, at_ms: int) -> None:
        clock = self.exchange.clock
        clock.advance_ms(max(0, at_ms - clock.now_ms()))

    def _move(self, symbol: str, target: Decimal, *, jump: bool) -> None:
        """To ``target``, matching at every resting price crossed on the way (the driver's)."""
        current = self.feed.last(symbol, 0)
        premium = self.feed.premium(symbol, self.exchange.clock.now_ms())
        while not jump and current != target:
            rising = target > current
            crossed = [
                price
                for price in _resting_prices(self.exchange, symbol, premium)
                if (current < price < target if rising else target < price < current)
            ]
            if not crossed:
                break
            current = min(crossed) if rising else max(crossed)
            self.feed.set_price(symbol, current)
            self._run_market()
        self.feed.set_price(symbol, target)
        self._run_market()

    def _control(self, method: str, name: str, payload: Json) -> tuple[int, object]:
        """The simulator's control API, plus ``step_candle``."""
        if name == "step_candle":
            return 200, {"close_ms": self.step_candle()}
        return super()._control(method, name, payload)
