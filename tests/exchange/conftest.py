"""Shared fixtures: a Binance-shaped exchangeInfo entry for a USDC perpetual."""

from __future__ import annotations

import pytest


def symbol_info(
    symbol: str = "BTCUSDC", *, margin_asset: str = "USDC", status: str = "TRADING"
) -> dict:
    return {
        "symbol": symbol,
        "pair": symbol,
        "contractType": "PERPETUAL",
        "status": status,
        "marginAsset": margin_asset,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "261.10",
                "maxPrice": "809484",
                "tickSize": "0.10",
            },
            {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": "0.001",
                "maxQty": "120",
                "minQty": "0.001",
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
    }


@pytest.fixture
def btc_info() -> dict:
    return symbol_info()
