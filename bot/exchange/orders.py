"""Orders to send: typed requests built from Decimal values, and their wire parameters.

The rest of the bot builds :class:`~bot.domain.records.OrderRequest` /
:class:`~bot.domain.records.AlgoOrderRequest` here (checked: Decimals, positive,
exactly one of quantity or closePosition) and hands them to the client; only
:func:`order_params` / :func:`algo_params` know Binance's parameter names. The SDK is
never handed a float or a Python bool: it would send ``1e-05`` /
``0.30000000000000004`` (-1111) and ``True``; everything leaves as a plain decimal
string and ``"true"``/``"false"``. Conditional orders (stop loss, take profit) go to
``POST /fapi/v1/algoOrder``: since 2025-12-09 Binance rejects those types on
``/fapi/v1/order`` with -4120.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.domain.enums import OrderType, Side, WorkingType
from bot.domain.records import AlgoOrderRequest, OrderRequest
from bot.exchange.vocabulary import to_enum

TP_STYLES = frozenset({OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_MARKET})


def decimal_str(value: Decimal, name: str = "value") -> str:
    """A positive finite Decimal as a plain string (``0.001``, never ``1E-3``)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a positive finite Decimal, got {value}")
    return f"{value:f}"


def flag(value: bool) -> str:
    return "true" if value else "false"


def wire_working_type(word: str) -> WorkingType:
    """MARK_PRICE → MARK_PRICE; LAST_PRICE (config word) → CONTRACT_PRICE (wire word)."""
    return to_enum(WorkingType, word, "working_type")


def _side(side: str) -> Side:
    return to_enum(Side, side, "side")


def market_order(
    symbol: str, side: str, qty: Decimal, client_id: str, *, reduce_only: bool = False
) -> OrderRequest:
    """A MARKET order (entry, or a reduce-only close)."""
    decimal_str(qty, "quantity")
    return OrderRequest(symbol, _side(side), qty, client_id, reduce_only)


def order_params(order: OrderRequest) -> dict[str, str]:
    """``POST /fapi/v1/order`` parameters; RESULT so the fill comes back at once."""
    params = {
        "symbol": order.symbol,
        "side": order.side.value,
        "type": "MARKET",
        "quantity": decimal_str(order.qty, "quantity"),
        "newClientOrderId": order.client_id,
        "newOrderRespType": "RESULT",
    }
    if order.reduce_only:
        params["reduceOnly"] = "true"
    return params


def _conditional(
    symbol: str,
    side: str,
    order_type: OrderType,
    trigger: Decimal,
    client_algo_id: str,
    qty: Decimal | None,
    close_position: bool,
    working_type: str,
    price_protect: bool,
    price: Decimal | None = None,
) -> AlgoOrderRequest:
    """Common part of an exit algo order: reduce-only with a quantity, or closePosition.

    closePosition excludes both quantity and reduceOnly (Binance rejects the mix).
    """
    if (qty is None) == (not close_position):
        raise ValueError("give exactly one of qty (reduce-only) or close_position=True")
    decimal_str(trigger, "triggerPrice")
    if qty is not None:
        decimal_str(qty, "quantity")
    if price is not None:
        decimal_str(price, "price")
    return AlgoOrderRequest(
        symbol=symbol,
        side=_side(side),
        order_type=order_type,
        trigger_price=trigger,
        client_id=client_algo_id,
        qty=qty,
        close_position=close_position,
        price=price,
        working_type=wire_working_type(working_type),
        price_protect=price_protect,
    )


def algo_params(order: AlgoOrderRequest) -> dict[str, str]:
    """``POST /fapi/v1/algoOrder`` parameters (``algoType=CONDITIONAL``)."""
    params = {
        "algoType": "CONDITIONAL",
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.order_type.value,
        "triggerPrice": decimal_str(order.trigger_price, "triggerPrice"),
        "workingType": order.working_type.value,
        "priceProtect": flag(order.price_protect),
        "clientAlgoId": order.client_id,
    }
    if order.close_position:
        params["closePosition"] = "true"
    elif order.qty is not None:
        params["quantity"] = decimal_str(order.qty, "quantity")
        params["reduceOnly"] = "true"
    if order.price is not None:
        params["price"] = decimal_str(order.price, "price")
        params["timeInForce"] = "GTC"
    return params


def stop_loss(
    symbol: str,
    side: str,
    trigger: Decimal,
    client_algo_id: str,
    *,
    qty: Decimal | None = None,
    close_position: bool = False,
    working_type: str = "MARK_PRICE",
    price_protect: bool = True,
) -> AlgoOrderRequest:
    """A STOP_MARKET exit; ``side`` closes the position."""
    return _conditional(
        symbol,
        side,
        OrderType.STOP_MARKET,
        trigger,
        client_algo_id,
        qty,
        close_position,
        working_type,
        price_protect,
    )


def take_profit(
    symbol: str,
    side: str,
    trigger: Decimal,
    client_algo_id: str,
    *,
    style: str = "TAKE_PROFIT_MARKET",
    price: Decimal | None = None,
    qty: Decimal | None = None,
    close_position: bool = False,
    working_type: str = "MARK_PRICE",
    price_protect: bool = True,
) -> AlgoOrderRequest:
    """A take-profit exit.

    ``style`` TAKE_PROFIT is a limit order at ``price`` once ``trigger`` is hit
    (closePosition is not allowed for it); TAKE_PROFIT_MARKET needs no price.
    """
    if style not in TP_STYLES:
        raise ValueError(f"tp_order_style {style!r} is not one of {sorted(TP_STYLES)}")
    if style == "TAKE_PROFIT" and (price is None or close_position):
        raise ValueError("TAKE_PROFIT needs a price and a quantity (closePosition is market-only)")
    if style == "TAKE_PROFIT_MARKET" and price is not None:
        raise ValueError("TAKE_PROFIT_MARKET takes no price")
    return _conditional(
        symbol,
        side,
        OrderType(style),
        trigger,
        client_algo_id,
        qty,
        close_position,
        working_type,
        price_protect,
        price,
    )


def sent_trigger_price(params: Mapping[str, object]) -> str | None:
    """The trigger price in an ``order_send`` audit record's params (the wire's name
    stays in this package): what an alert says a stop was placed at."""
    value = params.get("triggerPrice")
    return None if value is None else str(value)
