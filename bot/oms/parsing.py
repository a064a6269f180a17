"""Parse Binance user-data payloads into the typed events of :mod:`bot.oms.events`.

:func:`parse_user_data` is the only entry: websocket messages (and the paper
executor's identical payloads) arrive as text and leave as one event. Field names
follow EXCHANGE-FACTS §1–§2; every amount is a Decimal. Unknown fields are ignored
(Binance adds fields often); an unknown event type becomes :class:`UnknownEvent`; a
payload that cannot be trusted (bad JSON, a missing required field, a bad number)
raises :class:`MalformedPayload`.

The high-volume types go through a fast parser first, and every type has a checked
parser that names the bad field; see the note above the fast parsers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bot.exchange.fields import (
    MAX_ADJUSTED_EXPONENT,
    MAX_ID,
    MIN_ADJUSTED_EXPONENT,
    MISSING,
    FieldError,
    is_storable_text,
    optional_id,
    read_bool,
    read_decimal,
    read_field,
    read_int,
    read_text,
)
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


def _order_trade_update(msg: dict, received_at_ms: int) -> OrderTradeUpdate:
    o = read_field(msg, "o", MISSING)
    return OrderTradeUpdate(
        event_time_ms=read_int(msg, "E"),
        transaction_time_ms=read_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=read_text(o, "s"),
        client_order_id=read_text(o, "c"),
        order_id=read_int(o, "i"),
        side=read_text(o, "S"),
        order_type=read_text(o, "o"),
        original_type=read_text(o, "ot", ""),
        execution_type=read_text(o, "x"),
        status=read_text(o, "X"),
        orig_qty=read_decimal(o, "q"),
        price=read_decimal(o, "p", "0"),
        avg_price=read_decimal(o, "ap", "0"),
        stop_price=read_decimal(o, "sp", "0"),
        filled_qty=read_decimal(o, "z"),
        last_qty=read_decimal(o, "l", "0"),
        last_price=read_decimal(o, "L", "0"),
        commission_asset=read_text(o, "N", "") or "",
        commission=read_decimal(o, "n", "0"),
        realised_pnl=read_decimal(o, "rp", "0"),
        trade_id=read_int(o, "t", 0),
        trade_time_ms=read_int(o, "T", 0) or read_int(msg, "E"),
        is_maker=read_bool(o, "m"),
        reduce_only=read_bool(o, "R"),
        close_position=read_bool(o, "cp"),
        position_side=read_text(o, "ps", "BOTH"),
    )


def _account_update(msg: dict, received_at_ms: int) -> AccountUpdate:
    a = read_field(msg, "a", MISSING)
    balances = tuple(
        BalanceChange(
            asset=read_text(b, "a"),
            wallet=read_decimal(b, "wb"),
            cross_wallet=read_decimal(b, "cw", "0"),
            balance_change=read_decimal(b, "bc", "0"),
        )
        for b in read_field(a, "B", [])
    )
    positions = tuple(
        PositionChange(
            symbol=read_text(p, "s"),
            amount=read_decimal(p, "pa"),
            entry_price=read_decimal(p, "ep", "0"),
            breakeven_price=read_decimal(p, "bep", "0"),
            unrealised_pnl=read_decimal(p, "up", "0"),
            margin_type=read_text(p, "mt", "cross"),
            position_side=read_text(p, "ps", "BOTH"),
        )
        for p in read_field(a, "P", [])
    )
    symbol = read_field(a, "S", None)  # lenient: only a key for funding payments
    return AccountUpdate(
        event_time_ms=read_int(msg, "E"),
        transaction_time_ms=read_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        reason=read_text(a, "m", ""),
        balances=balances,
        positions=positions,
        symbol=symbol if isinstance(symbol, str) and symbol and is_storable_text(symbol) else None,
    )


def _algo_update(msg: dict, received_at_ms: int) -> AlgoUpdate:
    # The docs label T "event time" and E "transaction time" here, the reverse of
    # every other event; the successor SDK treats E as event time, and so do we.
    o = read_field(msg, "o", MISSING)
    return AlgoUpdate(
        event_time_ms=read_int(msg, "E"),
        transaction_time_ms=read_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        client_algo_id=read_text(o, "caid"),
        algo_id=read_int(o, "aid"),
        algo_type=read_text(o, "at", "CONDITIONAL"),
        order_type=read_text(o, "o"),
        symbol=read_text(o, "s"),
        side=read_text(o, "S"),
        position_side=read_text(o, "ps", "BOTH"),
        qty=read_decimal(o, "q", "0"),
        status=read_text(o, "X"),
        actual_order_id=optional_id(read_field(o, "ai", "")),
        avg_price=read_decimal(o, "ap", "0"),
        executed_qty=read_decimal(o, "aq", "0"),
        trigger_price=read_decimal(o, "tp", "0"),
        price=read_decimal(o, "p", "0"),
        working_type=read_text(o, "wt", ""),
        close_position=read_bool(o, "cp"),
        reduce_only=read_bool(o, "R"),
        reject_reason=read_text(o, "rm", ""),
    )


def _trade_lite(msg: dict, received_at_ms: int) -> TradeLite:
    return TradeLite(
        event_time_ms=read_int(msg, "E"),
        transaction_time_ms=read_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=read_text(msg, "s"),
        client_order_id=read_text(msg, "c"),
        order_id=read_int(msg, "i"),
        side=read_text(msg, "S"),
        last_qty=read_decimal(msg, "l"),
        last_price=read_decimal(msg, "L"),
        trade_id=read_int(msg, "t"),
    )


def _margin_call(msg: dict, received_at_ms: int) -> MarginCall:
    positions = tuple(
        MarginCallPosition(
            symbol=read_text(p, "s"),
            position_side=read_text(p, "ps", "BOTH"),
            amount=read_decimal(p, "pa"),
            mark_price=read_decimal(p, "mp", "0"),
            unrealised_pnl=read_decimal(p, "up", "0"),
            maint_margin=read_decimal(p, "mm", "0"),
        )
        for p in read_field(msg, "p", [])
    )
    return MarginCall(
        event_time_ms=read_int(msg, "E"),
        received_at_ms=received_at_ms,
        cross_wallet=read_decimal(msg, "cw") if "cw" in msg else None,
        positions=positions,
    )


def _account_config_update(msg: dict, received_at_ms: int) -> AccountConfigUpdate:
    leverage_change = read_field(msg, "ac", None)
    assets_mode = read_field(msg, "ai", None)
    return AccountConfigUpdate(
        event_time_ms=read_int(msg, "E"),
        transaction_time_ms=read_int(msg, "T", 0),
        received_at_ms=received_at_ms,
        symbol=read_text(leverage_change, "s") if leverage_change else None,
        leverage=read_int(leverage_change, "l") if leverage_change else None,
        multi_assets=read_bool(assets_mode, "j") if assets_mode else None,
    )


def _listen_key_expired(msg: dict, received_at_ms: int) -> ListenKeyExpired:
    return ListenKeyExpired(
        event_time_ms=read_int(msg, "E"),
        received_at_ms=received_at_ms,
        listen_key=read_text(msg, "listenKey", ""),
    )


# Fast parsers for the high-volume event types. They index the payload directly and
# accept only the plain shapes Binance sends (text as str, amounts as decimal strings
# or ints, ids and times as ints, booleans as JSON booleans). Anything else raises, and
# parse_user_data then runs the checked parser above, which accepts the same lenient
# forms (digit-string ids, "true"/"false") and names the bad field: the fast path is
# never looser than the checked one, only quicker on well-formed payloads.
_FAST_FAILURES = (FieldError, KeyError, TypeError, AttributeError, ArithmeticError, ValueError)


def _t(value: Any) -> str:
    if value.__class__ is str and (value.isascii() or is_storable_text(value)):
        return value
    raise FieldError("not text")


def _d(value: Any) -> Decimal:
    if value.__class__ is str or value.__class__ is int:
        number = Decimal(value)
        # is_storable_amount, inlined: this runs for every amount of every event
        if number.is_finite() and (
            not number or MIN_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_ADJUSTED_EXPONENT
        ):
            return number
    raise FieldError("not a finite decimal")


def _i(value: Any) -> int:
    if value.__class__ is int and 0 <= value <= MAX_ID:
        return value
    raise FieldError("not an integer")


def _b(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise FieldError("not a boolean")


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
    symbol = _t(a.get("S", ""))
    return AccountUpdate(
        event_time_ms=_i(msg["E"]),
        transaction_time_ms=_i(msg.get("T", 0)),
        received_at_ms=received_at_ms,
        reason=_t(a.get("m", "")),
        balances=balances,
        positions=positions,
        symbol=symbol or None,
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
        actual_order_id=optional_id(get("ai", "")),
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
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: deep nesting
        raise MalformedPayload(f"not JSON: {type(exc).__name__}: {exc}", str(raw)) from None
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
    except Exception as exc:  # untrusted input: whatever it breaks, it is malformed
        raise MalformedPayload(f"{kind}: {exc}", raw) from None
