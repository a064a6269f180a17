"""Build order parameter dicts from Decimal values (pure).

Callers never hand the SDK a float or a Python bool: the SDK would send
``1e-05`` / ``0.30000000000000004`` (-1111) and ``True``. Everything here leaves
as a plain decimal string and ``"true"``/``"false"``. Conditional orders (stop
loss, take profit) are built for ``POST /fapi/v1/algoOrder``: since 2025-12-09
Binance rejects those types on ``/fapi/v1/order`` with -4120.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain.enums import OrderType, Side, WorkingType
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


def wire_working_type(word: str) -> str:
    """MARK_PRICE → MARK_PRICE; LAST_PRICE (config word) → CONTRACT_PRICE (wire word)."""
    return to_enum(WorkingType, word, "working_type")


def _side(side: str) -> str:
    return to_enum(Side, side, "side")


def market_order_params(
    symbol: str, side: str, qty: Decimal, client_id: str, *, reduce_only: bool = False
) -> dict:
    """A MARKET order for ``POST /fapi/v1/order``; RESULT so the fill comes back at once."""
    params = {
        "symbol": symbol,
        "side": _side(side),
        "type": "MARKET",
        "quantity": decimal_str(qty, "quantity"),
        "newClientOrderId": client_id,
        "newOrderRespType": "RESULT",
    }
    if reduce_only:
        params["reduceOnly"] = "true"
    return params


def _conditional(
    symbol: str,
    side: str,
    order_type: str,
    trigger: Decimal,
    client_algo_id: str,
    qty: Decimal | None,
    close_position: bool,
    working_type: str,
    price_protect: bool,
) -> dict:
    """Common part of an exit algo order: reduce-only with a quantity, or closePosition.

    closePosition excludes both quantity and reduceOnly (Binance rejects the mix).
    """
    if (qty is None) == (not close_position):
        raise ValueError("give exactly one of qty (reduce-only) or close_position=True")
    params = {
        "algoType": "CONDITIONAL",
        "symbol": symbol,
        "side": _side(side),
        "type": order_type,
        "triggerPrice": decimal_str(trigger, "triggerPrice"),
        "workingType": wire_working_type(working_type),
        "priceProtect": flag(price_protect),
        "clientAlgoId": client_algo_id,
    }
    if close_position:
        params["closePosition"] = "true"
    else:
        params["quantity"] = decimal_str(qty, "quantity")
        params["reduceOnly"] = "true"
    return params


def stop_loss_params(
    symbol: str,
    side: str,
    trigger: Decimal,
    client_algo_id: str,
    *,
    qty: Decimal | None = None,
    close_position: bool = False,
    working_type: str = "MARK_PRICE",
    price_protect: bool = True,
) -> dict:
    """A STOP_MARKET exit for ``POST /fapi/v1/algoOrder``; ``side`` closes the position."""
    return _conditional(
        symbol,
        side,
        "STOP_MARKET",
        trigger,
        client_algo_id,
        qty,
        close_position,
        working_type,
        price_protect,
    )


def take_profit_params(
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
) -> dict:
    """A take-profit exit for ``POST /fapi/v1/algoOrder``.

    ``style`` TAKE_PROFIT is a limit order at ``price`` once ``trigger`` is hit
    (closePosition is not allowed for it); TAKE_PROFIT_MARKET needs no price.
    """
    if style not in TP_STYLES:
        raise ValueError(f"tp_order_style {style!r} is not one of {sorted(TP_STYLES)}")
    if style == "TAKE_PROFIT" and (price is None or close_position):
        raise ValueError("TAKE_PROFIT needs a price and a quantity (closePosition is market-only)")
    if style == "TAKE_PROFIT_MARKET" and price is not None:
        raise ValueError("TAKE_PROFIT_MARKET takes no price")
    params = _conditional(
        symbol,
        side,
        style,
        trigger,
        client_algo_id,
        qty,
        close_position,
        working_type,
        price_protect,
    )
    if price is not None:
        params["price"] = decimal_str(price, "price")
        params["timeInForce"] = "GTC"
    return params
