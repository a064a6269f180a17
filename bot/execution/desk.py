"""OrderDesk: the one way an order leaves the bot, shared by entries and protection.

Order of every send: RiskGuard decides, the audit journal records the intent
(fsynced), then the request leaves. A refusal is audited and nothing is sent.
The OrderManager (entries) and the PositionGuard (stops, orphans, emergency)
hold the same desk, so both follow that order and write the same records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, overload

from bot.alarms import raise_alarm
from bot.client_ids import DEFAULT_TAG, Intent, Leg, make_client_id
from bot.domain.enums import BracketOutcome, Side
from bot.domain.records import (
    AlgoOrder,
    AlgoOrderRequest,
    Balance,
    Order,
    OrderRequest,
    Position,
)
from bot.domain.rules import SymbolRules
from bot.exchange.errors import ExchangeError, Rejected
from bot.exchange.orders import algo_params, market_order, order_params
from bot.execution.bracket import ExitSettings
from bot.oms.state import OmsView
from bot.risk.guard import OrderIntent, Refused, RiskGuard, RiskState

log = logging.getLogger(__name__)

WOULD_IMMEDIATELY_TRIGGER = -2021  # the market already passed the trigger price


class Audit(Protocol):
    def append(self, kind: str, data: dict[str, object], *, sync: bool = False) -> object: ...


class OrderClient(Protocol):
    """The exchange calls behind orders and protection: ``ExchangeClient``'s, and the
    dry-run ``PaperExecutor``'s (same signatures)."""

    def mark_price(self, symbol: str, /) -> Decimal: ...
    def last_price(self, symbol: str, /) -> Decimal: ...
    def usdc_balance(self) -> Balance: ...
    def position_risk(self) -> list[Position]: ...
    def open_algo_orders(self, symbol: str | None = None, /) -> list[AlgoOrder]: ...
    def place_order(self, order: OrderRequest, /) -> Order: ...
    def place_algo_order(self, order: AlgoOrderRequest, /) -> AlgoOrder: ...
    def query_order(self, symbol: str, client_id: str, /) -> Order | None: ...
    def query_order_by_id(self, symbol: str, order_id: int, /) -> Order | None: ...
    def query_algo_order(self, client_algo_id: str, /) -> AlgoOrder | None: ...
    def cancel_order(self, symbol: str, client_id: str, /) -> Order | None: ...
    def cancel_algo_order(self, client_algo_id: str, /) -> bool: ...
    def cancel_all(self, symbol: str, /) -> None: ...


@dataclass(frozen=True)
class OrderSettings:
    """What the lead maps from config (``risk:`` and ``execution:`` sections)."""

    risk_pct: Decimal  # percent of the USDC wallet lost at the stop (1 = 1 %)
    max_notional: Decimal  # sizing cap per entry, USDC
    leverage: int
    exits: ExitSettings = field(default_factory=ExitSettings)
    tag: str = DEFAULT_TAG  # names this bot in its client ids
    fill_polls: int = 20  # bounded wait for an entry fill: polls x poll interval
    fill_poll_interval_s: float = 0.25
    # A stop for a position the bot never planned (opened by hand, adopted): this far
    # from its entry, in percent. Planned positions get their planned stop.
    adopted_stop_pct: Decimal = Decimal("2")
    # A stop reported TRIGGERING/TRIGGERED without a child order for this long is stuck
    # (seen on Binance in Oct 2026): the position is treated as naked.
    stuck_trigger_s: float = 10.0


class OrderDesk:
    def __init__(
        self,
        client: OrderClient,
        guard: RiskGuard,
        audit: Audit,
        view_provider: Callable[[], OmsView],
        rules_provider: Callable[[str], SymbolRules],
        settings: OrderSettings,
        *,
        kill_switch: Callable[[], bool],
        clock: Callable[[], datetime],
    ) -> None:
        """``client`` is the ExchangeClient (in dry-run, on the exchange engine);
        ``view_provider`` returns the OMS's current read-only view."""
        self.client = client
        self.guard = guard
        self.view = view_provider
        self.rules = rules_provider
        self.settings = settings
        self.clock = clock
        self._audit = audit
        self._kill_switch = kill_switch

    def risk_state(self, view: OmsView, symbol: str) -> RiskState:
        now = self.clock()
        return RiskState(
            kill_switch=self._kill_switch(),
            day_pnl=view.day_pnl(now.date()),
            sl_streak=view.sl_streak,
            last_sl_exit_at=view.last_sl_exit_at,
            open_positions={s: abs(p.amount) * p.entry_price for s, p in view.positions.items()},
            now=now,
            leverage=view.leverage.get(symbol, self.settings.leverage),
        )

    def place_exit(
        self,
        leg: Leg,
        order: AlgoOrderRequest,
        qty: Decimal,
        mark: Decimal,
        rules: SymbolRules,
        close_intent: Intent,
    ) -> tuple[BracketOutcome, str] | None:
        """Place one exit; None on success, else (status, reason) after handling it.

        An exit the market already passed (-2021) closes the position at market with
        a client id of ``close_intent``: the exit's purpose, done at once."""
        symbol, client_id = order.symbol, order.client_id
        intent = _exit_intent(order, mark, leg)
        decision = self.guard.check(intent, self.risk_state(self.view(), symbol), rules)
        if isinstance(decision, Refused):
            reason = f"{leg.name} refused: {decision.reason}"
            self.alarm(_not_placed(leg), symbol, client_id, reason)
            return BracketOutcome.UNPROTECTED, reason
        try:
            self.send(leg, order)
        except Rejected as error:
            if error.code != WOULD_IMMEDIATELY_TRIGGER:
                reason = f"{leg.name} rejected: {error.code} {error.message}"
                self.alarm(_not_placed(leg), symbol, client_id, reason)
                return BracketOutcome.UNPROTECTED, reason
            reason = (
                f"{leg.name} at {order.trigger_price} would trigger immediately (-2021): "
                "the market already passed it; closing the position at market"
            )
            self.decision("close_at_market", symbol, client_id, reason)
            close_id = make_client_id(symbol, close_intent, Leg.CLOSE, tag=self.settings.tag)
            self.close_at_market(symbol, order.side, qty, close_id, rules, order.trigger_price)
            return BracketOutcome.CLOSED, reason
        except ExchangeError as error:
            reason = f"{leg.name} could not be placed: {error}"
            self.alarm(_not_placed(leg), symbol, client_id, reason)
            return BracketOutcome.UNPROTECTED, reason
        return None

    def close_at_market(
        self,
        symbol: str,
        side: Side,
        qty: Decimal,
        client_id: str,
        rules: SymbolRules,
        reference: Decimal | None = None,
    ) -> Order:
        """Reduce-only MARKET close. ``reference`` prices the risk check when neither
        the mark nor the last price can be read: an exit must not wait on market data."""
        qty = rules.round_qty(qty, market=True)
        order = market_order(symbol, side, qty, client_id, reduce_only=True)
        mark = self.reference_price(symbol, reference)
        intent = OrderIntent(
            symbol, side, qty, None, mark, reduce_only=True, leg=Leg.CLOSE, client_id=client_id
        )
        decision = self.guard.check(intent, self.risk_state(self.view(), symbol), rules)
        if isinstance(decision, Refused):  # only precision can refuse an exit
            raise Rejected(0, f"close refused locally: {decision.reason}")
        return self.send(Leg.CLOSE, order)

    def exchange_position(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(signed amount, entry price) of the symbol's position as the exchange has it
        now; (0, 0) when flat. The OMS view may lag: decisions that would add risk or
        remove protection ask here."""
        for position in self.client.position_risk():
            if position.symbol == symbol and position.amount != 0:
                return position.amount, position.entry_price
        return Decimal(0), Decimal(0)

    def reference_price(self, symbol: str, fallback: Decimal | None) -> Decimal:
        """The mark price, else the last price, else ``fallback``: a repair goes on when
        one market-data read fails (the price only feeds the exit's risk check)."""
        failures: list[ExchangeError] = []
        for read in (self.client.mark_price, self.client.last_price):
            try:
                return read(symbol)
            except ExchangeError as failure:
                failures.append(failure)
                log.warning("%s: price read failed (%s); trying the next source", symbol, failure)
        if fallback is None:
            raise failures[-1]
        return fallback

    @overload
    def send(self, leg: Leg, order: OrderRequest) -> Order: ...
    @overload
    def send(self, leg: Leg, order: AlgoOrderRequest) -> AlgoOrder: ...
    def send(self, leg: Leg, order: OrderRequest | AlgoOrderRequest) -> Order | AlgoOrder:
        """Audit (fsynced) the exact request, send it, audit the answer."""
        client_id, symbol = order.client_id, order.symbol
        algo = isinstance(order, AlgoOrderRequest)
        params = algo_params(order) if isinstance(order, AlgoOrderRequest) else order_params(order)
        self._audit.append(
            "order_send",
            {"leg": leg.name, "client_id": client_id, "algo": algo, "params": params},
            sync=True,
        )
        try:
            response: Order | AlgoOrder
            if isinstance(order, AlgoOrderRequest):
                response = self.client.place_algo_order(order)
            else:
                response = self.client.place_order(order)
        except ExchangeError as error:
            self._audit.append(
                "order_error",
                {"leg": leg.name, "client_id": client_id, "error": str(error)},
                sync=True,
            )
            log.warning("%s %s %s: %s", symbol, leg.name, client_id, error)
            raise
        status = response.status
        self._audit.append(
            "order_accepted", {"leg": leg.name, "client_id": client_id, "status": status}
        )
        log.info("%s %s %s sent: %s", symbol, leg.name, client_id, status)
        return response

    def decision(
        self,
        action: str,
        symbol: str,
        client_id: str,
        reason: str,
        *,
        sync: bool = True,
        **extra: object,
    ) -> None:
        data = {"action": action, "symbol": symbol, "client_id": client_id, "reason": reason}
        self._audit.append("decision", {**data, **extra}, sync=sync)

    def alarm(self, kind: str, symbol: str, client_id: str, reason: str) -> None:
        """An operator must act: see :func:`bot.alarms.raise_alarm` (``kind`` names what)."""
        raise_alarm(self._audit, kind, reason, symbol=symbol, client_id=client_id)


def _not_placed(leg: Leg) -> str:
    """The alarm kind of an exit that could not be placed."""
    return "stop_not_placed" if leg is Leg.STOP_LOSS else "take_profit_not_placed"


def _exit_intent(order: AlgoOrderRequest, mark: Decimal, leg: Leg) -> OrderIntent:
    return OrderIntent(
        symbol=order.symbol,
        side=order.side,
        qty=None if order.close_position else order.qty,
        price=order.price,
        mark_price=mark,
        reduce_only=order.reduce_only,
        close_position=order.close_position,
        leg=leg,
        client_id=order.client_id,
        trigger_price=order.trigger_price,
    )
