"""The simulator's instruments, declared as data, and the exchangeInfo answer built from them.

Filter values follow Binance's own BTC/ETH perpetuals (tick 0.10 with pricePrecision 2, so a
price like 60000.05 is a tick mismatch (-4014) while 60000.123 is over precision (-1111)).
One USDT symbol is listed so the bot's USDC-only check has something to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.sim.venue import Json

ORDER_TYPES = (
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX", "GTD")


@dataclass(frozen=True)
class SymbolSpec:
    symbol: str
    base_asset: str
    quote_asset: str
    base_price: Decimal
    tick_size: Decimal
    price_precision: int
    step_size: Decimal
    quantity_precision: int
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    min_price: Decimal
    max_price: Decimal
    onboard_ms: int = 1569398400000
    liquidation_fee: Decimal = Decimal("0.0125")  # clearance fee rate (exchangeInfo)

    @property
    def margin_asset(self) -> str:
        return self.quote_asset


def default_symbols() -> dict[str, SymbolSpec]:
    """A fresh table per simulator, so tests may alter their own copy."""
    specs = [
        SymbolSpec(
            "BTCUSDC",
            "BTC",
            "USDC",
            Decimal("60000"),
            Decimal("0.10"),
            2,
            Decimal("0.001"),
            3,
            Decimal("0.001"),
            Decimal("1000"),
            Decimal("120"),
            Decimal("5"),
            Decimal("556.80"),
            Decimal("4529764"),
        ),
        SymbolSpec(
            "ETHUSDC",
            "ETH",
            "USDC",
            Decimal("3000"),
            Decimal("0.01"),
            2,
            Decimal("0.001"),
            3,
            Decimal("0.001"),
            Decimal("10000"),
            Decimal("2000"),
            Decimal("5"),
            Decimal("39.86"),
            Decimal("306177"),
        ),
        SymbolSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            Decimal("60000"),
            Decimal("0.10"),
            2,
            Decimal("0.001"),
            3,
            Decimal("0.001"),
            Decimal("1000"),
            Decimal("120"),
            Decimal("100"),
            Decimal("556.80"),
            Decimal("4529764"),
        ),
    ]
    return {s.symbol: s for s in specs}


def spec_from_info(entry: Json) -> SymbolSpec:
    """A real venue's ``symbols[]`` entry as the engine's instrument (dry-run trades the
    venue's own filters). The inverse of :func:`symbol_info`; raises KeyError/ValueError
    on an entry without the filters the engine checks."""
    filters = {f["filterType"]: f for f in entry["filters"]}
    price, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
    market_lot = filters.get("MARKET_LOT_SIZE", lot)
    return SymbolSpec(
        symbol=entry["symbol"],
        base_asset=entry["baseAsset"],
        quote_asset=entry["marginAsset"],
        base_price=Decimal(0),  # the seeded path's start: unused, the venue prices it
        tick_size=Decimal(price["tickSize"]),
        price_precision=int(entry["pricePrecision"]),
        step_size=Decimal(lot["stepSize"]),
        quantity_precision=int(entry["quantityPrecision"]),
        min_qty=Decimal(lot["minQty"]),
        max_qty=Decimal(lot["maxQty"]),
        market_max_qty=Decimal(market_lot["maxQty"]),
        min_notional=Decimal(filters["MIN_NOTIONAL"]["notional"]),
        min_price=Decimal(price["minPrice"]),
        max_price=Decimal(price["maxPrice"]),
        onboard_ms=int(entry.get("onboardDate", 0)),
        liquidation_fee=Decimal(entry.get("liquidationFee", "0.0125")),
    )


def symbol_info(spec: SymbolSpec) -> Json:
    """One `symbols[]` entry of GET /fapi/v1/exchangeInfo."""
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": spec.onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
        "marginAsset": spec.margin_asset,
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": f"{spec.liquidation_fee:.6f}",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": f"{spec.min_price:f}",
                "maxPrice": f"{spec.max_price:f}",
                "tickSize": f"{spec.tick_size:f}",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": f"{spec.min_qty:f}",
                "maxQty": f"{spec.max_qty:f}",
                "stepSize": f"{spec.step_size:f}",
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": f"{spec.min_qty:f}",
                "maxQty": f"{spec.market_max_qty:f}",
                "stepSize": f"{spec.step_size:f}",
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": f"{spec.min_notional:f}"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": list(ORDER_TYPES),
        "timeInForce": list(TIME_IN_FORCE),
    }


def exchange_info(specs: dict[str, SymbolSpec], server_time_ms: int) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "USDC", "marginAvailable": True, "autoAssetExchange": "-10000"},
        ],
        "symbols": [symbol_info(s) for s in specs.values()],
    }
