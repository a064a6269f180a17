"""PositionGuard: keeps every open position protected and every flat symbol clean.

The invariant checked each cycle: the open stop orders on a position's closing
side *cover* it (their quantities add up to the position, or one closes the whole
position), and a take profit the bot planned is on the book unless it filled or
the operator cancelled it. A position that breaks the invariant is repaired from
its persisted :class:`~bot.execution.plans.BracketPlan` — the planned stop and
target, re-derived from the position's entry price — or, for a position the bot
never planned, with a configurable fallback stop (logged as such). A stop stuck in
TRIGGERING/TRIGGERED without a child order is no stop: the position is closed at
market.

The OMS view may lag the exchange by a few events, so anything destructive or
protective is confirmed with a REST read first: the exchange is the truth. Every
order goes through the same OrderDesk as entries (risk check, fsynced audit, then
the request).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot import console
from bot.client_ids import Intent, Leg, Source, make_client_id, parse_client_id
from bot.domain.enums import (
    STOP_TYPES,
    TAKE_PROFIT_TYPES,
    TRIGGERED_ALGO_STATUSES,
    AlgoStatus,
    BracketOutcome,
    Side,
)
from bot.domain.records import AlgoOrder
from bot.domain.rules import SymbolRules
from bot.exchange.errors import ExchangeError
from bot.execution.bracket import exit_orders
from bot.execution.desk import OrderDesk
from bot.execution.plans import BracketPlan, PlanBook, fallback_stop
from bot.oms.state import CLOSED_BY_RECONCILE, AlgoOrderState, OmsView

EXIT_LEGS = frozenset({Leg.STOP_LOSS, Leg.TAKE_PROFIT})
# What became of a planned take profit that is not on the book: triggered or filled,
# or cancelled (by the operator, or by an emergency stop — a decision to respect,
# not to undo). Only NEW means it is still there.
TAKE_PROFIT_DONE = frozenset(AlgoStatus) - {AlgoStatus.NEW}


@dataclass(frozen=True)
class _Algo:
    """An open conditional order as far as coverage is concerned (view or REST row)."""

    symbol: str
    side: str
    order_type: str
    qty: Decimal
    close_position: bool


class PositionGuard:
    def __init__(self, desk: OrderDesk, plans: PlanBook) -> None:
        self._desk = desk
        self._client = desk.client
        self._plans = plans

    @property
    def _tag(self) -> str:
        return self._desk.settings.tag

    def protect_positions(self, view: OmsView) -> list[str]:
        """Repair every position that breaks the invariant; returns what was done."""
        actions: list[str] = []
        for symbol, position in view.positions.items():
            try:
                actions.extend(self._protect(view, symbol, position.amount))
            except ExchangeError as error:
                reason = f"{symbol}: could not repair the position's protection: {error}"
                self._desk.alarm("repair_failed", symbol, "", reason)
                actions.append(reason)
        return actions

    def _protect(self, view: OmsView, symbol: str, amount: Decimal) -> list[str]:
        stuck = self._stuck_stops(view, symbol)
        if stuck:
            return self._close_stuck(symbol, stuck)
        open_algos = [_covering(a) for a in view.open_algo_orders.values()]
        plan = self._plans.get(symbol)
        covered = _uncovered(open_algos, symbol, amount) == 0
        if covered and not self._take_profit_missing(view, open_algos, plan, amount):
            return []
        return self._repair(symbol, plan)

    def _take_profit_missing(
        self, view: OmsView, open_algos: list[_Algo], plan: BracketPlan | None, amount: Decimal
    ) -> bool:
        """Whether the view shows neither the planned take profit nor its end."""
        if plan is None or not plan.holds(amount):
            return False
        planned = view.algo_orders.get(plan.take_profit_client_id)
        if planned is not None and planned.status != CLOSED_BY_RECONCILE:
            return False  # open, or ended in a way to respect (filled, cancelled)
        return not _has(open_algos, plan.symbol, plan.exit_side, TAKE_PROFIT_TYPES)

    def _repair(self, symbol: str, plan: BracketPlan | None) -> list[str]:
        amount, entry_price = self._desk.exchange_position(symbol)
        if amount == 0:
            return []
        if plan is not None and not plan.holds(amount):
            plan = None  # an older trade's plan: this position was not planned by it
        live = [_covering(algo) for algo in self._client.open_algo_orders(symbol)]
        rules = self._desk.rules(symbol)
        if plan is not None and plan.filled_price is None:
            plan = self._priced(plan, entry_price, rules)
        actions: list[str] = []
        uncovered = _uncovered(live, symbol, amount)
        if uncovered > 0:
            line, closed = self._replace_stop(symbol, amount, uncovered, entry_price, plan, rules)
            actions.append(line)
            if closed:
                return actions
        if plan is not None and not _has(live, symbol, plan.exit_side, TAKE_PROFIT_TYPES):
            actions.extend(self._replace_take_profit(plan, abs(amount), rules))
        return actions

    def _priced(self, plan: BracketPlan, entry_price: Decimal, rules: SymbolRules) -> BracketPlan:
        """A plan whose entry fill was never seen, priced from the exchange's entry price."""
        try:
            return plan.filled_at(entry_price, rules)
        except ValueError:
            return plan  # the planned prices from sizing time are the best left

    def _replace_stop(
        self,
        symbol: str,
        amount: Decimal,
        qty: Decimal,
        entry_price: Decimal,
        plan: BracketPlan | None,
        rules: SymbolRules,
    ) -> tuple[str, bool]:
        """Place a stop for the uncovered ``qty``; returns (report line, position closed)."""
        settings = self._desk.settings
        now_ms = self._now_ms()
        repair = Intent(now_ms, Source.GUARD)
        if plan is not None:
            trigger = plan.stop_price
            stop_id = plan.stop_client_id
            if not self._absent(stop_id):  # that id was used: the repair gets its own
                stop_id = make_client_id(symbol, repair, Leg.STOP_LOSS, tag=self._tag)
            why = "re-placing the planned stop"
        else:
            trigger = fallback_stop(amount, entry_price, settings.adopted_stop_pct, rules)
            stop_id = make_client_id(symbol, repair, Leg.STOP_LOSS, tag=self._tag)
            why = (
                f"the bot never planned this position: fallback stop "
                f"{settings.adopted_stop_pct}% from its entry {console.price(entry_price, rules)} "
                "(execution.adopted_stop_pct)"
            )
        self._desk.alarm(
            "stop_missing",
            symbol,
            stop_id,
            f"{symbol} position {amount}: {qty} not covered by a stop; {why} at {trigger}",
        )
        side = "LONG" if amount > 0 else "SHORT"
        stop_loss, _ = exit_orders(
            symbol, side, qty, trigger, trigger, stop_id, stop_id, settings.exits
        )
        outcome = self._desk.place_exit(
            Leg.STOP_LOSS,
            stop_loss,
            abs(amount),
            self._desk.reference_price(symbol, trigger),
            rules,
            repair,
        )
        if outcome is None:
            return f"{symbol}: stop loss re-placed at {trigger} ({stop_id})", False
        return f"{symbol}: {outcome[1]}", outcome[0] == BracketOutcome.CLOSED

    def _replace_take_profit(
        self, plan: BracketPlan, qty: Decimal, rules: SymbolRules
    ) -> list[str]:
        """Place the planned take profit unless the exchange knows how it ended."""
        symbol, tp_id = plan.symbol, plan.take_profit_client_id
        existing = self._client.query_algo_order(tp_id)
        if existing is not None:
            status = existing.status
            if status in TAKE_PROFIT_DONE:
                return []  # filled, or cancelled by someone: respected
            if status == AlgoStatus.NEW:
                return []  # on the book after all (the list raced it)
        self._desk.alarm(
            "take_profit_missing",
            symbol,
            tp_id,
            f"{symbol}: planned take profit missing; placing it at {plan.take_profit_price}",
        )
        _, take_profit = exit_orders(
            symbol,
            plan.side,
            qty,
            plan.stop_price,
            plan.take_profit_price,
            plan.stop_client_id,
            tp_id,
            self._desk.settings.exits,
        )
        outcome = self._desk.place_exit(
            Leg.TAKE_PROFIT,
            take_profit,
            qty,
            self._desk.reference_price(symbol, plan.take_profit_price),
            rules,
            Intent(self._now_ms(), Source.GUARD),
        )
        if outcome is None:
            return [f"{symbol}: take profit re-placed at {plan.take_profit_price} ({tp_id})"]
        return [f"{symbol}: {outcome[1]}"]

    # --- stuck triggers ---------------------------------------------------------------

    def _stuck_stops(self, view: OmsView, symbol: str) -> list[str]:
        """Our stops that triggered but never produced a child order, past the grace
        period, confirmed by the exchange."""
        horizon = self._now_ms() - int(self._desk.settings.stuck_trigger_s * 1000)
        suspects = [
            algo.client_algo_id
            for algo in view.algo_orders.values()
            if algo.symbol == symbol
            and algo.order_type in STOP_TYPES
            and algo.status in TRIGGERED_ALGO_STATUSES
            and algo.actual_order_id is None
            and algo.updated_ms <= horizon
        ]
        stuck = []
        for client_algo_id in suspects:
            algo = self._client.query_algo_order(client_algo_id)
            if algo is None or algo.status not in TRIGGERED_ALGO_STATUSES:
                continue
            child = algo.actual_order_id
            if child is None or self._client.query_order_by_id(symbol, child) is None:
                stuck.append(client_algo_id)
        return stuck

    def _close_stuck(self, symbol: str, stuck: list[str]) -> list[str]:
        amount, entry_price = self._desk.exchange_position(symbol)
        if amount == 0:
            return []
        close_id = make_client_id(
            symbol, Intent(self._now_ms(), Source.GUARD), Leg.CLOSE, tag=self._tag
        )
        self._desk.alarm(
            "stuck_trigger",
            symbol,
            close_id,
            f"{symbol}: stop {', '.join(stuck)} is stuck in TRIGGERING/TRIGGERED without a "
            f"child order; position {amount} is unprotected: closing it at market",
        )
        for client_algo_id in stuck:
            self._client.cancel_algo_order(client_algo_id)  # -2011 (None) is expected
        side = Side.closing(amount)
        rules = self._desk.rules(symbol)
        self._desk.close_at_market(symbol, side, abs(amount), close_id, rules, entry_price)
        return [
            f"{symbol}: stop stuck without a child order; position {amount} closed at market ({close_id})"
        ]

    # --- orphans and emergencies ------------------------------------------------------

    def cancel_orphans(self, view: OmsView) -> list[str]:
        """Cancel our SL/TP algo orders of symbols whose position is flat (no orphans).

        Confirmed against the exchange's position first: a view that has not yet seen
        an entry fill must not cost the new position its stop. Another bot's orders
        (another tag) are never touched.
        """
        by_symbol: dict[str, list[str]] = {}
        for client_algo_id, algo in view.open_algo_orders.items():
            parsed = parse_client_id(client_algo_id, tag=self._tag)
            if parsed is not None and parsed.leg in EXIT_LEGS and algo.symbol not in view.positions:
                by_symbol.setdefault(algo.symbol, []).append(client_algo_id)
        cancelled: list[str] = []
        for symbol, ids in sorted(by_symbol.items()):
            try:
                amount, _ = self._desk.exchange_position(symbol)
                if amount != 0:
                    continue
                for client_algo_id in ids:
                    reason = f"{symbol} is flat: cancelling leftover exit {client_algo_id}"
                    self._desk.decision("cancel_orphan", symbol, client_algo_id, reason)
                    self._client.cancel_algo_order(client_algo_id)
                    cancelled.append(client_algo_id)
            except ExchangeError as error:
                self._desk.decision("cancel_orphan_failed", symbol, ",".join(ids), str(error))
        return cancelled

    def emergency_stop(self, symbols: Iterable[str], flatten: bool) -> list[str]:
        """Cancel every regular and algo order; with ``flatten`` close every position
        reduce-only at market. Keeps going past a failing symbol and reports it."""
        symbols = list(symbols)
        report: list[str] = []
        self._desk.decision("emergency_stop", ",".join(symbols), "", f"flatten={flatten}")
        for symbol in symbols:
            try:
                self._client.cancel_all(symbol)
                self._desk.decision("cancel_all", symbol, "", "emergency stop")
                report.append(f"{symbol}: all orders and algo orders cancelled")
            except ExchangeError as error:
                report.append(f"{symbol}: cancel failed: {error}")
                self._desk.alarm(
                    "emergency_cancel_failed", symbol, "", f"emergency cancel failed: {error}"
                )
        if not flatten:
            return report
        intent = Intent(self._now_ms(), Source.EMERGENCY)
        positions = {p.symbol: p for p in self._client.position_risk() if p.amount != 0}
        for symbol in symbols:
            if symbol not in positions:
                continue
            amount = positions[symbol].amount
            close_id = make_client_id(symbol, intent, Leg.CLOSE, tag=self._tag)
            side = Side.closing(amount)
            reference = positions[symbol].entry_price or None
            try:
                self._desk.close_at_market(
                    symbol, side, abs(amount), close_id, self._desk.rules(symbol), reference
                )
                report.append(f"{symbol}: position {amount} closed at market ({close_id})")
            except ExchangeError as error:
                report.append(f"{symbol}: close of {amount} failed: {error}")
                self._desk.alarm(
                    "emergency_close_failed", symbol, close_id, f"emergency close failed: {error}"
                )
        return report

    # --- reads ------------------------------------------------------------------------

    def _absent(self, client_algo_id: str) -> bool:
        try:
            return self._client.query_algo_order(client_algo_id) is None
        except ExchangeError:
            return False

    def _now_ms(self) -> int:
        return int(self._desk.clock().timestamp() * 1000)


def _covering(algo: AlgoOrder | AlgoOrderState) -> _Algo:
    """The view's and the exchange's algo orders, as far as coverage is concerned."""
    return _Algo(algo.symbol, algo.side, algo.order_type, algo.qty, algo.close_position)


def _has(algos: Iterable[_Algo], symbol: str, side: str, types: frozenset[str]) -> bool:
    return any(a.symbol == symbol and a.side == side and a.order_type in types for a in algos)


def _uncovered(algos: Iterable[_Algo], symbol: str, amount: Decimal) -> Decimal:
    """How much of the position no open stop covers (any id: a manual stop counts)."""
    side = Side.closing(amount)
    stops = [
        a for a in algos if a.symbol == symbol and a.side == side and a.order_type in STOP_TYPES
    ]
    if any(a.close_position for a in stops):
        return Decimal(0)
    return max(Decimal(0), abs(amount) - sum((a.qty for a in stops), Decimal(0)))


def stop_shortfall(
    algos: Iterable[AlgoOrder | AlgoOrderState], symbol: str, amount: Decimal
) -> Decimal:
    """How much of a position these open algo orders leave without a stop (0: covered):
    the guard's invariant, for readers that only report it (``main.py status``)."""
    return _uncovered([_covering(a) for a in algos], symbol, amount)
