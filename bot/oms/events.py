"""Typed, immutable events: what reaches the OMS, over one queue.

Everything that changes trading state arrives as one of these: websocket messages
(and the paper executor's identical payloads) as :class:`RawMessage`, turned into
the typed events below by :func:`bot.oms.parsing.parse_user_data`; REST snapshots
as :class:`Snapshot`. Every amount is a Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.oms.fields import (
    FieldError,
    optional_id,
    read_bool,
    read_decimal,
    read_int,
    read_text,
)
from bot.oms.state import USDC, AlgoOrderState, BalanceState, OrderState, PositionState

LIQUIDATION_PREFIX = "autoclose-"
ADL_PREFIX = "adl_autoclose"
FILL_EXECUTION_TYPES = frozenset({"TRADE", "CALCULATED"})  # CALCULATED: liquidation execution


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
    side: str
    order_type: str
    original_type: str
    execution_type: str
    status: str
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
    position_side: str

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


def income_key(row: dict) -> str | None:
    """The processed-id key of the event that reported the same money as this row of
    ``GET /fapi/v1/income``, so a seeded day is not counted again from its events."""
    kind, symbol = row.get("incomeType"), row.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        return None
    if kind == "FUNDING_FEE" and isinstance(row.get("time"), int):
        return funding_key(symbol, row["time"])
    trade_id = str(row.get("tradeId") or "")
    if kind in ("REALIZED_PNL", "COMMISSION") and trade_id.isascii() and trade_id.isdigit():
        return trade_key(symbol, int(trade_id))
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
    position_side: str


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
    order_type: str
    symbol: str
    side: str
    position_side: str
    qty: Decimal
    status: str
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
    side: str
    last_qty: Decimal
    last_price: Decimal
    trade_id: int


@dataclass(frozen=True)
class MarginCallPosition:
    symbol: str
    position_side: str
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


def _orders_from_rest(rows: list[dict]) -> tuple[OrderState, ...]:
    return tuple(
        OrderState(
            symbol=read_text(r, "symbol"),
            order_id=read_int(r, "orderId"),
            client_order_id=read_text(r, "clientOrderId"),
            side=read_text(r, "side"),
            order_type=read_text(r, "type"),
            status=read_text(r, "status"),
            orig_qty=read_decimal(r, "origQty"),
            price=read_decimal(r, "price", "0"),
            avg_price=read_decimal(r, "avgPrice", "0"),
            stop_price=read_decimal(r, "stopPrice", "0"),
            filled_qty=read_decimal(r, "executedQty", "0"),
            reduce_only=read_bool(r, "reduceOnly"),
            close_position=read_bool(r, "closePosition"),
            updated_ms=read_int(r, "updateTime", 0),
        )
        for r in rows
    )


def _algos_from_rest(rows: list[dict]) -> tuple[AlgoOrderState, ...]:
    return tuple(
        AlgoOrderState(
            client_algo_id=read_text(r, "clientAlgoId"),
            algo_id=read_int(r, "algoId"),
            symbol=read_text(r, "symbol"),
            side=read_text(r, "side"),
            order_type=read_text(r, "orderType"),
            status=read_text(r, "algoStatus"),
            qty=read_decimal(r, "quantity", "0"),
            trigger_price=read_decimal(r, "triggerPrice", "0"),
            price=read_decimal(r, "price", "0"),
            working_type=read_text(r, "workingType", ""),
            reduce_only=read_bool(r, "reduceOnly"),
            close_position=read_bool(r, "closePosition"),
            actual_order_id=optional_id(r.get("actualOrderId")),
            updated_ms=read_int(r, "updateTime", 0),
        )
        for r in rows
    )


def _positions_from_rest(rows: list[dict]) -> tuple[PositionState, ...]:
    # Hedge mode is refused at start-up; LONG/SHORT rows would collide on the symbol key.
    return tuple(
        PositionState(
            symbol=read_text(r, "symbol"),
            amount=read_decimal(r, "positionAmt"),
            entry_price=read_decimal(r, "entryPrice", "0"),
            breakeven_price=read_decimal(r, "breakEvenPrice", "0"),
            unrealised_pnl=read_decimal(r, "unRealizedProfit", "0"),
            margin_type=_margin_type(r),
            updated_ms=read_int(r, "updateTime", 0),
        )
        for r in rows
        if r.get("positionSide", "BOTH") == "BOTH"
    )


def _margin_type(row: dict) -> str:
    if "marginType" in row:
        return str(row["marginType"])
    return "isolated" if read_decimal(row, "isolatedWallet", "0") != 0 else "cross"


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
        position_risk: list[dict],
        open_orders: list[dict],
        open_algo_orders: list[dict],
        usdc_asset: dict,
        taken_at_ms: int,
        symbols: frozenset[str] | None = None,
    ) -> Snapshot:
        """Build from v3/positionRisk, v1/openOrders, v1/openAlgoOrders and the USDC
        entry of v3/account ``assets``; raises MalformedPayload on a bad field."""
        try:
            balance = None
            if usdc_asset:
                balance = BalanceState(
                    asset=read_text(usdc_asset, "asset", USDC),
                    wallet=read_decimal(usdc_asset, "walletBalance"),
                    cross_wallet=read_decimal(usdc_asset, "crossWalletBalance"),
                    updated_ms=read_int(usdc_asset, "updateTime", 0) or taken_at_ms,
                )
            return cls(
                positions=_positions_from_rest(position_risk),
                open_orders=_orders_from_rest(open_orders),
                open_algo_orders=_algos_from_rest(open_algo_orders),
                balance=balance,
                taken_at_ms=taken_at_ms,
                symbols=symbols,
            )
        except (FieldError, TypeError, AttributeError) as exc:
            raise MalformedPayload(f"REST snapshot: {exc}", "") from None

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
