"""The backtest driver: moves the engine's clock and prices candle by candle and runs the
unchanged bot's trading cycle at each candle close.

What differs from a live run lives here and only here: there is no scheduler and no
wall-clock wait. Per candle of the data, the price goes open → first extreme → second
extreme → close (``ohlc``: high first; ``adaptive``: the extreme nearer the open first),
passing through every resting trigger and limit price on the way, so a stop crossed
inside a bar fills at its trigger and a LIMIT take-profit at its price, while a jump
(the next candle's open) fills what it crossed at the open. At each close of the
strategy's interval the engine's events go to the OMS and ``app.trading.cycle()``
decides, as the live bot does at candle close. The bot's local clock is the engine's
(``App`` with an engine), so its time moves with the candles without a server-time
request per cycle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bot.app import App
from bot.backtest.data import Bar
from bot.backtest.engine import ReplayEngine
from bot.backtest.feed import CandleFeed
from bot.backtest.ticks import step_candle
from bot.oms.events import RawMessage
from bot.risk.guard import RiskRule
from bot.sim.account import AccountState
from bot.sim.market import INTERVAL_MS

log = logging.getLogger(__name__)


@dataclass
class Trace:
    """What the driver saw: equity at each strategy close and RiskGuard's refusals."""

    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    refusal_days: dict[str, list[str]] = field(default_factory=dict)
    account: AccountState | None = None  # the engine's, at the end: every fill and payment


class Driver:
    def __init__(
        self,
        app: App,
        engine: ReplayEngine,
        feed: CandleFeed,
        bars: dict[str, list[Bar]],
        funding: dict[str, dict[int, Decimal]],
        *,
        tick_order: str,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """``progress`` is told the time (ms) of each strategy close once it is decided."""
        self.app, self.engine, self.feed = app, engine, feed
        self.progress = progress
        self.bars, self.funding = bars, funding
        self.tick_order = tick_order
        self.trace = Trace()
        self._decide_every = INTERVAL_MS[app.config.strategy.interval]

    def run(self) -> Trace:
        symbols = list(self.bars)
        for index in range(len(self.bars[symbols[0]])):
            candles = {symbol: self.bars[symbol][index] for symbol in symbols}
            close_ms = step_candle(self.engine, self.feed, candles, self.funding, self.tick_order)
            if close_ms % self._decide_every == 0:
                self._cycle(close_ms)
        self._deliver()
        return self.trace

    def _cycle(self, close_ms: int) -> None:
        self._deliver()
        report = self.app.trading.cycle()
        self._deliver()
        for rule in report.risk_refusals:
            self._count_refusal(rule, close_ms)
        with self.engine.exchange.lock:
            self.trace.equity.append((close_ms, _equity(self.engine)))
        if self.progress is not None:
            self.progress(close_ms)

    def _deliver(self) -> None:
        """The engine's user-data events into the OMS queue, in order; wait until applied."""
        events = self.engine.take_events()
        for event in events:
            self.app.inbound.put(RawMessage(json.dumps(event), self.engine.now_ms()))
        if events:
            self.app.worker.wait_idle(timeout=30)

    def _count_refusal(self, rule: RiskRule, close_ms: int) -> None:
        """One entry RiskGuard refused, by its rule (``RiskRule``), and the day it was."""
        kind = rule.value
        self.trace.refusals[kind] = self.trace.refusals.get(kind, 0) + 1
        day = _day(close_ms)
        days = self.trace.refusal_days.setdefault(kind, [])
        if day not in days:
            days.append(day)


def _equity(engine: ReplayEngine) -> Decimal:
    """Wallet plus unrealised PnL at the mark (the engine lock held)."""
    exchange = engine.exchange
    wallet = exchange.account.wallet.get("USDC", Decimal(0))
    unrealised = sum(
        (
            (exchange.market.mark(p.symbol) - p.entry_price) * p.amount
            for p in exchange.account.positions.values()
            if p.amount
        ),
        Decimal(0),
    )
    return wallet + unrealised


def _day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
