"""OrderManager: signal → sized, risk-checked bracket; keeps every position protected.

Client ids name the intent (bot tag, symbol, candle or operator request, side, leg;
see :mod:`bot.client_ids`), and the entry is skipped when the OMS or the exchange
already knows its id or the symbol already holds a position on the exchange, so the
same intent never produces two entries, whether retried, re-run by cron, or run by
two processes. The plan (stop and target) is committed to the store before the
entry is sent, so any later process can finish a bracket that was cut short.
Every order leaves through the OrderDesk (risk check, fsynced audit, request);
keeping positions protected is the PositionGuard's job, reached through the
methods here so the app talks to one object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

from bot.client_ids import Intent, Leg, Source, make_client_id
from bot.domain.enums import FINAL_ORDER_STATUSES, BracketOutcome
from bot.domain.records import Order
from bot.domain.rules import SymbolRules
from bot.exchange.errors import ExchangeError
from bot.execution.bracket import ENTRY_SIDE, entry_order, exit_orders, exit_prices
from bot.execution.desk import Audit, OrderClient, OrderDesk, OrderSettings
from bot.execution.plans import BracketPlan, PlanBook
from bot.execution.protection import PositionGuard
from bot.execution.sizing import Refusal, size_entry
from bot.logs import FILE_ONLY
from bot.oms.commands import OmsUnavailable
from bot.oms.state import OmsView
from bot.risk.guard import OrderIntent, Refused, RiskGuard, RiskRule, RiskState
from bot.strategy.base import Signal

log = logging.getLogger(__name__)

ONE_AT_A_TIME = "one position per symbol: an entry is possible again once it is closed"


@dataclass(frozen=True)
class BracketResult:
    """Outcome of ``open_bracket`` (see :class:`BracketOutcome`) and why."""

    status: BracketOutcome
    reason: str
    symbol: str
    entry_client_id: str
    filled_qty: Decimal = Decimal(0)
    entry_price: Decimal | None = None
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    risk_rule: RiskRule | None = None  # the RiskGuard rule that refused, if it was RiskGuard

    @property
    def refused(self) -> bool:
        return self.status == BracketOutcome.REFUSED


class OrderManager:
    def __init__(
        self,
        client: OrderClient,
        guard: RiskGuard,
        audit: Audit,
        view_provider: Callable[[], OmsView],
        rules_provider: Callable[[str], SymbolRules],
        settings: OrderSettings,
        plans: PlanBook,
        *,
        kill_switch: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``client`` is the ExchangeClient (in dry-run, on the exchange engine);
        ``view_provider`` returns the OMS's current read-only view; ``plans`` keeps each
        symbol's bracket plan (in the state store)."""
        self._desk = OrderDesk(
            client,
            guard,
            audit,
            view_provider,
            rules_provider,
            settings,
            kill_switch=kill_switch,
            clock=clock,
        )
        self._positions = PositionGuard(self._desk, plans)
        self._plans = plans
        self._client = client
        self._guard = guard
        self._view = view_provider
        self._rules = rules_provider
        self.settings = settings
        self._sleep = sleep

    # --- entries ----------------------------------------------------------------------

    def open_bracket(self, signal: Signal, intent: Intent | None = None) -> BracketResult:
        """Size, check, persist the plan, send the entry, and on its fill place SL and TP
        for the filled quantity. ``intent`` defaults to the strategy's: one per candle
        and side."""
        symbol, tag = signal.symbol, self.settings.tag
        if intent is None:
            intent = Intent.for_side(signal.candle_open_ms, Source.CANDLE, signal.side)
        entry_id = make_client_id(symbol, intent, Leg.ENTRY, tag=tag)
        result = self._entry_precheck(signal, entry_id)
        if result is not None:
            return result
        view = self._view()
        rules = self._rules(symbol)
        try:
            mark = self._client.mark_price(symbol)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"no price to size the entry: {error}")
        qty = size_entry(
            self._balance(view),
            self.settings.risk_pct,
            signal.stop_distance,
            mark,
            rules,
            self.settings.max_notional,
        )
        if isinstance(qty, Refusal):
            return self._refuse(signal, entry_id, qty.reason)
        intent_check = OrderIntent(
            symbol, ENTRY_SIDE[signal.side], qty, None, mark, leg=Leg.ENTRY, client_id=entry_id
        )
        decision = self._guard.check(intent_check, self.risk_state(view, symbol), rules)
        if isinstance(decision, Refused):
            return self._refuse(signal, entry_id, decision.reason, decision.rule)
        try:
            stop, target = exit_prices(
                signal.side, mark, signal.stop_distance, signal.take_profit_distance, rules
            )
        except ValueError as error:  # an exit outside PRICE_FILTER: no trade
            return self._refuse(signal, entry_id, str(error))
        plan = BracketPlan(
            symbol=symbol,
            side=signal.side,
            entry_client_id=entry_id,
            stop_client_id=make_client_id(symbol, intent, Leg.STOP_LOSS, tag=tag),
            take_profit_client_id=make_client_id(symbol, intent, Leg.TAKE_PROFIT, tag=tag),
            qty=qty,
            stop_distance=signal.stop_distance,
            take_profit_distance=signal.take_profit_distance,
            stop_price=stop,
            take_profit_price=target,
            created_ms=int(self._desk.clock().timestamp() * 1000),
        )
        try:
            self._plans.record(plan)  # committed before the entry leaves: any process can finish
        except OmsUnavailable as error:
            return self._failed(symbol, entry_id, f"the plan could not be stored: {error}")
        # not fsynced on its own: the order_send record right after it is, and one
        # fsync makes every earlier write of the journal durable too
        self._desk.decision(
            "entry_allowed",
            symbol,
            entry_id,
            decision.reason,
            sync=False,
            signal=signal.reason,
            qty=qty,
            planned_stop=stop,
            planned_take_profit=target,
            stop_distance=signal.stop_distance,
            take_profit_distance=signal.take_profit_distance,
        )
        try:
            order = self._desk.send(Leg.ENTRY, entry_order(symbol, signal.side, qty, entry_id))
            order = self._await_fill(symbol, entry_id, order)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"entry failed: {error}")
        filled = order.filled_qty
        if filled <= 0:
            reason = f"entry {entry_id} ended {order.status} without a fill"
            self._desk.decision("entry_not_filled", symbol, entry_id, reason)
            return BracketResult(BracketOutcome.NOT_FILLED, reason, symbol, entry_id)
        fill_price = order.fill_price or mark
        return self._protect_new_position(plan, intent, filled, fill_price, rules, signal.reason)

    def _entry_precheck(self, signal: Signal, entry_id: str) -> BracketResult | None:
        """Skip a signal whose entry already exists, or whose symbol already has a
        position — in the view, and on the exchange (the view may be stale)."""
        symbol, view = signal.symbol, self._view()
        if view.order(entry_id) is not None:
            return self._skip(
                symbol,
                entry_id,
                f"entry {entry_id} is already in the OMS: this intent was acted on; "
                "the next candle (or a new force-entry) is a new one",
            )
        if symbol in view.positions:
            amount = view.positions[symbol].amount
            return self._skip(
                symbol, entry_id, f"{symbol} already has a position ({amount}); {ONE_AT_A_TIME}"
            )
        try:
            existing = self._client.query_order(symbol, entry_id)
            amount, _ = self._desk.exchange_position(symbol)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"cannot check for an existing entry: {error}")
        if existing is not None:
            return self._skip(
                symbol,
                entry_id,
                f"entry {entry_id} already exists on the exchange ({existing.status}): "
                "this intent was acted on; the next candle (or a new force-entry) is a new one",
            )
        if amount != 0:
            return self._skip(
                symbol,
                entry_id,
                f"{symbol} already has a position on the exchange ({amount}); {ONE_AT_A_TIME}",
            )
        return None

    def _protect_new_position(
        self,
        plan: BracketPlan,
        intent: Intent,
        filled: Decimal,
        fill_price: Decimal,
        rules: SymbolRules,
        why: str,
    ) -> BracketResult:
        """Both exits for the filled quantity at prices re-derived from the real fill; the
        take profit is placed even when the stop loss could not be (the repair that
        follows re-places the stop from the plan)."""
        symbol, entry_id = plan.symbol, plan.entry_client_id
        done = partial(
            BracketResult,
            symbol=symbol,
            entry_client_id=entry_id,
            filled_qty=filled,
            entry_price=fill_price,
        )
        close_intent = Intent(intent.time_ms, Source.GUARD)
        try:
            plan = plan.filled_at(fill_price, rules)
        except ValueError as error:
            reason = f"no valid exit for the fill at {fill_price}: {error}; closing at market"
            self._desk.alarm("no_valid_exit", symbol, entry_id, reason)
            close_id = make_client_id(symbol, close_intent, Leg.CLOSE, tag=self.settings.tag)
            try:
                self._desk.close_at_market(symbol, plan.exit_side, filled, close_id, rules)
            except ExchangeError as close_error:
                return done(BracketOutcome.UNPROTECTED, f"{reason}: {close_error}")
            return done(BracketOutcome.CLOSED, reason)
        try:
            self._plans.record(plan)
        except OmsUnavailable as error:  # the exits go out regardless; a repair re-prices
            log.error("%s: the filled plan could not be stored: %s", symbol, error)
        done = partial(done, stop_price=plan.stop_price, take_profit_price=plan.take_profit_price)
        stop_loss, take_profit = exit_orders(
            symbol,
            plan.side,
            filled,
            plan.stop_price,
            plan.take_profit_price,
            plan.stop_client_id,
            plan.take_profit_client_id,
            self.settings.exits,
        )
        failures: list[str] = []
        for leg, exit_order in ((Leg.STOP_LOSS, stop_loss), (Leg.TAKE_PROFIT, take_profit)):
            outcome = self._desk.place_exit(
                leg, exit_order, filled, fill_price, rules, close_intent
            )
            if outcome is not None and outcome[0] == BracketOutcome.CLOSED:
                return done(BracketOutcome.CLOSED, outcome[1])
            if outcome is not None:
                failures.append(outcome[1])
        if failures:
            return done(BracketOutcome.UNPROTECTED, "; ".join(failures))
        reason = (
            f"{plan.side} {filled} {symbol} @ {fill_price}, "
            f"SL {plan.stop_price}, TP {plan.take_profit_price}"
        )
        log.info("%s bracket opened: %s (%s)", symbol, reason, why)
        return done(BracketOutcome.OPENED, reason)

    # --- protection (PositionGuard) ---------------------------------------------------

    def protect_positions(self, view: OmsView) -> list[str]:
        return self._positions.protect_positions(view)

    def cancel_orphans(self, view: OmsView) -> list[str]:
        return self._positions.cancel_orphans(view)

    def emergency_stop(self, symbols: Iterable[str], flatten: bool) -> list[str]:
        return self._positions.emergency_stop(symbols, flatten)

    # --- helpers ------------------------------------------------------------------------

    def risk_state(self, view: OmsView, symbol: str) -> RiskState:
        return self._desk.risk_state(view, symbol)

    def _balance(self, view: OmsView) -> Decimal:
        wallet = view.usdc_wallet
        if wallet is not None:
            return wallet
        return self._client.usdc_balance().wallet

    def _await_fill(self, symbol: str, client_id: str, order: Order) -> Order:
        """Bounded wait for a final status; cancel what is left after the wait so the
        exits cover exactly the filled quantity."""
        for _ in range(self.settings.fill_polls):
            if order.status in FINAL_ORDER_STATUSES:
                return order
            self._sleep(self.settings.fill_poll_interval_s)
            order = self._client.query_order(symbol, client_id) or order
        if order.status in FINAL_ORDER_STATUSES:
            return order
        self._desk.decision(
            "entry_remainder_cancelled", symbol, client_id, "entry not final after the wait"
        )
        self._client.cancel_order(symbol, client_id)
        return self._client.query_order(symbol, client_id) or order

    def _refuse(
        self, signal: Signal, client_id: str, reason: str, rule: RiskRule | None = None
    ) -> BracketResult:
        self._desk.decision(
            "entry_refused",
            signal.symbol,
            client_id,
            reason,
            signal=signal.reason,
            rule=None if rule is None else rule.value,  # None: sizing or prices, not RiskGuard
        )
        # the caller reports the refusal (the cycle's line): the console gets it once
        log.warning("%s entry refused: %s", signal.symbol, reason, extra=FILE_ONLY)
        return BracketResult(
            BracketOutcome.REFUSED, reason, signal.symbol, client_id, risk_rule=rule
        )

    def _skip(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._desk.decision("entry_skipped", symbol, client_id, reason)
        log.info("%s entry skipped: %s", symbol, reason)
        return BracketResult(BracketOutcome.DUPLICATE, reason, symbol, client_id)

    def _failed(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._desk.decision("entry_failed", symbol, client_id, reason)
        log.error("%s %s", symbol, reason)
        return BracketResult(BracketOutcome.ERROR, reason, symbol, client_id)
