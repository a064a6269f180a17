"""The REST endpoint table: (method, path) → security, weight and the exchange call.

Weights are EXCHANGE-FACTS §3. Declared as data so a reader can check them against the
docs in one screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.sim.auth import Security
from bot.sim.gateway import Route
from bot.sim.venue import Json

if TYPE_CHECKING:
    from bot.sim.exchange import Exchange

NONE, STREAM, SIGNED = Security.NONE, Security.USER_STREAM, Security.SIGNED


def _klines_weight(params: dict[str, str]) -> int:
    limit = int(params.get("limit") or 500) if (params.get("limit") or "500").isdigit() else 500
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


def _with_symbol(light: int, heavy: int) -> Callable[[dict[str, str]], int]:
    return lambda params: light if params.get("symbol") else heavy


def _depth_weight(params: dict[str, str]) -> int:
    limit = params.get("limit") or "500"
    return {"100": 5, "500": 10, "1000": 20}.get(limit, 2)


def build_routes(ex: Exchange) -> dict[tuple[str, str], Route]:
    r = {
        ("GET", "/fapi/v1/ping"): Route(NONE, 1, lambda p: {}),
        ("GET", "/fapi/v1/time"): Route(NONE, 1, lambda p: {"serverTime": ex.now_ms()}),
        ("GET", "/fapi/v1/exchangeInfo"): Route(NONE, 1, lambda p: ex.exchange_info()),
        ("GET", "/fapi/v1/klines"): Route(NONE, _klines_weight, ex.klines),
        ("GET", "/fapi/v1/premiumIndex"): Route(NONE, _with_symbol(1, 10), ex.premium_index),
        ("GET", "/fapi/v1/ticker/price"): Route(NONE, _with_symbol(1, 2), ex.ticker_price),
        ("GET", "/fapi/v2/ticker/price"): Route(NONE, _with_symbol(1, 2), ex.ticker_price),
        ("GET", "/fapi/v1/ticker/24hr"): Route(NONE, _with_symbol(1, 40), ex.ticker_24hr),
        ("GET", "/fapi/v1/depth"): Route(NONE, _depth_weight, ex.depth),
        # Binance: "share 500/5min/IP rate limit with GET /fapi/v1/fundingInfo", not the
        # 2400/min request weight; the sim charges no weight for it (that pool is not modelled).
        ("GET", "/fapi/v1/fundingRate"): Route(NONE, 0, ex.funding_rate_history),
        ("POST", "/fapi/v1/listenKey"): Route(
            STREAM, 1, lambda p: {"listenKey": ex.listen_keys.create(ex.now_ms())}
        ),
        ("PUT", "/fapi/v1/listenKey"): Route(
            STREAM,
            1,
            lambda p: {"listenKey": ex.listen_keys.keepalive(ex.now_ms())},
        ),
        ("DELETE", "/fapi/v1/listenKey"): Route(STREAM, 1, lambda p: _close_key(ex)),
        # account
        ("GET", "/fapi/v3/account"): Route(SIGNED, 5, ex.account_info),
        ("GET", "/fapi/v2/account"): Route(SIGNED, 5, ex.account_info),
        ("GET", "/fapi/v3/balance"): Route(SIGNED, 5, ex.balances),
        ("GET", "/fapi/v2/balance"): Route(SIGNED, 5, ex.balances),
        ("GET", "/fapi/v3/positionRisk"): Route(SIGNED, 5, ex.position_risk),
        ("GET", "/fapi/v2/positionRisk"): Route(SIGNED, 5, ex.position_risk),
        ("GET", "/fapi/v1/symbolConfig"): Route(SIGNED, 5, ex.symbol_config),
        ("GET", "/fapi/v1/accountConfig"): Route(SIGNED, 5, ex.account_config),
        ("GET", "/fapi/v1/leverageBracket"): Route(SIGNED, 1, ex.leverage_brackets),
        ("POST", "/fapi/v1/leverage"): Route(SIGNED, 1, ex.change_leverage),
        ("POST", "/fapi/v1/marginType"): Route(SIGNED, 1, ex.change_margin_type),
        ("GET", "/fapi/v1/positionSide/dual"): Route(SIGNED, 30, ex.get_position_mode),
        ("POST", "/fapi/v1/positionSide/dual"): Route(SIGNED, 1, ex.change_position_mode),
        ("GET", "/fapi/v1/income"): Route(SIGNED, 30, ex.income_history),
        ("GET", "/fapi/v1/userTrades"): Route(SIGNED, 5, ex.user_trades),
        ("GET", "/fapi/v1/commissionRate"): Route(SIGNED, 20, ex.commission_rate),
        # regular orders
        ("POST", "/fapi/v1/order"): Route(SIGNED, 0, ex.new_order, counts_order=True),
        ("GET", "/fapi/v1/order"): Route(SIGNED, 1, ex.query_order),
        ("DELETE", "/fapi/v1/order"): Route(SIGNED, 1, ex.cancel_order),
        ("GET", "/fapi/v1/openOrder"): Route(SIGNED, 1, ex.query_open_order),
        ("GET", "/fapi/v1/openOrders"): Route(SIGNED, _with_symbol(1, 40), ex.open_orders),
        ("GET", "/fapi/v1/allOrders"): Route(SIGNED, 5, ex.all_orders),
        ("DELETE", "/fapi/v1/allOpenOrders"): Route(SIGNED, 1, ex.cancel_all_orders),
        ("POST", "/fapi/v1/countdownCancelAll"): Route(SIGNED, 10, ex.countdown_cancel_all),
        # algo (conditional) orders
        ("POST", "/fapi/v1/algoOrder"): Route(SIGNED, 0, ex.new_algo_order, counts_order=True),
        ("GET", "/fapi/v1/algoOrder"): Route(SIGNED, 1, ex.query_algo_order),
        ("DELETE", "/fapi/v1/algoOrder"): Route(SIGNED, 1, ex.cancel_algo_order),
        ("GET", "/fapi/v1/openAlgoOrders"): Route(SIGNED, _with_symbol(1, 40), ex.open_algo_orders),
        ("DELETE", "/fapi/v1/algoOpenOrders"): Route(SIGNED, 1, ex.cancel_all_algo_orders),
        ("GET", "/fapi/v1/allAlgoOrders"): Route(SIGNED, 5, ex.all_algo_orders),
    }
    return r


def _close_key(ex: Exchange) -> Json:
    """USDⓈ-M listenKey calls take no parameters: they act on the API key's one stream (a
    `listenKey` parameter, as binance-futures-connector sends, is ignored, not checked)."""
    ex.listen_keys.close(next(iter(ex.listen_keys.expiry), None))
    return {}
