"""Typed, immutable events: what reaches the OMS, over one queue.

Everything that changes trading state arrives as one of these: websocket messages
as :class:`RawMessage`, decoded into
the typed events below at the exchange boundary
(:func:`bot.exchange.user_data.parse_user_data`); REST snapshots as
:class:`Snapshot`, built from the exchange's typed records. Every amount is a
Decimal; statuses, sides and types are domain enums. No Binance field name here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.enums import (
    FILL_EXECUTION_TYPES,
    AlgoStatus,
    ExecutionType,
    IncomeType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
)
from bot.domain.records import AlgoOrder, Balance, Income, Order, Position
from bot.oms.state import AlgoOrderState, BalanceState, OrderState, PositionState

LIQUIDATION_PREFIX = "autoclose-"
ADL_PREFIX = "adl_autoclose"


class MalformedPayload(ValueError):
    """A payload that cannot be parsed; the consumer logs, audits and counts it."""

    def __init__(self, reason: str, payload: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.payload = payload


@dataclass(frozen=True)
class RawMessage:
    """One websocket text frame, exactly as received, with the local receive time."""

    payload: str
    received_at_ms: int


@dataclass(frozen=True)
class OrderTradeUpdate:
    event_time_ms: int
    transaction_time_ms: int
    received_at_ms: int
    symbol: str
    client_order_id: str
    order_id: int
    side: Side
    order_type: OrderType
    original_type: OrderType
    execution_type: ExecutionType
    status: OrderStatus
    orig_qty: Decimal
    price: Decimal
    avg_price: Decimal
    stop_price: Decimal
    filled_qty: Decimal
    last_qty: Decimal
    last_price: Decimal
    commission_asset: str
    commission: Decimal
    realised_pnl: Decimal
    trade_id: int
    trade_time_ms: int
    is_maker: bool
    reduce_only: bool
    close_position: bool
    position_side: PositionSide

    @property
    def is_fill(self) -> bool:
        return self.execution_type in FILL_EXECUTION_TYPES and self.last_qty > 0

    @property
    def forced_close(self) -> str | None:
        """'liquidation' or 'adl' when the exchange closed the position itself."""
        if self.client_order_id.startswith(LIQUIDATION_PREFIX):
            return "liquidation"
        if self.client_order_id.startswith(ADL_PREFIX):
            return "adl"
        return None

    @property
    def fill_key(self) -> str:
        """Unique per fill: trade ids are per symbol; without one, order id + filled qty."""
        if self.trade_id:
            return trade_key(self.symbol, self.trade_id)
        return f"fill:{self.symbol}:{self.order_id}:{self.filled_qty}"


def trade_key(symbol: str, trade_id: int) -> str:
    return f"trade:{symbol}:{trade_id}"


def funding_key(symbol: str | None, transaction_time_ms: int, event_time_ms: int = 0) -> str:
    """One funding payment: per symbol and settlement time, which the income history
    reports too (as ``time``). Without a symbol (a cross-margin FUNDING_FEE before
    Binance added ``a.S``) the payment cannot be matched to the history."""
    if symbol:
        return f"funding:{symbol}:{transaction_time_ms}"
    return f"funding::{transaction_time_ms}:{event_time_ms}"


_PER_FILL = frozenset({IncomeType.REALIZED_PNL, IncomeType.COMMISSION})


def income_key(row: Income) -> str | None:
    """The processed-id key of the event that reported the same money as this row of
    the income history, so a seeded day is not counted again from its events."""
    if not row.symbol:
        return None
    if row.income_type is IncomeType.FUNDING_FEE:
        return funding_key(row.symbol, row.time_ms)
    if row.income_type in _PER_FILL and row.trade_id is not None:
        return trade_key(row.symbol, row.trade_id)
    return None


@dataclass(frozen=True)
class BalanceChange:
    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    balance_change: Decimal


@dataclass(frozen=True)
class PositionChange:
    symbol: str
    amount: Decimal
    entry_price: Decimal
    breakeven_price: Decimal
    unrealised_pnl: Decimal
    margin_type: str
    position_side: PositionSide


@dataclass(frozen=True)
class AccountUpdate:
    event_time_ms: int
    transaction_time_ms: int
    received_at_ms: int
    reason: str
    balances: tuple[BalanceChange, ...]
    positions: tuple[PositionChange, ...]
    symbol: str | None  # a.S, pushed on FUNDING_FEE since 2026-08

    @property
    def funding_symbol(self) -> str | None:
        """The symbol a FUNDING_FEE is for: ``a.S``, or the one position an isolated
        payment pushes with it."""
        if self.symbol:
            return self.symbol
        symbols = {p.symbol for p in self.positions}
        return symbols.pop() if len(symbols) == 1 else None


@dataclass(frozen=True)
class AlgoUpdate:
    event_time_ms: int
    transaction_time_ms: int
    received_at_ms: int
    client_algo_id: str
    algo_id: int
    algo_type: str
    order_type: OrderType
    symbol: str
    side: Side
    position_side: PositionSide
    qty: Decimal
    status: AlgoStatus
    actual_order_id: int | None
    avg_price: Decimal
    executed_qty: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: str
    close_position: bool
    reduce_only: bool
    reject_reason: str


@dataclass(frozen=True)
class TradeLite:
    event_time_ms: int
    transaction_time_ms: int
    received_at_ms: int
    symbol: str
    client_order_id: str
    order_id: int
    side: Side
    last_qty: Decimal
    last_price: Decimal
    trade_id: int


@dataclass(frozen=True)
class MarginCallPosition:
    symbol: str
    position_side: PositionSide
    amount: Decimal
    mark_price: Decimal
    unrealised_pnl: Decimal
    maint_margin: Decimal


@dataclass(frozen=True)
class MarginCall:
    event_time_ms: int
    received_at_ms: int
    cross_wallet: Decimal | None
    positions: tuple[MarginCallPosition, ...]


@dataclass(frozen=True)
class AccountConfigUpdate:
    event_time_ms: int
    transaction_time_ms: int
    received_at_ms: int
    symbol: str | None
    leverage: int | None
    multi_assets: bool | None


@dataclass(frozen=True)
class ListenKeyExpired:
    event_time_ms: int
    received_at_ms: int
    listen_key: str


@dataclass(frozen=True)
class UnknownEvent:
    event_type: str
    received_at_ms: int


def _order_state(order: Order) -> OrderState:
    return OrderState(
        symbol=order.symbol,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        side=order.side,
        order_type=order.order_type,
        status=order.status,
        orig_qty=order.orig_qty,
        price=order.price,
        avg_price=order.avg_price,
        stop_price=order.stop_price,
        filled_qty=order.filled_qty,
        reduce_only=order.reduce_only,
        close_position=order.close_position,
        updated_ms=order.updated_ms,
    )


def _algo_state(algo: AlgoOrder) -> AlgoOrderState:
    return AlgoOrderState(
        client_algo_id=algo.client_algo_id,
        algo_id=algo.algo_id,
        symbol=algo.symbol,
        side=algo.side,
        order_type=algo.order_type,
        status=algo.status,
        qty=algo.qty,
        trigger_price=algo.trigger_price,
        price=algo.price,
        working_type=algo.working_type or "",
        reduce_only=algo.reduce_only,
        close_position=algo.close_position,
        actual_order_id=algo.actual_order_id,
        updated_ms=algo.updated_ms,
    )


def _position_state(position: Position) -> PositionState:
    return PositionState(
        symbol=position.symbol,
        amount=position.amount,
        entry_price=position.entry_price,
        breakeven_price=position.breakeven_price,
        unrealised_pnl=position.unrealised_pnl,
        margin_type=position.margin_type,
        updated_ms=position.updated_ms,
    )


@dataclass(frozen=True)
class OwnChanges:
    """What the bot's own writes just did, told to the snapshot taken right after them:
    a difference they explain is the bot's doing, applied and logged as such, not drift
    (see :func:`bot.oms.reconcile.explained_by`)."""

    cancelled: frozenset[str] = frozenset()  # symbols whose orders and algo orders we cancelled
    closed: frozenset[str] = frozenset()  # symbols whose position we closed at market


@dataclass(frozen=True)
class Snapshot:
    """The exchange's truth from REST, applied by the OMS as reconciliation.

    ``taken_at_ms`` should be exchange time (local clock + server offset): records
    absent from the snapshot are considered closed as of that instant. ``symbols``
    limits the comparison to the symbols the REST calls covered (None: all).
    ``own_changes``: what the bot itself just changed on the exchange.
    """

    positions: tuple[PositionState, ...]
    open_orders: tuple[OrderState, ...]
    open_algo_orders: tuple[AlgoOrderState, ...]
    balance: BalanceState | None
    taken_at_ms: int
    symbols: frozenset[str] | None = None
    own_changes: OwnChanges = OwnChanges()

    @classmethod
    def from_rest(
        cls,
        positions: Iterable[Position],
        open_orders: Iterable[Order],
        open_algo_orders: Iterable[AlgoOrder],
        usdc: Balance | None,
        taken_at_ms: int,
        symbols: frozenset[str] | None = None,
    ) -> Snapshot:
        """From the records of positionRisk, openOrders, openAlgoOrders and the USDC
        balance. Hedge-mode rows (LONG/SHORT) are left out: hedge mode is refused at
        start-up, and they would collide on the symbol key."""
        balance = None
        if usdc is not None:
            balance = BalanceState(
                asset=usdc.asset,
                wallet=usdc.wallet,
                cross_wallet=usdc.cross_wallet,
                updated_ms=usdc.updated_ms or taken_at_ms,
            )
        return cls(
            positions=tuple(
                _position_state(p) for p in positions if p.position_side is PositionSide.BOTH
            ),
            open_orders=tuple(_order_state(o) for o in open_orders),
            open_algo_orders=tuple(_algo_state(a) for a in open_algo_orders),
            balance=balance,
            taken_at_ms=taken_at_ms,
            symbols=symbols,
        )

    def covers(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols


Event = (
    OrderTradeUpdate
    | AccountUpdate
    | AlgoUpdate
    | TradeLite
    | MarginCall
    | AccountConfigUpdate
    | ListenKeyExpired
    | UnknownEvent
    | Snapshot
)

Decode = Callable[[str, int], Event]
"""Turns one websocket text frame (and its receive time) into an event, or raises
MalformedPayload: ``bot.exchange.user_data.parse_user_data``, handed to the consumer by
its owner, so the OMS depends on no wire format."""
