"""Shape checks of Binance replies: what a reply must hold before the client returns it.

Every reply is untrusted input. A proxy's HTML page, an empty body, a list where an
object belongs, ``{"code": -2021, ...}`` on HTTP 200 or a number that does not parse
all raise ``MalformedReply`` here, so no KeyError / InvalidOperation / AttributeError
leaves ``bot/exchange``. Orders, positions, trades, income and the account are decoded
into the records of ``bot.domain.records`` (``bot.exchange.wire``); an acknowledgement
must acknowledge *this* order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec

from bot.domain.records import (
    Account,
    AccountConfig,
    AlgoOrder,
    CommissionRate,
    Income,
    Kline,
    Order,
    Position,
    SymbolConfig,
    Trade,
)
from bot.exchange.errors import MalformedReply
from bot.exchange.fields import FieldError
from bot.exchange.wire import (
    AccountConfigWire,
    AccountWire,
    AlgoOrderWire,
    CommissionRateWire,
    IncomeWire,
    OrderWire,
    PositionWire,
    SymbolConfigWire,
    TradeWire,
    to_account,
    to_account_config,
    to_algo_order,
    to_commission_rate,
    to_income,
    to_order,
    to_position,
    to_symbol_config,
    to_trade,
)
from bot.exchange.wire import decode as wire_decode

W = TypeVar("W", bound=msgspec.Struct)
R = TypeVar("R")
K = TypeVar("K", str, int)  # a field's key: an object's name, a kline row's index

JsonObject = dict[str, Any]
"""A decoded JSON object; its values are unchecked until read through the helpers here."""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def obj(reply: object, what: str) -> JsonObject:
    """A JSON object that is not an error body (Binance error bodies carry a negative code)."""
    if not isinstance(reply, dict):
        raise MalformedReply(f"{what}: expected a JSON object, got {_short(reply)}")
    code = reply.get("code")
    if isinstance(code, int | str) and str(code).lstrip("-").isdigit() and int(code) < 0:
        raise MalformedReply(f"{what}: error body on a success status: {_short(reply)}")
    return reply


def rows(reply: object, what: str) -> list[JsonObject]:
    """A JSON list of objects."""
    if not isinstance(reply, list) or not all(isinstance(row, dict) for row in reply):
        raise MalformedReply(f"{what}: expected a list of objects, got {_short(reply)}")
    return reply


def text(row: Mapping[str, object], key: str, what: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedReply(f"{what}: field {key!r} is not a non-empty string: {_short(value)}")
    return value


def integer(row: Mapping[K, object], key: K, what: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedReply(f"{what}: field {key!r} is not an integer: {_short(value)}")
    try:
        return int(value)
    except ValueError:
        raise MalformedReply(f"{what}: field {key!r} is not an integer: {_short(value)}") from None


def number(row: Mapping[K, object], key: K, what: str, *, positive: bool = False) -> Decimal:
    """A finite Decimal (from a string or an int; never a float's binary noise)."""
    value = row.get(key) if isinstance(row, dict) else None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidOperation
        parsed = Decimal(value)
    except InvalidOperation:
        raise MalformedReply(f"{what}: field {key!r} is not a number: {_short(value)}") from None
    if not parsed.is_finite() or (positive and parsed <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise MalformedReply(f"{what}: field {key!r} is not {kind}: {_short(value)}")
    return parsed


def _decode(row: object, wire: type[W], to_record: Callable[[W], R], what: str) -> R:
    try:
        return wire_decode(obj(row, what), wire, to_record)
    except FieldError as error:
        raise MalformedReply(f"{what}: {error}") from None


def _decode_rows(reply: object, wire: type[W], to_record: Callable[[W], R], what: str) -> list[R]:
    return [_decode(row, wire, to_record, what) for row in rows(reply, what)]


def order(
    reply: object, what: str, *, client_id: str | None = None, order_id: int | None = None
) -> Order:
    """A regular order (ack, query or cancel), acknowledging *this* order when
    ``client_id`` / ``order_id`` are given."""
    decoded = _decode(reply, OrderWire, to_order, what)
    if client_id is not None and decoded.client_order_id != client_id:
        raise MalformedReply(f"{what}: reply is for client id {decoded.client_order_id!r}")
    if order_id is not None and decoded.order_id != order_id:
        raise MalformedReply(f"{what}: reply is for order id {decoded.order_id}")
    return decoded


def algo_order(reply: object, what: str, *, client_algo_id: str | None = None) -> AlgoOrder:
    """An algo order (ack or query), acknowledging *this* one when ``client_algo_id``
    is given."""
    decoded = _decode(reply, AlgoOrderWire, to_algo_order, what)
    if client_algo_id is not None and decoded.client_algo_id != client_algo_id:
        raise MalformedReply(f"{what}: reply is for client algo id {decoded.client_algo_id!r}")
    return decoded


def algo_cancel(reply: object, what: str, *, client_algo_id: str) -> bool:
    """``DELETE /fapi/v1/algoOrder`` acknowledges with this ``clientAlgoId`` and code "200"."""
    row = obj(reply, what)
    if row.get("clientAlgoId") != client_algo_id or str(row.get("code")) != "200":
        raise MalformedReply(f"{what}: not an acknowledgement of this cancel: {_short(reply)}")
    return True


def done(reply: object, what: str) -> None:
    """``{"code": 200, "msg": ...}``: cancel-all and account settings that succeeded."""
    row = obj(reply, what)
    if "code" in row and str(row["code"]) != "200":
        raise MalformedReply(f"{what}: not a success: {_short(reply)}")


def positions(reply: object, what: str) -> list[Position]:
    return _decode_rows(reply, PositionWire, to_position, what)


def orders(reply: object, what: str) -> list[Order]:
    return _decode_rows(reply, OrderWire, to_order, what)


def algo_orders(reply: object, what: str) -> list[AlgoOrder]:
    """``openAlgoOrders`` answers a list (older docs: ``{"orders": [...]}``)."""
    listed = reply.get("orders") if isinstance(reply, dict) and "orders" in reply else reply
    return _decode_rows(listed, AlgoOrderWire, to_algo_order, what)


def account(reply: object, what: str) -> Account:
    """``v3/account``: its ``assets``, each named, its balances numbers."""
    return _decode(reply, AccountWire, to_account, what)


def account_config(reply: object, what: str) -> AccountConfig:
    return _decode(reply, AccountConfigWire, to_account_config, what)


def symbol_configs(reply: object, what: str) -> list[SymbolConfig]:
    return _decode_rows(reply, SymbolConfigWire, to_symbol_config, what)


def commission_rate(reply: object, what: str) -> CommissionRate:
    return _decode(reply, CommissionRateWire, to_commission_rate, what)


def klines(reply: object, what: str) -> list[Kline]:
    """Rows ``[open_time, open, high, low, close, volume, close_time, ...]``."""
    if not isinstance(reply, list) or not all(
        isinstance(row, list) and len(row) >= 7 for row in reply
    ):
        raise MalformedReply(f"{what}: expected kline rows, got {_short(reply)}")
    return [_kline_as_sent(row) or _kline(row, what) for row in reply]


def _kline_as_sent(row: list[object]) -> Kline | None:
    """The row as Binance writes it (int times, decimal strings), or None for any other
    shape, which ``_kline`` then reads field by field (the same result, or its error).
    Candles are the bulk of every cycle's reply: this path skips the per-field checks."""
    open_ms, close_ms = row[0], row[6]
    texts = [text for text in row[1:6] if type(text) is str]
    if type(open_ms) is not int or type(close_ms) is not int or len(texts) != 5:
        return None
    try:
        open_, high, low, close, volume = (Decimal(text) for text in texts)
    except InvalidOperation:
        return None
    if not all(value.is_finite() for value in (open_, high, low, close, volume)):
        return None
    return Kline(open_ms, open_, high, low, close, volume, close_ms)


def _kline(row: list[object], what: str) -> Kline:
    fields = dict(enumerate(row))
    open_, high, low, close, volume = (number(fields, i, what) for i in range(1, 6))
    open_ms, close_ms = integer(fields, 0, what), integer(fields, 6, what)
    return Kline(open_ms, open_, high, low, close, volume, close_ms)


def income(reply: object, what: str) -> list[Income]:
    return _decode_rows(reply, IncomeWire, to_income, what)


def trades(reply: object, what: str) -> list[Trade]:
    return _decode_rows(reply, TradeWire, to_trade, what)


def symbols(reply: object, what: str) -> dict[str, JsonObject]:
    """exchangeInfo's symbols by name."""
    entries = rows(obj(reply, what).get("symbols"), f"{what} symbols")
    return {text(entry, "symbol", what): entry for entry in entries}


def listen_key(reply: object, what: str) -> str:
    return text(obj(reply, what), "listenKey", what)


def flag(reply: object, key: str, what: str) -> bool:
    value = obj(reply, what).get(key)
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise MalformedReply(f"{what}: field {key!r} is not a boolean: {_short(value)}")
