"""Binance user-data payloads, declared once, decoded into the OMS's typed events.

One ``msgspec`` struct per payload names its fields as Binance spells them
(EXCHANGE-FACTS §1–§2); :func:`parse_user_data` decodes a websocket text frame into
one event of :mod:`bot.oms.events` with domain enums. Unknown fields are ignored
(Binance adds fields often); an unknown event type becomes :class:`UnknownEvent`;
a payload that cannot be trusted raises :class:`MalformedPayload` naming the bad
field. Lenient as Binance is (ids as digit strings, booleans as ``"true"``), and as
strict as the store needs (``bot.exchange.fields``: int64 ids, UTF-8 text, finite
amounts of a sane size; amounts as strings or integers, never floats).

One decoder for every payload: msgspec checks presence and JSON types in C, the
``_to_*`` functions below only convert, so there is no separate "fast" parser.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from bot.domain.enums import (
    AlgoStatus,
    ExecutionType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
)
from bot.exchange.fields import (
    MAX_ADJUSTED_EXPONENT,
    MAX_ID,
    MIN_ADJUSTED_EXPONENT,
    FieldError,
    checked_amount,
    checked_id,
    checked_text,
    is_storable_text,
    optional_id,
    read_bool,
    read_int,
    read_text,
)
from bot.exchange.vocabulary import to_enum
from bot.exchange.wire import wire_error
from bot.oms.events import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    BalanceChange,
    Event,
    ListenKeyExpired,
    MalformedPayload,
    MarginCall,
    MarginCallPosition,
    OrderTradeUpdate,
    PositionChange,
    TradeLite,
    UnknownEvent,
)

Id = int | str
Amount = str | int
Flag = bool | str
ZERO = Decimal(0)


class _Order(msgspec.Struct, frozen=True):
    s: str
    c: str
    i: Id
    S: str
    o: str
    x: str
    X: str
    q: Amount
    z: Amount
    ot: str = ""
    p: Amount = "0"
    ap: Amount = "0"
    sp: Amount = "0"
    l: Amount = "0"  # noqa: E741 - Binance's field name
    L: Amount = "0"
    N: str | None = ""
    n: Amount = "0"
    rp: Amount = "0"
    t: Id = 0
    T: Id = 0
    m: Flag = False
    R: Flag = False
    cp: Flag = False
    ps: str = "BOTH"


class _OrderTradeUpdate(msgspec.Struct, frozen=True, tag="ORDER_TRADE_UPDATE", tag_field="e"):
    E: Id
    o: _Order
    T: Id = 0


class _Balance(msgspec.Struct, frozen=True):
    a: str
    wb: Amount
    cw: Amount = "0"
    bc: Amount = "0"


class _Position(msgspec.Struct, frozen=True):
    s: str
    pa: Amount
    ep: Amount = "0"
    bep: Amount = "0"
    up: Amount = "0"
    mt: str = "cross"
    ps: str = "BOTH"


class _Account(msgspec.Struct, frozen=True):
    m: str = ""
    B: list[_Balance] = []
    P: list[_Position] = []
    S: Any = None  # a.S, pushed on FUNDING_FEE since 2026-08; only a key: lenient


class _AccountUpdate(msgspec.Struct, frozen=True, tag="ACCOUNT_UPDATE", tag_field="e"):
    E: Id
    a: _Account
    T: Id = 0


class _Algo(msgspec.Struct, frozen=True):
    caid: str
    aid: Id
    o: str
    s: str
    S: str
    X: str
    at: str = "CONDITIONAL"
    ps: str = "BOTH"
    q: Amount = "0"
    ai: Id = ""
    ap: Amount = "0"
    aq: Amount = "0"
    tp: Amount = "0"
    p: Amount = "0"
    wt: str = ""
    cp: Flag = False
    R: Flag = False
    rm: str = ""


class _AlgoUpdate(msgspec.Struct, frozen=True, tag="ALGO_UPDATE", tag_field="e"):
    # The docs label T "event time" and E "transaction time" here, the reverse of
    # every other event; the successor SDK treats E as event time, and so do we.
    E: Id
    o: _Algo
    T: Id = 0


class _TradeLite(msgspec.Struct, frozen=True, tag="TRADE_LITE", tag_field="e"):
    E: Id
    s: str
    c: str
    i: Id
    S: str
    l: Amount  # noqa: E741 - Binance's field name
    L: Amount
    t: Id
    T: Id = 0


class _MarginCallPosition(msgspec.Struct, frozen=True):
    s: str
    pa: Amount
    ps: str = "BOTH"
    mp: Amount = "0"
    up: Amount = "0"
    mm: Amount = "0"


class _MarginCall(msgspec.Struct, frozen=True, tag="MARGIN_CALL", tag_field="e"):
    E: Id
    cw: Amount | None = None
    p: list[_MarginCallPosition] = []


class _AccountConfigUpdate(msgspec.Struct, frozen=True, tag="ACCOUNT_CONFIG_UPDATE", tag_field="e"):
    E: Id
    T: Id = 0
    ac: dict[str, Any] | None = None  # leverage change: {"s", "l"}
    ai: dict[str, Any] | None = None  # multi-assets mode: {"j"}


class _ListenKeyExpired(msgspec.Struct, frozen=True, tag="listenKeyExpired", tag_field="e"):
    E: Id
    listenKey: str = ""


_Payload = (
    _OrderTradeUpdate
    | _AccountUpdate
    | _AlgoUpdate
    | _TradeLite
    | _MarginCall
    | _AccountConfigUpdate
    | _ListenKeyExpired
)
_DECODER = msgspec.json.Decoder(_Payload)


class _Envelope(msgspec.Struct):
    e: object = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


# --- wire → event ------------------------------------------------------------------


# The conversions below run for every field of every event: each takes the common
# well-formed case inline and leaves everything else to the checked reader, which
# decides and names the field. Never looser than ``bot.exchange.fields``.


def _d(value: Amount, field: str) -> Decimal:
    if value == "0":
        return ZERO
    if value.__class__ is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            return checked_amount(value, field)
        if number.is_finite() and (
            not number or MIN_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_ADJUSTED_EXPONENT
        ):
            return number
    return checked_amount(value, field)


def _id(value: Id, field: str) -> int:
    if value.__class__ is int and 0 <= value <= MAX_ID:
        return value
    return checked_id(value, field)


def _b(value: Flag, field: str) -> bool:
    if value is True or value is False:
        return value
    if value == "true" or value == "false":
        return value == "true"
    raise FieldError(f"field {field!r} is not a boolean: {value!r}")


def _t(value: str, field: str) -> str:
    return value if value.isascii() else checked_text(value, field)


def _order_trade_update(w: _OrderTradeUpdate, received_at_ms: int) -> OrderTradeUpdate:
    o = w.o
    event_time_ms = _id(w.E, "E")
    order_type = to_enum(OrderType, o.o, "o")
    return OrderTradeUpdate(
        event_time_ms=event_time_ms,
        transaction_time_ms=_id(w.T, "T"),
        received_at_ms=received_at_ms,
        symbol=_t(o.s, "s"),
        client_order_id=_t(o.c, "c"),
        order_id=_id(o.i, "i"),
        side=to_enum(Side, o.S, "S"),
        order_type=order_type,
        original_type=to_enum(OrderType, o.ot, "ot") if o.ot else order_type,
        execution_type=to_enum(ExecutionType, o.x, "x"),
        status=to_enum(OrderStatus, o.X, "X"),
        orig_qty=_d(o.q, "q"),
        price=_d(o.p, "p"),
        avg_price=_d(o.ap, "ap"),
        stop_price=_d(o.sp, "sp"),
        filled_qty=_d(o.z, "z"),
        last_qty=_d(o.l, "l"),
        last_price=_d(o.L, "L"),
        commission_asset=_t(o.N or "", "N"),
        commission=_d(o.n, "n"),
        realised_pnl=_d(o.rp, "rp"),
        trade_id=_id(o.t, "t"),
        trade_time_ms=_id(o.T, "T") or event_time_ms,
        is_maker=_b(o.m, "m"),
        reduce_only=_b(o.R, "R"),
        close_position=_b(o.cp, "cp"),
        position_side=to_enum(PositionSide, o.ps, "ps"),
    )


def _account_update(w: _AccountUpdate, received_at_ms: int) -> AccountUpdate:
    a = w.a
    symbol = a.S
    return AccountUpdate(
        event_time_ms=_id(w.E, "E"),
        transaction_time_ms=_id(w.T, "T"),
        received_at_ms=received_at_ms,
        reason=_t(a.m, "m"),
        balances=tuple(
            BalanceChange(
                asset=_t(b.a, "a"),
                wallet=_d(b.wb, "wb"),
                cross_wallet=_d(b.cw, "cw"),
                balance_change=_d(b.bc, "bc"),
            )
            for b in a.B
        ),
        positions=tuple(
            PositionChange(
                symbol=_t(p.s, "s"),
                amount=_d(p.pa, "pa"),
                entry_price=_d(p.ep, "ep"),
                breakeven_price=_d(p.bep, "bep"),
                unrealised_pnl=_d(p.up, "up"),
                margin_type=_t(p.mt, "mt"),
                position_side=to_enum(PositionSide, p.ps, "ps"),
            )
            for p in a.P
        ),
        symbol=symbol if isinstance(symbol, str) and symbol and is_storable_text(symbol) else None,
    )


def _algo_update(w: _AlgoUpdate, received_at_ms: int) -> AlgoUpdate:
    o = w.o
    return AlgoUpdate(
        event_time_ms=_id(w.E, "E"),
        transaction_time_ms=_id(w.T, "T"),
        received_at_ms=received_at_ms,
        client_algo_id=_t(o.caid, "caid"),
        algo_id=_id(o.aid, "aid"),
        algo_type=_t(o.at, "at"),
        order_type=to_enum(OrderType, o.o, "o"),
        symbol=_t(o.s, "s"),
        side=to_enum(Side, o.S, "S"),
        position_side=to_enum(PositionSide, o.ps, "ps"),
        qty=_d(o.q, "q"),
        status=to_enum(AlgoStatus, o.X, "X"),
        actual_order_id=optional_id(o.ai),
        avg_price=_d(o.ap, "ap"),
        executed_qty=_d(o.aq, "aq"),
        trigger_price=_d(o.tp, "tp"),
        price=_d(o.p, "p"),
        working_type=_t(o.wt, "wt"),
        close_position=_b(o.cp, "cp"),
        reduce_only=_b(o.R, "R"),
        reject_reason=_t(o.rm, "rm"),
    )


def _trade_lite(w: _TradeLite, received_at_ms: int) -> TradeLite:
    return TradeLite(
        event_time_ms=_id(w.E, "E"),
        transaction_time_ms=_id(w.T, "T"),
        received_at_ms=received_at_ms,
        symbol=_t(w.s, "s"),
        client_order_id=_t(w.c, "c"),
        order_id=_id(w.i, "i"),
        side=to_enum(Side, w.S, "S"),
        last_qty=_d(w.l, "l"),
        last_price=_d(w.L, "L"),
        trade_id=_id(w.t, "t"),
    )


def _margin_call(w: _MarginCall, received_at_ms: int) -> MarginCall:
    return MarginCall(
        event_time_ms=_id(w.E, "E"),
        received_at_ms=received_at_ms,
        cross_wallet=_d(w.cw, "cw") if w.cw is not None else None,
        positions=tuple(
            MarginCallPosition(
                symbol=_t(p.s, "s"),
                position_side=to_enum(PositionSide, p.ps, "ps"),
                amount=_d(p.pa, "pa"),
                mark_price=_d(p.mp, "mp"),
                unrealised_pnl=_d(p.up, "up"),
                maint_margin=_d(p.mm, "mm"),
            )
            for p in w.p
        ),
    )


def _account_config_update(w: _AccountConfigUpdate, received_at_ms: int) -> AccountConfigUpdate:
    return AccountConfigUpdate(
        event_time_ms=_id(w.E, "E"),
        transaction_time_ms=_id(w.T, "T"),
        received_at_ms=received_at_ms,
        symbol=read_text(w.ac, "s") if w.ac else None,
        leverage=read_int(w.ac, "l") if w.ac else None,
        multi_assets=read_bool(w.ai, "j") if w.ai else None,
    )


def _listen_key_expired(w: _ListenKeyExpired, received_at_ms: int) -> ListenKeyExpired:
    return ListenKeyExpired(
        event_time_ms=_id(w.E, "E"),
        received_at_ms=received_at_ms,
        listen_key=_t(w.listenKey, "listenKey"),
    )


_TO_EVENT: dict[type[msgspec.Struct], Callable[[Any, int], Event]] = {
    _OrderTradeUpdate: _order_trade_update,
    _AccountUpdate: _account_update,
    _AlgoUpdate: _algo_update,
    _TradeLite: _trade_lite,
    _MarginCall: _margin_call,
    _AccountConfigUpdate: _account_config_update,
    _ListenKeyExpired: _listen_key_expired,
}


_DECLARED = frozenset(wire.__struct_config__.tag for wire in _TO_EVENT)


def parse_user_data(raw: str | bytes, received_at_ms: int) -> Event:
    """Decode one user-data payload; raises MalformedPayload if it cannot be trusted."""
    try:
        wire = _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return _unknown_or_malformed(raw, received_at_ms, error)
    try:
        return _TO_EVENT[type(wire)](wire, received_at_ms)
    except (FieldError, ValueError, ArithmeticError) as error:
        kind = wire.__struct_config__.tag
        raise MalformedPayload(f"{kind}: {error}", _text(raw)) from None


def _unknown_or_malformed(raw: str | bytes, received_at_ms: int, error: Exception) -> Event:
    """The rare path: an event type nobody declared, or a payload that does not fit."""
    try:
        kind = _ENVELOPE.decode(raw).e
    except msgspec.ValidationError:  # JSON, but not an object
        kind = None
    except msgspec.DecodeError as bad_json:
        raise MalformedPayload(f"not JSON: {bad_json}", _text(raw)) from None
    if not isinstance(kind, str):
        raise MalformedPayload("no event type 'e'", _text(raw))
    if kind not in _DECLARED:
        return UnknownEvent(event_type=kind, received_at_ms=received_at_ms)
    raise MalformedPayload(f"{kind}: {wire_error(error)}", _text(raw))


def _text(raw: str | bytes) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")


def is_listen_key_expired(raw: str) -> bool:
    """Whether a frame is ``listenKeyExpired``: the stream reconnects on it at once,
    before the OMS has decoded it (a cheap check on every frame)."""
    if '"listenKeyExpired"' not in raw:
        return False
    try:
        return _ENVELOPE.decode(raw).e == "listenKeyExpired"
    except msgspec.DecodeError:  # also a ValidationError (JSON, but not an object)
        return False
