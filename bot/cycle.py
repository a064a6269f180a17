"""The trading cycle: what the bot does at each candle close, and for an operator's entry.

Protection first (every position covered by its stops, no orphan exits), then, per
symbol, candles → strategy → OrderManager (sizing, RiskGuard, bracket). No entry is
decided on a stale OMS view (``oms_problem``) or against an account-wide block
(kill switch, daily loss, stop-loss streak). A bracket that may have left a position
unprotected is repaired from the exchange's truth at once, not at the next cycle.
Every line it reports goes to the operator's console and the log, with prices at the
symbol's tick and quantities at its step (``bot.console``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot import console
from bot.candles import ClosedCandles, MarketData
from bot.client_ids import Intent, Source, parse_client_id
from bot.clock import ExchangeClock
from bot.config import BotConfig
from bot.domain.enums import BracketOutcome
from bot.domain.rules import SymbolRules
from bot.exchange.errors import ExchangeError
from bot.execution.orders import BracketResult, OrderManager
from bot.execution.plans import PlanBook
from bot.logs import FILE_ONLY
from bot.oms.state import OmsView
from bot.risk.guard import RiskGuard, RiskRule
from bot.strategy.base import Candle, Side, Signal, Strategy
from bot.strategy.exits import exit_distances

log = logging.getLogger(__name__)

# bracket outcomes that may leave a naked position
REPAIR_NOW = frozenset({BracketOutcome.UNPROTECTED, BracketOutcome.ERROR})
# the operator should look
NEEDS_ATTENTION = frozenset(
    {BracketOutcome.UNPROTECTED, BracketOutcome.ERROR, BracketOutcome.CLOSED}
)
# force-entry exits 3 on these
NO_OP = frozenset({BracketOutcome.REFUSED, BracketOutcome.DUPLICATE, BracketOutcome.NOT_FILLED})


@dataclass
class CycleReport:
    """What one strategy cycle did, for the operator's console.

    ``printed``: the caller prints the lines (a command), so the log file keeps them and
    the console gets each once; otherwise (the service) the log is where they show, a
    refused entry at WARNING."""

    lines: list[str] = field(default_factory=list)
    refused: bool = False  # refused by risk, a duplicate, or nothing to do
    attention: bool = False  # something needed a repair, or an outcome stays unresolved
    oms_problem: str | None = None  # entries refused: the OMS view may be stale (exit 1)
    risk_refusals: list[RiskRule] = field(default_factory=list)  # one per entry RiskGuard refused
    printed: bool = False

    def add(self, line: str, level: int = logging.INFO) -> None:
        log.log(level, line, extra=FILE_ONLY if self.printed else None)
        self.lines.append(line)


class TradingCycle:
    def __init__(
        self,
        config: BotConfig,
        *,
        market: MarketData,
        strategy: Strategy,
        orders: OrderManager,
        guard: RiskGuard,
        plans: PlanBook,
        view: Callable[[], OmsView],
        clock: ExchangeClock,
        kill_switch: Callable[[], bool],
        oms_problem: Callable[[], str | None],
        wait_applied: Callable[[], object],
        reconcile: Callable[[], None],
        rules: Callable[[str], SymbolRules],
    ) -> None:
        """``oms_problem`` says why no entry may be decided on the view now (or None);
        ``wait_applied`` waits for the OMS to apply what is queued; ``reconcile``
        applies a REST snapshot (the exchange's truth); ``rules`` gives a symbol's
        filters, which set the precision of the prices and quantities reported."""
        self._config = config
        self._candles = ClosedCandles(market, config.strategy.interval, config.strategy.candles)
        self._strategy = strategy
        self._orders = orders
        self._guard = guard
        self._plans = plans
        self._view = view
        self._clock = clock
        self._kill_switch = kill_switch
        self._oms_problem = oms_problem
        self._wait_applied = wait_applied
        self._reconcile = reconcile
        self._rules = rules
        self.last_cycle_at: datetime | None = None  # when the last cycle completed (metrics)
        self.last_cycle_s: float | None = None  # how long it took

    def look_after_positions(self, report: CycleReport) -> None:
        """Every position has its SL, no orphans."""
        for line in self._orders.protect_positions(self._view()):
            report.add(line)
            report.attention = True
        for line in self._orders.cancel_orphans(self._view()):
            report.add(line)

    def closed_candles(self, symbol: str) -> list[Candle]:
        """The strategy's history: its interval and length, closed candles only."""
        return self._candles.get(symbol, self._clock.now_ms())

    def signal_for(self, symbol: str) -> tuple[Signal | None, str]:
        candles = self.closed_candles(symbol)
        if not candles:
            return None, "no closed candle"
        signal = self._strategy.evaluate(symbol, candles, self._view())
        return signal, f"last close {console.price(candles[-1].close, self._rules(symbol))}"

    def trade(
        self, signal: Signal, report: CycleReport, intent: Intent | None = None
    ) -> BracketResult:
        problem = self._oms_problem()
        if problem is not None:
            report.oms_problem = problem
            report.add(f"{signal.symbol}: no entry: {problem}")
            return BracketResult(BracketOutcome.REFUSED, problem, signal.symbol, "")
        result = self._orders.open_bracket(signal, intent)
        if result.status == BracketOutcome.OPENED:
            rules = self._rules(signal.symbol)
            prices = [
                "?" if value is None else console.price(value, rules)
                for value in (result.entry_price, result.stop_price, result.take_profit_price)
            ]
            report.add(
                f"{signal.symbol}: {signal.side} {console.qty(result.filled_qty, rules)} filled "
                f"@ {prices[0]}; SL {prices[1]}; TP {prices[2]} ({signal.reason})"
            )
        else:
            level = logging.WARNING if result.refused else logging.INFO
            report.add(f"{signal.symbol}: {signal.side} {result.status}: {result.reason}", level)
        report.refused = report.refused or result.refused
        if result.risk_rule is not None:
            report.risk_refusals.append(result.risk_rule)
        report.attention = report.attention or result.status in NEEDS_ATTENTION
        self._wait_applied()
        if result.status in REPAIR_NOW:
            # an entry may have filled without its stop: repair from the exchange's truth
            # now, not at the next cycle
            self._reconcile()
            self.look_after_positions(report)
        return result

    def force_entry(self, symbol: str, side: Side, report: CycleReport) -> BracketResult:
        """An operator's entry: a new intent each time, except that the re-run of a
        force-entry that died before its entry was confirmed resumes that intent (its
        persisted plan), so it is resolved by its own client id and never sent twice."""
        signal = self.forced_signal(symbol, side)
        if isinstance(signal, str):
            report.add(f"{symbol}: {side} refused: {signal}", logging.WARNING)
            report.refused = True
            return BracketResult(BracketOutcome.REFUSED, signal, symbol, "")
        result = self.trade(signal, report, self._operator_intent(symbol, side))
        report.refused = report.refused or result.status in NO_OP  # the operator asked for it
        return result

    def _operator_intent(self, symbol: str, side: Side) -> Intent:
        plan = self._plans.get(symbol)
        view = self._view()
        if plan is not None and plan.side == side and symbol not in view.positions:
            parsed = parse_client_id(plan.entry_client_id, tag=self._orders.settings.tag)
            unresolved = view.order(plan.entry_client_id) is None
            if parsed is not None and parsed.intent.source is Source.OPERATOR and unresolved:
                log.warning("resuming the unconfirmed force-entry %s", plan.entry_client_id)
                return parsed.intent
        return Intent.for_side(self._clock.now_ms(), Source.OPERATOR, side)

    def forced_signal(self, symbol: str, side: Side) -> Signal | str:
        """An operator's signal: the strategy's exit distances on the latest closed
        candles (the same history the strategy decides on), or why there are none."""
        candles = self.closed_candles(symbol)
        distances = exit_distances(self._strategy, candles) if candles else None
        if distances is None:
            return (
                f"no stop distance from {len(candles)} closed candles (too few, or a flat market)"
            )
        stop, take_profit = distances
        return Signal(
            symbol=symbol,
            side=side,
            stop_distance=stop,
            take_profit_distance=take_profit,
            reason=f"force-entry by operator (stop distance "
            f"{console.price(stop, self._rules(symbol))})",
            candle_open_ms=candles[-1].open_time_ms,
        )

    def cycle(self, *, printed: bool = False) -> CycleReport:
        """One strategy cycle over every configured symbol (``printed``: see CycleReport)."""
        started = time.perf_counter()
        report = CycleReport(printed=printed)
        self.look_after_positions(report)
        report.oms_problem = self._oms_problem()
        refused = None
        if report.oms_problem is None:
            refused = self._guard.entry_block(self._orders.risk_state(self._view(), ""))
        block = report.oms_problem or (refused.reason if refused is not None else None)
        for symbol in self._config.symbols:
            if block is not None:
                report.add(f"{symbol}: no entry: {block}")
                if refused is not None:
                    report.risk_refusals.append(refused.rule)
                continue
            try:
                signal, context = self.signal_for(symbol)
            except ExchangeError as error:
                report.add(f"{symbol}: market data unavailable: {error}")
                continue
            if signal is None:
                report.add(f"{symbol}: no signal ({context})")
            else:
                self.trade(signal, report)
        self.summarise(report)
        self.last_cycle_s = time.perf_counter() - started
        self.last_cycle_at = self._clock.now()
        return report

    def summarise(self, report: CycleReport) -> None:
        view = self._view()
        today = self._clock.now().date()
        positions = ", ".join(
            self._position_text(symbol, p.amount, p.entry_price)
            for symbol, p in sorted(view.positions.items())
            if p.amount
        )
        report.add(
            f"today's PnL {console.usdc(view.day_pnl(today))} USDC "
            f"(limit -{self._config.risk.daily_loss_limit}); "
            f"SL streak {view.sl_streak}/{self._config.risk.max_sl_streak}; "
            f"positions: {positions or 'none'}; "
            f"kill switch {'ON' if self._kill_switch() else 'off'}"
        )

    def _position_text(self, symbol: str, amount: Decimal, entry_price: Decimal) -> str:
        """At the symbol's precision; a symbol the venue no longer lists (a position
        opened by hand) is shown as the exchange gave it, normalised."""
        try:
            rules = self._rules(symbol)
        except ExchangeError:
            return f"{symbol} {console.plain(amount)} @ {console.plain(entry_price)}"
        return f"{symbol} {console.qty(amount, rules)} @ {console.price(entry_price, rules)}"
