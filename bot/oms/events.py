"""Typed, immutable events parsed from Binance user-data payloads and REST snapshots.

Everything that changes trading state reaches the OMS as one of these, over one
queue: websocket messages (and the paper executor's identical payloads) as
:class:`RawMessage`, parsed here by :func:`parse_user_data`; REST snapshots as
:class:`Snapshot`. Field names follow EXCHANGE-FACTS §1–§2; every amount is a
Decimal. Unknown fields are ignored (Binance adds fields often); an unknown event
type becomes :class:`UnknownEvent`; a payload that cannot be trusted (bad JSON, a
missing required field, a bad number) raises :class:`MalformedPayload`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.oms.state import USDC, AlgoOrderState, BalanceState, OrderState, PositionState

LIQUIDATION_PREFIX = "autoclose-"
ADL_CLIENT_ID = "adl_autoclose"
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
        if self.client_order_id == ADL_CLIENT_ID:
            return "adl"
        return None

    @property
    def fill_key(self) -> str:
        """Unique per fill: trade ids are per symbol; without one, order id + filled qty."""
        if self.trade_id:
            return f"trade:{self.symbol}:{self.trade_id}"
        return f"fill:{self.symbol}:{self.order_id}:{self.filled_qty}"


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
            symbol=_text(r, "symbol"),
            order_id=_int(r, "orderId"),
            client_order_id=_text(r, "clientOrderId"),
            side=_text(r, "side"),
            order_type=_text(r, "type"),
            status=_text(r, "status"),
            orig_qty=_dec(r, "origQty"),
            price=_dec(r, "price", "0"),
            avg_price=_dec(r, "avgPrice", "0"),
            stop_price=_dec(r, "stopPrice", "0"),
            filled_qty=_dec(r, "executedQty", "0"),
            reduce_only=_bool(r, "reduceOnly"),
            close_position=_bool(r, "closePosition"),
            updated_ms=_int(r, "updateTime", 0),
        )
        for r in rows
    )


def _algos_from_rest(rows: list[dict]) -> tuple[AlgoOrderState, ...]:
    return tuple(
        AlgoOrderState(
            client_algo_id=_text(r, "clientAlgoId"),
            algo_id=_int(r, "algoId"),
            symbol=_text(r, "symbol"),
            side=_text(r, "side"),
            order_type=_text(r, "orderType"),
            status=_text(r, "algoStatus"),
            qty=_dec(r, "quantity", "0"),
            trigger_price=_dec(r, "triggerPrice", "0"),
            price=_dec(r, "price", "0"),
            working_type=_text(r, "workingType", ""),
            reduce_only=_bool(r, "reduceOnly"),
            close_position=_bool(r, "closePosition"),
            actual_order_id=_optional_id(r.get("actualOrderId")),
            updated_ms=_int(r, "updateTime", 0),
        )
        for r in rows
    )


def _positions_from_rest(rows: list[dict]) -> tuple[PositionState, ...]:
    # Hedge mode is refused at start-up; LONG/SHORT rows would collide on the symbol key.
    return tuple(
        PositionState(
            symbol=_text(r, "symbol"),
            amount=_dec(r, "positionAmt"),
            entry_price=_dec(r, "entryPrice", "0"),
            breakeven_price=_dec(r, "breakEvenPrice", "0"),
            unrealised_pnl=_dec(r, "unRealizedProfit", "0"),
            margin_type=_margin_type(r),
            updated_ms=_int(r, "updateTime", 0),
        )
        for r in rows
        if r.get("positionSide", "BOTH") == "BOTH"
    )


def _margin_type(row: dict) -> str:
    if "marginType" in row:
        return str(row["marginType"])
    return "isolated" if _dec(row, "isolatedWallet", "0") != 0 else "cross"


@dataclass(frozen=True)
class Snapshot:
    """The exchange's truth from REST, applied by the OMS as reconciliation.

    ``taken_at_ms`` should be exchange time (local clock + server offset): records
    absent from the snapshot are considered closed as of that instant. ``symbols``
    limits the comparison to the symbols the REST calls covered (None: all).
    """

    positions: tuple[PositionState, ...]
    open_orders: tuple[OrderState, ...]
    open_algo_orders: tuple[AlgoOrderState, ...]
    balance: BalanceState | None
    taken_at_ms: int
    symbols: frozenset[str] | None = None

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
                    asset=_text(usdc_asset, "asset", USDC),
                    wallet=_dec(usdc_asset, "walletBalance"),
                    cross_wallet=_dec(usdc_asset, "crossWalletBalance"),
                    updated_ms=_int(usdc_asset, "updateTime", 0) or taken_at_ms,
                )
            return cls(
                positions=_positions_from_rest(position_risk),
                open_orders=_orders_from_rest(open_orders),
                open_algo_orders=_algos_from_rest(open_algo_orders),
                balance=balance,
                taken_at_ms=taken_at_ms,
                symbols=symbols,
            )
        except (_Bad, TypeError, AttributeError) as exc:
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

_MISSING = object()


class _Bad(Exception):
    """Internal: a field problem; parse_user_data turns it into MalformedPayload."""


def _get(d: dict, key: str, default: Any) -> Any:
    if not isinstance(d, dict):
        raise _Bad(f"expected an object holding {key!r}")
    value = d.get(key, default)
    if value is _MISSING:
        raise _Bad(f"missing field {key!r}")
    return value


def _text(d: dict, key: str, default: Any = _MISSING) -> str:
    value = _get(d, key, default)
    if not isinstance(value, str):
        raise _Bad(f"field {key!r} is not text: {value!r}")
    return value


def _dec(d: dict, key: str, default: Any = _MISSING) -> Decimal:
    value = _get(d, key, default)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad(f"field {key!r} is not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _Bad(f"field {key!r} is not a number: {value!r}") from None
    if not number.is_finite():
        raise _Bad(f"field {key!r} is not finite: {value!r}")
    return number


def _int(d: dict, key: str, default: Any = _MISSING) -> int:
    """Integers; also digit strings, since listenKeyExpired sends ``E`` as a string."""
    value = _get(d, key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise _Bad(f"field {key!r} is not an integer: {value!r}")


def _bool(d: dict, key: str, default: bool = False) -> bool:
    value = _get(d, key, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _Bad(f"field {key!r} is not a boolean: {value!r}")


def _optional_id(value: Any) -> int | None:
    """ALGO_UPDATE ``ai`` / ``actualOrderId``: a string id, ``""`` until triggered."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _Bad(f"actual order id is not an id: {value!r}")


def _order_trade_update(msg: dict, received_at_ms: int) -> OrderTradeUpdate:
    o = _get(msg, "o", _MISSING)
    return OrderTradeUpdate(
        event_time_ms=_int(msg, "E"),
        transaction_time_ms=_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=_text(o, "s"),
        client_order_id=_text(o, "c"),
        order_id=_int(o, "i"),
        side=_text(o, "S"),
        order_type=_text(o, "o"),
        original_type=_text(o, "ot", ""),
        execution_type=_text(o, "x"),
        status=_text(o, "X"),
        orig_qty=_dec(o, "q"),
        price=_dec(o, "p", "0"),
        avg_price=_dec(o, "ap", "0"),
        stop_price=_dec(o, "sp", "0"),
        filled_qty=_dec(o, "z"),
        last_qty=_dec(o, "l", "0"),
        last_price=_dec(o, "L", "0"),
        commission_asset=_text(o, "N", "") or "",
        commission=_dec(o, "n", "0"),
        realised_pnl=_dec(o, "rp", "0"),
        trade_id=_int(o, "t", 0),
        trade_time_ms=_int(o, "T", 0) or _int(msg, "E"),
        is_maker=_bool(o, "m"),
        reduce_only=_bool(o, "R"),
        close_position=_bool(o, "cp"),
        position_side=_text(o, "ps", "BOTH"),
    )


def _account_update(msg: dict, received_at_ms: int) -> AccountUpdate:
    a = _get(msg, "a", _MISSING)
    balances = tuple(
        BalanceChange(
            asset=_text(b, "a"),
            wallet=_dec(b, "wb"),
            cross_wallet=_dec(b, "cw", "0"),
            balance_change=_dec(b, "bc", "0"),
        )
        for b in _get(a, "B", [])
    )
    positions = tuple(
        PositionChange(
            symbol=_text(p, "s"),
            amount=_dec(p, "pa"),
            entry_price=_dec(p, "ep", "0"),
            breakeven_price=_dec(p, "bep", "0"),
            unrealised_pnl=_dec(p, "up", "0"),
            margin_type=_text(p, "mt", "cross"),
            position_side=_text(p, "ps", "BOTH"),
        )
        for p in _get(a, "P", [])
    )
    symbol = _get(a, "S", None)
    return AccountUpdate(
        event_time_ms=_int(msg, "E"),
        transaction_time_ms=_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        reason=_text(a, "m", ""),
        balances=balances,
        positions=positions,
        symbol=symbol if isinstance(symbol, str) and symbol else None,
    )


def _algo_update(msg: dict, received_at_ms: int) -> AlgoUpdate:
    # The docs label T "event time" and E "transaction time" here, the reverse of
    # every other event; the successor SDK treats E as event time, and so do we.
    o = _get(msg, "o", _MISSING)
    return AlgoUpdate(
        event_time_ms=_int(msg, "E"),
        transaction_time_ms=_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        client_algo_id=_text(o, "caid"),
        algo_id=_int(o, "aid"),
        algo_type=_text(o, "at", "CONDITIONAL"),
        order_type=_text(o, "o"),
        symbol=_text(o, "s"),
        side=_text(o, "S"),
        position_side=_text(o, "ps", "BOTH"),
        qty=_dec(o, "q", "0"),
        status=_text(o, "X"),
        actual_order_id=_optional_id(_get(o, "ai", "")),
        avg_price=_dec(o, "ap", "0"),
        executed_qty=_dec(o, "aq", "0"),
        trigger_price=_dec(o, "tp", "0"),
        price=_dec(o, "p", "0"),
        working_type=_text(o, "wt", ""),
        close_position=_bool(o, "cp"),
        reduce_only=_bool(o, "R"),
        reject_reason=_text(o, "rm", ""),
    )


def _trade_lite(msg: dict, received_at_ms: int) -> TradeLite:
    return TradeLite(
        event_time_ms=_int(msg, "E"),
        transaction_time_ms=_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=_text(msg, "s"),
        client_order_id=_text(msg, "c"),
        order_id=_int(msg, "i"),
        side=_text(msg, "S"),
        last_qty=_dec(msg, "l"),
        last_price=_dec(msg, "L"),
        trade_id=_int(msg, "t"),
    )


def _margin_call(msg: dict, received_at_ms: int) -> MarginCall:
    positions = tuple(
        MarginCallPosition(
            symbol=_text(p, "s"),
            position_side=_text(p, "ps", "BOTH"),
            amount=_dec(p, "pa"),
            mark_price=_dec(p, "mp", "0"),
            unrealised_pnl=_dec(p, "up", "0"),
            maint_margin=_dec(p, "mm", "0"),
        )
        for p in _get(msg, "p", [])
    )
    return MarginCall(
        event_time_ms=_int(msg, "E"),
        received_at_ms=received_at_ms,
        cross_wallet=_dec(msg, "cw") if "cw" in msg else None,
        positions=positions,
    )


def _account_config_update(msg: dict, received_at_ms: int) -> AccountConfigUpdate:
    leverage_change = _get(msg, "ac", None)
    assets_mode = _get(msg, "ai", None)
    return AccountConfigUpdate(
        event_time_ms=_int(msg, "E"),
        transaction_time_ms=_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=_text(leverage_change, "s") if leverage_change else None,
        leverage=_int(leverage_change, "l") if leverage_change else None,
        multi_assets=_bool(assets_mode, "j") if assets_mode else None,
    )


def _listen_key_expired(msg: dict, received_at_ms: int) -> ListenKeyExpired:
    return ListenKeyExpired(
        event_time_ms=_int(msg, "E"),
        received_at_ms=received_at_ms,
        listen_key=_text(msg, "listenKey", ""),
    )


# Fast parsers for the high-volume event types. They index the payload directly and
# accept only the plain shapes Binance sends (text as str, amounts as decimal strings
# or ints, ids and times as ints, booleans as JSON booleans). Anything else raises, and
# parse_user_data then runs the checked parser above, which accepts the same lenient
# forms (digit-string ids, "true"/"false") and names the bad field: the fast path is
# never looser than the checked one, only quicker on well-formed payloads.
_FAST_FAILURES = (_Bad, KeyError, TypeError, AttributeError, ArithmeticError, ValueError)


def _t(value: Any) -> str:
    if value.__class__ is str:
        return value
    raise _Bad("not text")


def _d(value: Any) -> Decimal:
    if value.__class__ is str or value.__class__ is int:
        number = Decimal(value)
        if number.is_finite():
            return number
    raise _Bad("not a finite decimal")


def _i(value: Any) -> int:
    if value.__class__ is int:
        return value
    raise _Bad("not an integer")


def _b(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise _Bad("not a boolean")


def _fast_order_trade_update(msg: dict, received_at_ms: int) -> OrderTradeUpdate:
    o = msg["o"]
    get = o.get
    event_time_ms = _i(msg["E"])
    return OrderTradeUpdate(
        event_time_ms=event_time_ms,
        transaction_time_ms=_i(msg.get("T", 0)),
        received_at_ms=received_at_ms,
        symbol=_t(o["s"]),
        client_order_id=_t(o["c"]),
        order_id=_i(o["i"]),
        side=_t(o["S"]),
        order_type=_t(o["o"]),
        original_type=_t(get("ot", "")),
        execution_type=_t(o["x"]),
        status=_t(o["X"]),
        orig_qty=_d(o["q"]),
        price=_d(get("p", "0")),
        avg_price=_d(get("ap", "0")),
        stop_price=_d(get("sp", "0")),
        filled_qty=_d(o["z"]),
        last_qty=_d(get("l", "0")),
        last_price=_d(get("L", "0")),
        commission_asset=_t(get("N", "")),
        commission=_d(get("n", "0")),
        realised_pnl=_d(get("rp", "0")),
        trade_id=_i(get("t", 0)),
        trade_time_ms=_i(get("T", 0)) or event_time_ms,
        is_maker=_b(get("m", False)),
        reduce_only=_b(get("R", False)),
        close_position=_b(get("cp", False)),
        position_side=_t(get("ps", "BOTH")),
    )


def _fast_account_update(msg: dict, received_at_ms: int) -> AccountUpdate:
    a = msg["a"]
    balances = tuple(
        BalanceChange(
            asset=_t(b["a"]),
            wallet=_d(b["wb"]),
            cross_wallet=_d(b.get("cw", "0")),
            balance_change=_d(b.get("bc", "0")),
        )
        for b in a.get("B", ())
    )
    positions = tuple(
        PositionChange(
            symbol=_t(p["s"]),
            amount=_d(p["pa"]),
            entry_price=_d(p.get("ep", "0")),
            breakeven_price=_d(p.get("bep", "0")),
            unrealised_pnl=_d(p.get("up", "0")),
            margin_type=_t(p.get("mt", "cross")),
            position_side=_t(p.get("ps", "BOTH")),
        )
        for p in a.get("P", ())
    )
    symbol = a.get("S")
    return AccountUpdate(
        event_time_ms=_i(msg["E"]),
        transaction_time_ms=_i(msg.get("T", 0)),
        received_at_ms=received_at_ms,
        reason=_t(a.get("m", "")),
        balances=balances,
        positions=positions,
        symbol=symbol if isinstance(symbol, str) and symbol else None,
    )


def _fast_algo_update(msg: dict, received_at_ms: int) -> AlgoUpdate:
    o = msg["o"]
    get = o.get
    return AlgoUpdate(
        event_time_ms=_i(msg["E"]),
        transaction_time_ms=_i(msg.get("T", 0)),
        received_at_ms=received_at_ms,
        client_algo_id=_t(o["caid"]),
        algo_id=_i(o["aid"]),
        algo_type=_t(get("at", "CONDITIONAL")),
        order_type=_t(o["o"]),
        symbol=_t(o["s"]),
        side=_t(o["S"]),
        position_side=_t(get("ps", "BOTH")),
        qty=_d(get("q", "0")),
        status=_t(o["X"]),
        actual_order_id=_optional_id(get("ai", "")),
        avg_price=_d(get("ap", "0")),
        executed_qty=_d(get("aq", "0")),
        trigger_price=_d(get("tp", "0")),
        price=_d(get("p", "0")),
        working_type=_t(get("wt", "")),
        close_position=_b(get("cp", False)),
        reduce_only=_b(get("R", False)),
        reject_reason=_t(get("rm", "")),
    )


def _fast_trade_lite(msg: dict, received_at_ms: int) -> TradeLite:
    return TradeLite(
        event_time_ms=_i(msg["E"]),
        transaction_time_ms=_i(msg.get("T", 0)),
        received_at_ms=received_at_ms,
        symbol=_t(msg["s"]),
        client_order_id=_t(msg["c"]),
        order_id=_i(msg["i"]),
        side=_t(msg["S"]),
        last_qty=_d(msg["l"]),
        last_price=_d(msg["L"]),
        trade_id=_i(msg["t"]),
    )


_FAST_PARSERS: dict[str, Callable[[dict, int], Any]] = {
    "ORDER_TRADE_UPDATE": _fast_order_trade_update,
    "ACCOUNT_UPDATE": _fast_account_update,
    "ALGO_UPDATE": _fast_algo_update,
    "TRADE_LITE": _fast_trade_lite,
}


_PARSERS: dict[str, Callable[[dict, int], Any]] = {
    "ORDER_TRADE_UPDATE": _order_trade_update,
    "ACCOUNT_UPDATE": _account_update,
    "ALGO_UPDATE": _algo_update,
    "TRADE_LITE": _trade_lite,
    "MARGIN_CALL": _margin_call,
    "ACCOUNT_CONFIG_UPDATE": _account_config_update,
    "listenKeyExpired": _listen_key_expired,
}


def parse_user_data(raw: str, received_at_ms: int) -> Event:
    """Parse one user-data payload; raises MalformedPayload if it cannot be trusted."""
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as exc:
        raise MalformedPayload(f"not JSON: {exc}", str(raw)) from None
    if not isinstance(message, dict) or not isinstance(message.get("e"), str):
        raise MalformedPayload("no event type 'e'", raw)
    kind = message["e"]
    fast = _FAST_PARSERS.get(kind)
    if fast is not None:
        try:
            return fast(message, received_at_ms)
        except _FAST_FAILURES:
            pass  # the checked parser decides, and names the bad field
    parser = _PARSERS.get(kind)
    if parser is None:
        return UnknownEvent(event_type=kind, received_at_ms=received_at_ms)
    try:
        return parser(message, received_at_ms)
    except (_Bad, TypeError, AttributeError) as exc:
        raise MalformedPayload(f"{message['e']}: {exc}", raw) from None
