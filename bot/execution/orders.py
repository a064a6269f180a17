"""OrderManager: signal → sized, risk-checked bracket; keeps every position protected.

Client ids come from symbol + candle open time + leg, and the entry is skipped
when the OMS or the exchange already knows its id, so the same signal never
produces two entries, whether retried, re-run by cron, or run by two processes.
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
from typing import Any

from bot.client_ids import Leg, make_client_id
from bot.exchange.errors import ExchangeError
from bot.exchange.rules import SymbolRules
from bot.execution.bracket import ENTRY_SIDE, plan_bracket, plan_exits
from bot.execution.desk import Audit, OrderDesk, OrderSettings
from bot.execution.protection import PositionGuard
from bot.execution.sizing import Refusal, size_entry
from bot.risk.guard import OrderIntent, Refused, RiskGuard, RiskState
from bot.strategy.base import Signal

log = logging.getLogger(__name__)

FINAL_ORDER_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})


@dataclass(frozen=True)
class BracketResult:
    """Outcome of ``open_bracket``. ``status`` is one of: opened, refused, duplicate,
    not_filled, closed (an exit would have triggered at once, position flattened),
    unprotected (entry filled but an exit could not be placed: alarm raised), error."""

    status: str
    reason: str
    symbol: str
    entry_client_id: str
    filled_qty: Decimal = Decimal(0)
    entry_price: Decimal | None = None
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None

    @property
    def refused(self) -> bool:
        return self.status == "refused"


class OrderManager:
    def __init__(
        self,
        client: Any,
        guard: RiskGuard,
        audit: Audit,
        view_provider: Callable[[], Any],
        rules_provider: Callable[[str], SymbolRules],
        settings: OrderSettings,
        *,
        kill_switch: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``client`` is an ExchangeClient or a PaperExecutor (same order methods);
        ``view_provider`` returns the OMS's current read-only view."""
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
        self._positions = PositionGuard(self._desk)
        self._client = client
        self._guard = guard
        self._view = view_provider
        self._rules = rules_provider
        self.settings = settings
        self._sleep = sleep

    # --- entries ----------------------------------------------------------------------

    def open_bracket(self, signal: Signal) -> BracketResult:
        """Size, check, send the entry, and on its fill place SL and TP for the filled qty."""
        symbol, prefix = signal.symbol, self.settings.prefix
        entry_id = make_client_id(symbol, signal.candle_open_ms, Leg.ENTRY, prefix=prefix)
        result = self._entry_precheck(signal, entry_id)
        if result is not None:
            return result
        view = self._view()
        rules = self._rules(symbol)
        mark = self._client.mark_price(symbol)
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
        intent = OrderIntent(
            symbol, ENTRY_SIDE[signal.side], qty, None, mark, leg=Leg.ENTRY, client_id=entry_id
        )
        decision = self._guard.check(intent, self.risk_state(view, symbol), rules)
        if isinstance(decision, Refused):
            return self._refuse(signal, entry_id, decision.reason)
        exits = self.settings.exits
        bracket = plan_bracket(
            signal,
            qty,
            mark,
            rules,
            working_type=exits.working_type,
            tp_order_style=exits.tp_order_style,
            price_protect=exits.price_protect,
            use_close_position=exits.use_close_position,
            prefix=prefix,
        )
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
        )
        try:
            order = self._desk.send(Leg.ENTRY, bracket.entry, algo=False)
            order = self._await_fill(symbol, entry_id, order)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"entry failed: {error}")
        filled = Decimal(str(order.get("executedQty", "0")))
        if filled <= 0:
            reason = f"entry {entry_id} ended {order.get('status')} without a fill"
            self._desk.decision("entry_not_filled", symbol, entry_id, reason)
            return BracketResult("not_filled", reason, symbol, entry_id)
        fill_price = _average_price(order) or mark
        return self._protect_new_position(signal, entry_id, filled, fill_price, rules)

    def _entry_precheck(self, signal: Signal, entry_id: str) -> BracketResult | None:
        """Skip a signal whose entry already exists, or whose symbol already has a position."""
        symbol, view = signal.symbol, self._view()
        if view.order(entry_id) is not None:
            return self._skip(symbol, entry_id, f"entry {entry_id} is already in the OMS")
        if symbol in view.positions:
            amount = view.positions[symbol].amount
            return self._skip(
                symbol, entry_id, f"{symbol} already has a position ({amount}); one at a time"
            )
        try:
            existing = self._client.query_order(symbol, entry_id)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"cannot check for an existing entry: {error}")
        if existing is not None:
            return self._skip(
                symbol,
                entry_id,
                f"entry {entry_id} already exists on the exchange ({existing.get('status')})",
            )
        return None

    def _protect_new_position(
        self, signal: Signal, entry_id: str, filled: Decimal, fill_price: Decimal, rules
    ) -> BracketResult:
        symbol = signal.symbol
        exits = plan_exits(
            signal, filled, fill_price, rules, self.settings.exits, prefix=self.settings.prefix
        )
        done = dict(
            symbol=symbol,
            entry_client_id=entry_id,
            filled_qty=filled,
            entry_price=fill_price,
            stop_price=exits.stop_price,
            take_profit_price=exits.take_profit_price,
        )
        mark = fill_price
        for leg, params in ((Leg.STOP_LOSS, exits.stop_loss), (Leg.TAKE_PROFIT, exits.take_profit)):
            outcome = self._desk.place_exit(leg, params, filled, mark, rules, signal.candle_open_ms)
            if outcome is not None:
                return BracketResult(outcome[0], outcome[1], **done)
        reason = (
            f"{signal.side} {filled} {symbol} @ {fill_price}, "
            f"SL {exits.stop_price}, TP {exits.take_profit_price}"
        )
        log.info("%s bracket opened: %s (%s)", symbol, reason, signal.reason)
        return BracketResult("opened", reason, **done)

    # --- protection (PositionGuard) ---------------------------------------------------

    def protect_positions(self, view: Any) -> list[str]:
        return self._positions.protect_positions(view)

    def cancel_orphans(self, view: Any) -> list[str]:
        return self._positions.cancel_orphans(view)

    def emergency_stop(self, symbols: Iterable[str], flatten: bool) -> list[str]:
        return self._positions.emergency_stop(symbols, flatten)

    # --- helpers ------------------------------------------------------------------------

    def risk_state(self, view: Any, symbol: str) -> RiskState:
        return self._desk.risk_state(view, symbol)

    def _balance(self, view: Any) -> Decimal:
        wallet = view.usdc_wallet
        if wallet is not None:
            return wallet
        return Decimal(str(self._client.usdc_balance().get("walletBalance", "0")))

    def _await_fill(self, symbol: str, client_id: str, order: dict) -> dict:
        """Bounded wait for a final status; cancel what is left after the wait so the
        exits cover exactly the filled quantity."""
        for _ in range(self.settings.fill_polls):
            if order.get("status") in FINAL_ORDER_STATUSES:
                return order
            self._sleep(self.settings.fill_poll_interval_s)
            order = self._client.query_order(symbol, client_id) or order
        if order.get("status") in FINAL_ORDER_STATUSES:
            return order
        self._desk.decision(
            "entry_remainder_cancelled", symbol, client_id, "entry not final after the wait"
        )
        self._client.cancel_order(symbol, client_id)
        return self._client.query_order(symbol, client_id) or order

    def _refuse(self, signal: Signal, client_id: str, reason: str) -> BracketResult:
        self._desk.decision("entry_refused", signal.symbol, client_id, reason, signal=signal.reason)
        log.warning("%s entry refused: %s", signal.symbol, reason)
        return BracketResult("refused", reason, signal.symbol, client_id)

    def _skip(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._desk.decision("entry_skipped", symbol, client_id, reason)
        log.info("%s entry skipped: %s", symbol, reason)
        return BracketResult("duplicate", reason, symbol, client_id)

    def _failed(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._desk.decision("entry_failed", symbol, client_id, reason)
        log.error("%s %s", symbol, reason)
        return BracketResult("error", reason, symbol, client_id)


def _average_price(order: dict) -> Decimal | None:
    """Fill price from an order answer: avgPrice, else cumQuote / executedQty."""
    avg = Decimal(str(order.get("avgPrice") or "0"))
    if avg > 0:
        return avg
    filled = Decimal(str(order.get("executedQty") or "0"))
    quote = Decimal(str(order.get("cumQuote") or "0"))
    return quote / filled if filled > 0 and quote > 0 else None
