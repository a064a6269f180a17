"""Symbol rules from exchangeInfo: the wire side of :mod:`bot.domain.rules`."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.rules import SymbolRules
from bot.exchange.replies import JsonObject

# Filters every USDⓈ-M symbol carries; a symbol without them cannot be traded safely.
_REQUIRED_FILTERS = ("PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MIN_NOTIONAL", "PERCENT_PRICE")


def tradable_usdc_perpetual(symbol_info: JsonObject) -> bool:
    """True for a USDC-margined perpetual that is currently trading."""
    return (
        symbol_info.get("contractType") == "PERPETUAL"
        and symbol_info.get("status") == "TRADING"
        and symbol_info.get("marginAsset") == "USDC"
    )


def rules_from_exchange_info(symbol_info: JsonObject) -> SymbolRules:
    """Build from one entry of ``exchangeInfo["symbols"]``.

    Raises ValueError if a filter is missing."""
    filters = {f["filterType"]: f for f in symbol_info.get("filters", [])}
    missing = [name for name in _REQUIRED_FILTERS if name not in filters]
    if missing:
        raise ValueError(f"{symbol_info.get('symbol')}: exchangeInfo lacks filters {missing}")
    price, lot, market = (
        filters["PRICE_FILTER"],
        filters["LOT_SIZE"],
        filters["MARKET_LOT_SIZE"],
    )
    percent = filters["PERCENT_PRICE"]
    return SymbolRules(
        symbol=symbol_info["symbol"],
        margin_asset=symbol_info.get("marginAsset", ""),
        tick_size=Decimal(price["tickSize"]),
        min_price=Decimal(price["minPrice"]),
        max_price=Decimal(price["maxPrice"]),
        step_size=Decimal(lot["stepSize"]),
        min_qty=Decimal(lot["minQty"]),
        max_qty=Decimal(lot["maxQty"]),
        market_step_size=Decimal(market["stepSize"]),
        market_min_qty=Decimal(market["minQty"]),
        market_max_qty=Decimal(market["maxQty"]),
        min_notional=Decimal(filters["MIN_NOTIONAL"]["notional"]),
        multiplier_up=Decimal(percent["multiplierUp"]),
        multiplier_down=Decimal(percent["multiplierDown"]),
    )
