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
from bot.oms.events import RawMessage
from bot.risk.guard import RiskRule
from bot.sim.account import AccountState
from bot.sim.exchange import Exchange
from bot.sim.funding import FUNDING_INTERVAL_MS
from bot.sim.market import INTERVAL_MS

log = logging.getLogger(__name__)

TICK_ORDERS = ("ohlc", "adaptive")


@dataclass
class Trace:
    """What the driver saw: equity at each strategy close and RiskGuard's refusals."""

    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    refusal_days: dict[str, list[str]] = field(default_factory=dict)
    account: AccountState | None = None  # the engine's, at the end: every fill and payment


def tick_path(bar: Bar, order: str) -> list[Decimal]:
    """The candle's ticks: ``ohlc`` high first; ``adaptive`` the extreme nearer the open."""
    high_first = order == "ohlc" or (bar.high - bar.open) <= (bar.open - bar.low)
    middle = [bar.high, bar.low] if high_first else [bar.low, bar.high]
    return [bar.open, *middle, bar.close]


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
        step = self.feed.step_ms
        for index in range(len(self.bars[symbols[0]])):
            open_ms = self.bars[symbols[0]][index].open_ms
            paths = {s: tick_path(self.bars[s][index], self.tick_order) for s in symbols}
            for k in range(4):
                self.engine.set_time(open_ms + k * step // 4)
                for symbol in symbols:
                    self._move(symbol, paths[symbol][k], jump=k == 0)
            close_ms = open_ms + step
            if close_ms % FUNDING_INTERVAL_MS == 0:  # the rate is in force when the time comes
                self._set_funding_rates(close_ms)
            self.engine.set_time(close_ms)
            self.engine.run_market()
            if close_ms % self._decide_every == 0:
                self._cycle(close_ms)
        self._deliver()
        return self.trace

    def _set_funding_rates(self, at_ms: int) -> None:
        with self.engine.exchange.lock:
            for symbol in self.bars:
                rate = self.funding.get(symbol, {}).get(at_ms, Decimal(0))
                self.engine.exchange.funding_rates[symbol] = rate

    def _move(self, symbol: str, target: Decimal, *, jump: bool) -> None:
        """To ``target``, matching at every resting price crossed on the way (none on a jump)."""
        exchange = self.engine.exchange
        with exchange.lock:
            if not _exposed(exchange):  # no tick can fill or liquidate: the close matches
                self.feed.set_price(symbol, target)
                return
            current = self.feed.last(symbol, 0)
            premium = self.feed.premium(symbol, self.engine.now_ms())
            while not jump and current != target:
                rising = target > current
                stops = [
                    price
                    for price in _resting_prices(exchange, symbol, premium)
                    if (current < price < target if rising else target < price < current)
                ]
                if not stops:
                    break
                current = min(stops) if rising else max(stops)
                self.feed.set_price(symbol, current)
                self.engine.run_market()
            self.feed.set_price(symbol, target)
            self.engine.run_market()

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


def _exposed(exchange: Exchange) -> bool:
    """An order or algo order rests, or a position is held (the engine lock held)."""
    account = exchange.account
    return bool(
        account.open_orders()
        or account.open_algo_orders()
        or any(p.amount for p in account.positions.values())
    )


def _resting_prices(exchange: Exchange, symbol: str, premium: Decimal) -> list[Decimal]:
    """The last prices at which open stops trigger (a mark-price trigger less the mark's
    ``premium`` over the last price) and prices of resting LIMIT orders of ``symbol``."""
    account = exchange.account
    prices = [
        a.trigger_price - (premium if a.working_type == "MARK_PRICE" else 0)
        for a in account.open_algo_orders()
        if a.symbol == symbol and a.order_type != "TRAILING_STOP_MARKET"
    ]
    prices += [o.price for o in account.open_orders() if o.symbol == symbol and o.type == "LIMIT"]
    return prices


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
