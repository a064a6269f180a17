"""Parameter checks shared by regular and algo orders, in Binance's order of rejection.

Precision first (-1111: more decimals than the symbol's precision), then the filter grid
(-4014 tick, -4023 step), then bounds. The SDK trap of floats sent as `1e-05` lands here
as -1111/-1130, as it would on Binance. A value that passes is returned at the symbol's
precision, as Binance echoes it (the successor SDK sends 0.01 as "0.01"; Binance answers
`origQty` "0.010" with quantityPrecision 3), so nothing downstream echoes the raw text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.sim import errors
from bot.sim.symbols import SymbolSpec

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
CONDITIONAL_TYPES = {
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
}
BOOLS = {"true": True, "false": False}


def decimal_param(params: dict[str, str], name: str) -> Decimal:
    """A mandatory decimal parameter (-1102 when absent)."""
    value = optional_decimal_param(params, name)
    if value is None:
        raise errors.mandatory(name)
    return value


def optional_decimal_param(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raise errors.illegal_value(name)
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise errors.illegal_value(name) from None


def bool_param(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in BOOLS:  # Binance accepts "true"/"TRUE"; Python's "True" too
        raise errors.illegal_value(name)
    return BOOLS[raw.lower()]


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_price(spec: SymbolSpec, price: Decimal) -> Decimal:
    if price <= 0:
        raise errors.bad_request(-4001, "Price less than 0.")
    if _decimals(price) > spec.price_precision:
        raise errors.bad_precision()
    if price % spec.tick_size != 0:
        raise errors.price_not_tick()
    if price < spec.min_price:
        raise errors.bad_request(-4013, f"Price less than min price {spec.min_price:f}.")
    if price > spec.max_price:
        raise errors.bad_request(-4002, "Price greater than max price.")
    return price.quantize(Decimal(1).scaleb(-spec.price_precision))


def check_quantity(spec: SymbolSpec, qty: Decimal, market: bool) -> Decimal:
    if qty <= 0:
        raise errors.qty_too_small()
    if _decimals(qty) > spec.quantity_precision:
        raise errors.bad_precision()
    if qty % spec.step_size != 0:
        raise errors.qty_not_step()
    if qty < spec.min_qty:
        raise errors.qty_below_min(f"{spec.min_qty:f}")
    if qty > (spec.market_max_qty if market else spec.max_qty):
        raise errors.bad_request(-4005, "Quantity greater than max quantity.")
    return qty.quantize(Decimal(1).scaleb(-spec.quantity_precision))


def check_percent_price(spec: SymbolSpec, side: str, price: Decimal, mark: Decimal) -> None:
    """PERCENT_PRICE: BUY ≤ mark × 1.05, SELL ≥ mark × 0.95."""
    if side == "BUY" and price > mark * Decimal("1.05"):
        limit = (mark * Decimal("1.05")).quantize(spec.tick_size)
        raise errors.price_too_high(f"{limit:f}")
    if side == "SELL" and price < mark * Decimal("0.95"):
        limit = (mark * Decimal("0.95")).quantize(spec.tick_size)
        raise errors.price_too_low(f"{limit:f}")


def check_side(params: dict[str, str]) -> str:
    side = params.get("side")
    if not side:
        raise errors.mandatory("side")
    if side not in ("BUY", "SELL"):
        raise errors.invalid_side()
    return side


def check_position_side(params: dict[str, str], dual_side: bool) -> str:
    """-4061 when positionSide does not fit the account's position mode."""
    side = params.get("positionSide") or "BOTH"
    if side not in ("BOTH", "LONG", "SHORT"):
        raise errors.illegal_value("positionSide")
    if (side == "BOTH") == dual_side:
        raise errors.position_side_mismatch()
    return side


def check_client_id(value: str | None) -> str | None:
    if value is not None and not CLIENT_ID.match(value):
        raise errors.invalid_client_id()
    return value


def check_working_type(params: dict[str, str]) -> str:
    working_type = params.get("workingType") or "CONTRACT_PRICE"
    if working_type not in ("MARK_PRICE", "CONTRACT_PRICE"):
        raise errors.illegal_value("workingType")
    return working_type
