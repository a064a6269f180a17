"""OrderManager: signal → sized, risk-checked bracket; keeps every position protected.

Order of every send: RiskGuard decides, the audit journal records the intent
(fsynced), then the request leaves. A refusal is audited and nothing is sent.
Client ids come from symbol + candle open time + leg, and the entry is skipped
when the OMS or the exchange already knows its id, so the same signal never
produces two entries, whether retried, re-run by cron, or run by two processes.

The OMS view may lag the exchange by a few events, so anything destructive or
protective (re-placing a stop, cancelling "orphans") is confirmed with a REST
read first: the exchange is the truth.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, Protocol

from bot.client_ids import LIVE_PREFIX, Leg, make_client_id, parse_client_id
from bot.exchange.errors import ExchangeError, Rejected
from bot.exchange.orders import market_order_params, stop_loss_params
from bot.exchange.rules import SymbolRules
from bot.execution.bracket import ENTRY_SIDE, ExitSettings, plan_bracket, plan_exits
from bot.execution.sizing import Refusal, size_entry
from bot.risk.guard import OrderIntent, Refused, RiskGuard, RiskState
from bot.strategy.base import Signal

log = logging.getLogger(__name__)

WOULD_IMMEDIATELY_TRIGGER = -2021  # the market already passed the trigger price
FINAL_ORDER_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "EXPIRED_IN_MATCH"})
EXIT_LEGS = frozenset({Leg.STOP_LOSS, Leg.TAKE_PROFIT})


class Audit(Protocol):
    def append(self, kind: str, data: dict, *, sync: bool = False) -> dict: ...


@dataclass(frozen=True)
class OrderSettings:
    """What the lead maps from config (``risk:`` and ``execution:`` sections)."""

    risk_pct: Decimal  # percent of the USDC wallet lost at the stop (1 = 1 %)
    max_notional: Decimal  # sizing cap per entry, USDC
    leverage: int
    exits: ExitSettings = field(default_factory=ExitSettings)
    prefix: str = LIVE_PREFIX
    fill_polls: int = 20  # bounded wait for an entry fill: polls x poll interval
    fill_poll_interval_s: float = 0.25
    # When a stop must be re-placed and the planned price is unknown (no SL of ours
    # was ever seen for the position): this far from the entry, in percent.
    fallback_stop_pct: Decimal = Decimal("2")


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
        self._client = client
        self._guard = guard
        self._audit = audit
        self._view = view_provider
        self._rules = rules_provider
        self.settings = settings
        self._kill_switch = kill_switch
        self._clock = clock
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
        self._decision(
            "entry_allowed",
            symbol,
            entry_id,
            decision.reason,
            sync=False,
            signal=signal.reason,
            qty=qty,
        )
        try:
            order = self._send(Leg.ENTRY, bracket.entry, algo=False)
            order = self._await_fill(symbol, entry_id, order)
        except ExchangeError as error:
            return self._failed(symbol, entry_id, f"entry failed: {error}")
        filled = Decimal(str(order.get("executedQty", "0")))
        if filled <= 0:
            reason = f"entry {entry_id} ended {order.get('status')} without a fill"
            self._decision("entry_not_filled", symbol, entry_id, reason)
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
            outcome = self._place_exit(leg, params, filled, mark, rules, signal.candle_open_ms)
            if outcome is not None:
                return BracketResult(outcome[0], outcome[1], **done)
        reason = (
            f"{signal.side} {filled} {symbol} @ {fill_price}, "
            f"SL {exits.stop_price}, TP {exits.take_profit_price}"
        )
        log.info("%s bracket opened: %s (%s)", symbol, reason, signal.reason)
        return BracketResult("opened", reason, **done)

    def _place_exit(
        self,
        leg: Leg,
        params: dict,
        qty: Decimal,
        mark: Decimal,
        rules: SymbolRules,
        candle_open_ms: int,
    ) -> tuple[str, str] | None:
        """Place one exit; None on success, else (status, reason) after handling it."""
        symbol = params["symbol"]
        intent = _exit_intent(params, mark, leg)
        decision = self._guard.check(intent, self.risk_state(self._view(), symbol), rules)
        if isinstance(decision, Refused):
            reason = f"{leg.name} refused: {decision.reason}"
            self._alarm(symbol, params["clientAlgoId"], reason)
            return "unprotected", reason
        try:
            self._send(leg, params, algo=True)
        except Rejected as error:
            if error.code != WOULD_IMMEDIATELY_TRIGGER:
                reason = f"{leg.name} rejected: {error.code} {error.message}"
                self._alarm(symbol, params["clientAlgoId"], reason)
                return "unprotected", reason
            reason = (
                f"{leg.name} at {params['triggerPrice']} would trigger immediately (-2021): "
                "the market already passed it; closing the position at market"
            )
            self._decision("close_at_market", symbol, params["clientAlgoId"], reason)
            close_id = make_client_id(
                symbol, candle_open_ms, Leg.CLOSE, prefix=self.settings.prefix
            )
            self._close_at_market(symbol, params["side"], qty, close_id, rules)
            return "closed", reason
        except ExchangeError as error:
            reason = f"{leg.name} could not be placed: {error}"
            self._alarm(symbol, params["clientAlgoId"], reason)
            return "unprotected", reason
        return None

    # --- protection -------------------------------------------------------------------

    def protect_positions(self, view: Any) -> list[str]:
        """Re-place a missing stop loss for every open position; returns what was done.

        A position without a live SL is an alarm. The exchange is asked before acting
        (the view may not have seen a just-placed SL or a just-closed position).
        """
        actions: list[str] = []
        for symbol, position in view.positions.items():
            if _live_stops(view.open_algo_orders.values(), symbol, position.amount):
                continue
            try:
                actions.extend(self._repair_stop(view, symbol))
            except ExchangeError as error:
                reason = f"{symbol}: could not repair the missing stop loss: {error}"
                self._alarm(symbol, "", reason)
                actions.append(reason)
        return actions

    def _repair_stop(self, view: Any, symbol: str) -> list[str]:
        amount, entry_price = self._exchange_position(symbol)
        if amount == 0:
            return []
        live = [_algo_from_rest(row) for row in self._client.open_algo_orders(symbol)]
        if _live_stops(live, symbol, amount):
            return []
        side = "SELL" if amount > 0 else "BUY"
        rules = self._rules(symbol)
        trigger = self._planned_stop(view, symbol, side) or _fallback_stop(
            amount, entry_price, self.settings.fallback_stop_pct, rules
        )
        now_ms = int(self._clock().timestamp() * 1000)
        stop_id = make_client_id(symbol, now_ms, Leg.STOP_LOSS, prefix=self.settings.prefix)
        self._alarm(
            symbol,
            stop_id,
            f"{symbol} position {amount} has no live stop loss; re-placing it at {trigger}",
        )
        exits = self.settings.exits
        qty = abs(amount)
        params = stop_loss_params(
            symbol,
            side,
            trigger,
            stop_id,
            qty=None if exits.use_close_position else qty,
            close_position=exits.use_close_position,
            working_type=exits.working_type,
            price_protect=exits.price_protect,
        )
        outcome = self._place_exit(
            Leg.STOP_LOSS, params, qty, self._client.mark_price(symbol), rules, now_ms
        )
        if outcome is None:
            return [f"{symbol}: stop loss re-placed at {trigger} ({stop_id})"]
        return [f"{symbol}: {outcome[1]}"]

    def _planned_stop(self, view: Any, symbol: str, side: str) -> Decimal | None:
        """Trigger of the newest SL of ours the OMS saw for this symbol and side."""
        ours = [
            algo
            for algo in view.algo_orders.values()
            if algo.symbol == symbol
            and algo.side == side
            and (parsed := parse_client_id(algo.client_algo_id)) is not None
            and parsed.leg is Leg.STOP_LOSS
        ]
        newest = max(ours, key=lambda a: a.updated_ms, default=None)
        return newest.trigger_price if newest and newest.trigger_price > 0 else None

    def cancel_orphans(self, view: Any) -> list[str]:
        """Cancel our SL/TP algo orders of symbols whose position is flat (no orphans).

        Confirmed against the exchange's position first: a view that has not yet seen
        an entry fill must not cost the new position its stop.
        """
        by_symbol: dict[str, list[str]] = {}
        for client_algo_id, algo in view.open_algo_orders.items():
            parsed = parse_client_id(client_algo_id)
            if parsed is not None and parsed.leg in EXIT_LEGS and algo.symbol not in view.positions:
                by_symbol.setdefault(algo.symbol, []).append(client_algo_id)
        cancelled: list[str] = []
        for symbol, ids in sorted(by_symbol.items()):
            try:
                amount, _ = self._exchange_position(symbol)
                if amount != 0:
                    continue
                for client_algo_id in ids:
                    reason = f"{symbol} is flat: cancelling leftover exit {client_algo_id}"
                    self._decision("cancel_orphan", symbol, client_algo_id, reason)
                    self._client.cancel_algo_order(client_algo_id)
                    cancelled.append(client_algo_id)
            except ExchangeError as error:
                self._decision("cancel_orphan_failed", symbol, ",".join(ids), str(error))
        return cancelled

    # --- emergency ----------------------------------------------------------------------

    def emergency_stop(self, symbols: Iterable[str], flatten: bool) -> list[str]:
        """Cancel every regular and algo order; with ``flatten`` close every position
        reduce-only at market. Keeps going past a failing symbol and reports it."""
        symbols = list(symbols)
        report: list[str] = []
        self._decision("emergency_stop", ",".join(symbols), "", f"flatten={flatten}")
        for symbol in symbols:
            try:
                self._client.cancel_all(symbol)
                self._decision("cancel_all", symbol, "", "emergency stop")
                report.append(f"{symbol}: all orders and algo orders cancelled")
            except ExchangeError as error:
                report.append(f"{symbol}: cancel failed: {error}")
                self._alarm(symbol, "", f"emergency cancel failed: {error}")
        if not flatten:
            return report
        now_ms = int(self._clock().timestamp() * 1000)
        positions = {row["symbol"]: row for row in self._client.position_risk()}
        for symbol in symbols:
            amount = Decimal(str(positions.get(symbol, {}).get("positionAmt", "0")))
            if amount == 0:
                continue
            close_id = make_client_id(symbol, now_ms, Leg.CLOSE, prefix=self.settings.prefix)
            side = "SELL" if amount > 0 else "BUY"
            try:
                self._close_at_market(symbol, side, abs(amount), close_id, self._rules(symbol))
                report.append(f"{symbol}: position {amount} closed at market ({close_id})")
            except ExchangeError as error:
                report.append(f"{symbol}: close of {amount} failed: {error}")
                self._alarm(symbol, close_id, f"emergency close failed: {error}")
        return report

    # --- helpers ------------------------------------------------------------------------

    def risk_state(self, view: Any, symbol: str) -> RiskState:
        now = self._clock()
        return RiskState(
            kill_switch=self._kill_switch(),
            day_pnl=view.day_pnl(now.date()),
            sl_streak=view.sl_streak,
            last_sl_exit_at=view.last_sl_exit_at,
            open_positions={s: abs(p.amount) * p.entry_price for s, p in view.positions.items()},
            now=now,
            leverage=view.leverage.get(symbol, self.settings.leverage),
        )

    def _balance(self, view: Any) -> Decimal:
        wallet = view.usdc_wallet
        if wallet is not None:
            return wallet
        return Decimal(str(self._client.usdc_balance().get("walletBalance", "0")))

    def _exchange_position(self, symbol: str) -> tuple[Decimal, Decimal]:
        for row in self._client.position_risk():
            if row.get("symbol") == symbol:
                return Decimal(str(row["positionAmt"])), Decimal(str(row.get("entryPrice", "0")))
        return Decimal(0), Decimal(0)

    def _send(self, leg: Leg, params: Mapping[str, str], *, algo: bool) -> dict:
        """Audit (fsynced) the exact request, send it, audit the answer."""
        client_id = params.get("clientAlgoId") or params.get("newClientOrderId")
        self._audit.append(
            "order_send",
            {"leg": leg.name, "client_id": client_id, "algo": algo, "params": dict(params)},
            sync=True,
        )
        try:
            send = self._client.place_algo_order if algo else self._client.place_order
            response = send(dict(params))
        except ExchangeError as error:
            self._audit.append(
                "order_error",
                {"leg": leg.name, "client_id": client_id, "error": str(error)},
                sync=True,
            )
            log.warning("%s %s %s: %s", params.get("symbol"), leg.name, client_id, error)
            raise
        status = response.get("algoStatus") or response.get("status")
        self._audit.append(
            "order_accepted", {"leg": leg.name, "client_id": client_id, "status": status}
        )
        log.info("%s %s %s sent: %s", params.get("symbol"), leg.name, client_id, status)
        return response

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
        self._decision(
            "entry_remainder_cancelled", symbol, client_id, "entry not final after the wait"
        )
        self._client.cancel_order(symbol, client_id)
        return self._client.query_order(symbol, client_id) or order

    def _close_at_market(
        self, symbol: str, side: str, qty: Decimal, client_id: str, rules: SymbolRules
    ) -> dict:
        qty = rules.round_qty(qty, market=True)
        params = market_order_params(symbol, side, qty, client_id, reduce_only=True)
        mark = self._client.mark_price(symbol)
        intent = OrderIntent(
            symbol, side, qty, None, mark, reduce_only=True, leg=Leg.CLOSE, client_id=client_id
        )
        decision = self._guard.check(intent, self.risk_state(self._view(), symbol), rules)
        if isinstance(decision, Refused):  # only precision can refuse an exit
            raise Rejected(0, f"close refused locally: {decision.reason}")
        return self._send(Leg.CLOSE, params, algo=False)

    def _refuse(self, signal: Signal, client_id: str, reason: str) -> BracketResult:
        self._decision("entry_refused", signal.symbol, client_id, reason, signal=signal.reason)
        log.warning("%s entry refused: %s", signal.symbol, reason)
        return BracketResult("refused", reason, signal.symbol, client_id)

    def _skip(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._decision("entry_skipped", symbol, client_id, reason)
        log.info("%s entry skipped: %s", symbol, reason)
        return BracketResult("duplicate", reason, symbol, client_id)

    def _failed(self, symbol: str, client_id: str, reason: str) -> BracketResult:
        self._decision("entry_failed", symbol, client_id, reason)
        log.error("%s %s", symbol, reason)
        return BracketResult("error", reason, symbol, client_id)

    def _decision(
        self, action: str, symbol: str, client_id: str, reason: str, *, sync: bool = True, **extra
    ) -> None:
        data = {"action": action, "symbol": symbol, "client_id": client_id, "reason": reason}
        self._audit.append("decision", {**data, **extra}, sync=sync)

    def _alarm(self, symbol: str, client_id: str, reason: str) -> None:
        log.error("ALARM %s %s: %s", symbol, client_id, reason)
        self._audit.append(
            "alarm", {"symbol": symbol, "client_id": client_id, "reason": reason}, sync=True
        )


def _average_price(order: dict) -> Decimal | None:
    """Fill price from an order answer: avgPrice, else cumQuote / executedQty."""
    avg = Decimal(str(order.get("avgPrice") or "0"))
    if avg > 0:
        return avg
    filled = Decimal(str(order.get("executedQty") or "0"))
    quote = Decimal(str(order.get("cumQuote") or "0"))
    return quote / filled if filled > 0 and quote > 0 else None


def _exit_intent(params: Mapping[str, str], mark: Decimal, leg: Leg) -> OrderIntent:
    close = params.get("closePosition") == "true"
    return OrderIntent(
        symbol=params["symbol"],
        side=params["side"],  # type: ignore[arg-type]
        qty=None if close else Decimal(params["quantity"]),
        price=Decimal(params["price"]) if "price" in params else None,
        mark_price=mark,
        reduce_only=params.get("reduceOnly") == "true",
        close_position=close,
        leg=leg,
        client_id=params["clientAlgoId"],
        trigger_price=Decimal(params["triggerPrice"]),
    )


@dataclass(frozen=True)
class _Algo:
    symbol: str
    side: str
    order_type: str
    qty: Decimal
    close_position: bool


def _algo_from_rest(row: Mapping[str, Any]) -> _Algo:
    return _Algo(
        symbol=row.get("symbol", ""),
        side=row.get("side", ""),
        order_type=row.get("orderType") or row.get("type", ""),
        qty=Decimal(str(row.get("quantity") or "0")),
        close_position=row.get("closePosition") in (True, "true"),
    )


def _live_stops(algos: Iterable[Any], symbol: str, amount: Decimal) -> list[Any]:
    """Open stop-market exits (any id, also manual ones) on the closing side of a position."""
    side = "SELL" if amount > 0 else "BUY"
    return [
        a
        for a in algos
        if a.symbol == symbol and a.side == side and a.order_type in ("STOP_MARKET", "STOP")
    ]


def _fallback_stop(
    amount: Decimal, entry_price: Decimal, pct: Decimal, rules: SymbolRules
) -> Decimal:
    distance = entry_price * pct / Decimal(100)
    if amount > 0:
        return rules.round_price(entry_price - distance, rounding=ROUND_DOWN)
    return rules.round_price(entry_price + distance, rounding=ROUND_UP)
