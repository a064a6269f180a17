"""BTCUSDC filters as Binance publishes them for USDC perpetuals, shared by the pure tests."""

from bot.domain.rules import SymbolRules
from bot.exchange.rules import rules_from_exchange_info

BTCUSDC_INFO = {
    "symbol": "BTCUSDC",
    "contractType": "PERPETUAL",
    "status": "TRADING",
    "marginAsset": "USDC",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.1", "maxPrice": "1000000", "tickSize": "0.1"},
        {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120", "stepSize": "0.001"},
        {"filterType": "MIN_NOTIONAL", "notional": "5"},
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "1.05",
            "multiplierDown": "0.95",
            "multiplierDecimal": "4",
        },
    ],
}


def btc_rules() -> SymbolRules:
    return rules_from_exchange_info(BTCUSDC_INFO)
