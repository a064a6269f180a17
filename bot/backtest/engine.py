"""The exchange engine for a backtest: the simulator, with the driver's clock and an outbox
the driver hands to the OMS.

The clock is the engine's only clock and stands still until the driver moves it (no
wall time leaks into a run, so two runs are identical). The user-data events the engine
would push over the websocket are kept for the driver, which puts them on the OMS queue
in the order they happened, as the stream thread would.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from bot.sim import Simulator
from bot.sim.account import Fees
from bot.sim.market import Clock, PriceFeed
from bot.sim.symbols import SymbolSpec
from bot.sim.venue import Json


class ReplayClock(Clock):
    """Server time that only the driver moves."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self._now_lock = threading.Lock()

    def now_ms(self) -> int:
        with self._now_lock:
            return self.offset_ms

    def advance_ms(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the sim clock only moves forward")
        with self._now_lock:
            self.offset_ms += ms


class ReplayEngine(Simulator):
    def __init__(
        self,
        *,
        feed: PriceFeed,
        specs: dict[str, SymbolSpec],
        fees: Fees,
        start_ms: int,
        balance: Decimal,
    ) -> None:
        super().__init__(state_file=None, feed=feed, fees=fees, specs=specs)
        self.clock = ReplayClock(start_ms)
        self.exchange.clock = self.exchange.market.clock = self.clock
        self.delivered: list[Json] = []  # user-data events not yet handed to the OMS
        self.exchange.account.wallet = {"USDC": balance}

    def set_time(self, at_ms: int) -> None:
        with self.exchange.lock:
            self.clock.advance_ms(at_ms - self.clock.now_ms())

    def run_market(self) -> None:
        """Match at the feed's current prices (triggers, resting orders, funding, margin)."""
        with self.exchange.lock:
            self._run_market()

    def take_events(self) -> list[Json]:
        with self.exchange.lock:
            events, self.delivered = self.delivered, []
        return events

    def _flush(self) -> None:
        events, self.exchange.outbox = self.exchange.outbox, []
        self.delivered.extend(events)
