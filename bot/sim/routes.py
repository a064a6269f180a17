"""The REST endpoint table: (method, path) → security, weight and the exchange call.

Weights are EXCHANGE-FACTS §3. Declared as data so a reader can check them against the
docs in one screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sim import errors
from bot.sim.auth import Security
from bot.sim.gateway import Route

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


def _with_symbol(light: int, heavy: int):
    return lambda params: light if params.get("symbol") else heavy


def build_routes(ex: Exchange) -> dict[tuple[str, str], Route]:
    r = {
        ("GET", "/fapi/v1/ping"): Route(NONE, 1, lambda p: {}),
        ("GET", "/fapi/v1/time"): Route(NONE, 1, lambda p: {"serverTime": ex.now_ms()}),
        ("GET", "/fapi/v1/exchangeInfo"): Route(NONE, 1, lambda p: ex.exchange_info()),
        ("GET", "/fapi/v1/klines"): Route(NONE, _klines_weight, ex.klines),
        ("GET", "/fapi/v1/premiumIndex"): Route(NONE, _with_symbol(1, 10), ex.premium_index),
        ("GET", "/fapi/v1/ticker/price"): Route(NONE, _with_symbol(1, 2), ex.ticker_price),
        ("GET", "/fapi/v2/ticker/price"): Route(NONE, _with_symbol(1, 2), ex.ticker_price),
        ("POST", "/fapi/v1/listenKey"): Route(
            STREAM, 1, lambda p: {"listenKey": ex.listen_keys.create(ex.now_ms())}
        ),
        ("PUT", "/fapi/v1/listenKey"): Route(
            STREAM,
            1,
            lambda p: {"listenKey": ex.listen_keys.keepalive(p.get("listenKey"), ex.now_ms())},
        ),
        ("DELETE", "/fapi/v1/listenKey"): Route(STREAM, 1, lambda p: _close_key(ex, p)),
    }
    return r


def require(params: dict[str, str], *names: str) -> list[str]:
    """The values of mandatory params, or -1102 naming the first one missing."""
    values = []
    for name in names:
        value = params.get(name)
        if value is None or value == "":
            raise errors.mandatory(name)
        values.append(value)
    return values


def _close_key(ex: Exchange, params: dict[str, str]) -> dict:
    ex.listen_keys.close(params.get("listenKey") or next(iter(ex.listen_keys.expiry), None))
    return {}
