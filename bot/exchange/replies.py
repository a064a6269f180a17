"""Shape checks of Binance replies: what a reply must hold before the client returns it.

Every reply is untrusted input. A proxy's HTML page, an empty body, a list where an
object belongs, ``{"code": -2021, ...}`` on HTTP 200 or a number that does not parse
all raise ``MalformedReply`` here, so no KeyError / InvalidOperation / AttributeError
leaves ``bot/exchange``. Return types stay the raw dicts and lists; only their shape
is guaranteed: the fields named here are present and parse.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bot.exchange.errors import MalformedReply

ORDER_NUMBERS = ("price", "avgPrice", "origQty", "executedQty", "cumQuote", "stopPrice")
ALGO_NUMBERS = ("quantity", "triggerPrice", "price")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def obj(reply: Any, what: str) -> dict:
    """A JSON object that is not an error body (Binance error bodies carry a negative code)."""
    if not isinstance(reply, dict):
        raise MalformedReply(f"{what}: expected a JSON object, got {_short(reply)}")
    code = reply.get("code")
    if isinstance(code, int | str) and str(code).lstrip("-").isdigit() and int(code) < 0:
        raise MalformedReply(f"{what}: error body on a success status: {_short(reply)}")
    return reply


def rows(reply: Any, what: str) -> list[dict]:
    """A JSON list of objects."""
    if not isinstance(reply, list) or not all(isinstance(row, dict) for row in reply):
        raise MalformedReply(f"{what}: expected a list of objects, got {_short(reply)}")
    return reply


def text(row: dict, key: str, what: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedReply(f"{what}: field {key!r} is not a non-empty string: {_short(value)}")
    return value


def integer(row: dict, key: str | int, what: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedReply(f"{what}: field {key!r} is not an integer: {_short(value)}")
    try:
        return int(value)
    except ValueError:
        raise MalformedReply(f"{what}: field {key!r} is not an integer: {_short(value)}") from None


def number(row: dict, key: str | int, what: str, *, positive: bool = False) -> Decimal:
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


def _numbers_present(row: dict, keys: tuple[str, ...], what: str) -> None:
    for key in keys:
        if row.get(key) not in (None, ""):
            number(row, key, what)


def order(
    reply: Any, what: str, *, client_id: str | None = None, order_id: int | None = None
) -> dict:
    """A regular order (ack, query or cancel): ``clientOrderId`` (this one when given),
    ``orderId``, ``status`` and its numbers."""
    row = obj(reply, what)
    got_client_id = text(row, "clientOrderId", what)
    if client_id is not None and got_client_id != client_id:
        raise MalformedReply(f"{what}: reply is for client id {got_client_id!r}")
    got_order_id = integer(row, "orderId", what)
    if order_id is not None and got_order_id != order_id:
        raise MalformedReply(f"{what}: reply is for order id {got_order_id}")
    text(row, "status", what)
    _numbers_present(row, ORDER_NUMBERS, what)
    return row


def algo_order(reply: Any, what: str, *, client_algo_id: str | None = None) -> dict:
    """An algo order (ack or query): ``clientAlgoId`` (this one when given), ``algoId``,
    ``algoStatus`` and its numbers."""
    row = obj(reply, what)
    got = text(row, "clientAlgoId", what)
    if client_algo_id is not None and got != client_algo_id:
        raise MalformedReply(f"{what}: reply is for client algo id {got!r}")
    integer(row, "algoId", what)
    text(row, "algoStatus", what)
    _numbers_present(row, ALGO_NUMBERS, what)
    return row


def algo_cancel(reply: Any, what: str, *, client_algo_id: str) -> dict:
    """``DELETE /fapi/v1/algoOrder`` acknowledges with this ``clientAlgoId`` and code "200"."""
    row = obj(reply, what)
    if row.get("clientAlgoId") != client_algo_id or str(row.get("code")) != "200":
        raise MalformedReply(f"{what}: not an acknowledgement of this cancel: {_short(reply)}")
    return row


def done(reply: Any, what: str) -> dict:
    """``{"code": 200, "msg": ...}``: cancel-all and account settings that succeeded."""
    row = obj(reply, what)
    if "code" in row and str(row["code"]) != "200":
        raise MalformedReply(f"{what}: not a success: {_short(reply)}")
    return row


def positions(reply: Any, what: str) -> list[dict]:
    for row in rows(reply, what):
        text(row, "symbol", what)
        number(row, "positionAmt", what)
        _numbers_present(row, ("entryPrice", "markPrice", "unRealizedProfit"), what)
    return reply


def orders(reply: Any, what: str) -> list[dict]:
    return [order(row, what) for row in rows(reply, what)]


def algo_orders(reply: Any, what: str) -> list[dict]:
    """``openAlgoOrders`` answers a list (older docs: ``{"orders": [...]}``)."""
    listed = reply.get("orders") if isinstance(reply, dict) and "orders" in reply else reply
    return [algo_order(row, what) for row in rows(listed, what)]


def account(reply: Any, what: str) -> dict:
    """``v3/account`` with an ``assets`` list; each asset named, its balances numbers."""
    row = obj(reply, what)
    for asset in rows(row.get("assets"), f"{what} assets"):
        text(asset, "asset", what)
        _numbers_present(asset, ("walletBalance", "crossWalletBalance", "availableBalance"), what)
    return row


def klines(reply: Any, what: str) -> list[list]:
    """Rows ``[open_time, open, high, low, close, volume, close_time, ...]``."""
    if not isinstance(reply, list) or not all(
        isinstance(row, list) and len(row) >= 7 for row in reply
    ):
        raise MalformedReply(f"{what}: expected kline rows, got {_short(reply)}")
    for row in reply:
        fields = dict(enumerate(row))
        integer(fields, 0, what)
        integer(fields, 6, what)
        for index in range(1, 6):
            number(fields, index, what)
    return reply


def income(reply: Any, what: str) -> list[dict]:
    for row in rows(reply, what):
        text(row, "incomeType", what)
        number(row, "income", what)
        integer(row, "time", what)
    return reply


def trades(reply: Any, what: str) -> list[dict]:
    for row in rows(reply, what):
        integer(row, "id", what)
        integer(row, "time", what)
        number(row, "qty", what, positive=True)
        number(row, "price", what, positive=True)
        _numbers_present(row, ("commission", "realizedPnl"), what)
    return reply


def symbols(reply: Any, what: str) -> dict[str, dict]:
    """exchangeInfo's symbols by name."""
    entries = rows(obj(reply, what).get("symbols"), f"{what} symbols")
    return {text(entry, "symbol", what): entry for entry in entries}


def listen_key(reply: Any, what: str) -> str:
    return text(obj(reply, what), "listenKey", what)


def flag(reply: Any, key: str, what: str) -> bool:
    value = obj(reply, what).get(key)
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise MalformedReply(f"{what}: field {key!r} is not a boolean: {_short(value)}")
