"""PositionGuard: keeps every open position protected and every flat symbol clean.

The OMS view may lag the exchange by a few events, so anything destructive or
protective (re-placing a stop, cancelling "orphans") is confirmed with a REST
read first: the exchange is the truth. Every order goes through the same
OrderDesk as entries (risk check, fsynced audit, then the request).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from bot.client_ids import Leg, make_client_id, parse_client_id
from bot.exchange.errors import ExchangeError
from bot.exchange.orders import stop_loss_params
from bot.exchange.rules import SymbolRules
from bot.execution.desk import OrderDesk

EXIT_LEGS = frozenset({Leg.STOP_LOSS, Leg.TAKE_PROFIT})


class PositionGuard:
    def __init__(self, desk: OrderDesk) -> None:
        self._desk = desk
        self._client = desk.client

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
                self._desk.alarm(symbol, "", reason)
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
        settings = self._desk.settings
        rules = self._desk.rules(symbol)
        trigger = _planned_stop(view, symbol, side) or _fallback_stop(
            amount, entry_price, settings.fallback_stop_pct, rules
        )
        now_ms = int(self._desk.clock().timestamp() * 1000)
        stop_id = make_client_id(symbol, now_ms, Leg.STOP_LOSS, prefix=settings.prefix)
        self._desk.alarm(
            symbol,
            stop_id,
            f"{symbol} position {amount} has no live stop loss; re-placing it at {trigger}",
        )
        exits = settings.exits
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
        outcome = self._desk.place_exit(
            Leg.STOP_LOSS, params, qty, self._client.mark_price(symbol), rules, now_ms
        )
        if outcome is None:
            return [f"{symbol}: stop loss re-placed at {trigger} ({stop_id})"]
        return [f"{symbol}: {outcome[1]}"]

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
                self._desk.alarm(symbol, "", f"emergency cancel failed: {error}")
        if not flatten:
            return report
        now_ms = int(self._desk.clock().timestamp() * 1000)
        positions = {row["symbol"]: row for row in self._client.position_risk()}
        for symbol in symbols:
            amount = Decimal(str(positions.get(symbol, {}).get("positionAmt", "0")))
            if amount == 0:
                continue
            close_id = make_client_id(symbol, now_ms, Leg.CLOSE, prefix=self._desk.settings.prefix)
            side = "SELL" if amount > 0 else "BUY"
            try:
                self._desk.close_at_market(
                    symbol, side, abs(amount), close_id, self._desk.rules(symbol)
                )
                report.append(f"{symbol}: position {amount} closed at market ({close_id})")
            except ExchangeError as error:
                report.append(f"{symbol}: close of {amount} failed: {error}")
                self._desk.alarm(symbol, close_id, f"emergency close failed: {error}")
        return report

    def _exchange_position(self, symbol: str) -> tuple[Decimal, Decimal]:
        for row in self._client.position_risk():
            if row.get("symbol") == symbol:
                return Decimal(str(row["positionAmt"])), Decimal(str(row.get("entryPrice", "0")))
        return Decimal(0), Decimal(0)


def _planned_stop(view: Any, symbol: str, side: str) -> Decimal | None:
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
