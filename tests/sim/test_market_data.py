"""Market data and authentication, driven through the real UMFutures client."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures

from bot.sim import Simulator


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    return info.value


def test_exchange_info_lists_usdc_perpetuals_and_one_usdt_symbol(client: UMFutures) -> None:
    info = client.exchange_info()
    by_symbol = {s["symbol"]: s for s in info["symbols"]}
    assert by_symbol["BTCUSDC"]["marginAsset"] == "USDC"
    assert by_symbol["ETHUSDC"]["contractType"] == "PERPETUAL"
    assert by_symbol["BTCUSDT"]["marginAsset"] == "USDT"
    filters = {f["filterType"]: f for f in by_symbol["BTCUSDC"]["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert "STOP_MARKET" in by_symbol["BTCUSDC"]["orderTypes"]


def test_prices_agree_across_ticker_mark_and_klines(sim: Simulator, client: UMFutures) -> None:
    sim.set_prices("BTCUSDC", last=Decimal("61000.5"), mark=Decimal("61010.25"))
    assert client.ticker_price("BTCUSDC")["price"] == "61000.50"
    assert Decimal(client.mark_price("BTCUSDC")["markPrice"]) == Decimal("61010.25")
    assert client.klines("BTCUSDC", "1m", limit=3)[-1][4] == "61000.50"


def test_closed_klines_are_stable_and_advance_moves_the_clock(
    sim: Simulator, client: UMFutures
) -> None:
    first = client.klines("BTCUSDC", "1m", limit=50)
    before = sim.now_ms()
    sim.advance(120)
    assert sim.now_ms() >= before + 120_000
    later = client.klines("BTCUSDC", "1m", limit=50)
    closed_before = {k[0]: k for k in first[:-1]}
    for kline in later:
        if kline[0] in closed_before:
            assert kline == closed_before[kline[0]]
    assert later[-1][0] > first[-1][0]


def test_request_log_and_weight_header(sim: Simulator, client: UMFutures) -> None:
    sim.clear_request_log()
    client.ping()
    client.klines("BTCUSDC", "1m", limit=500)
    log = sim.request_log
    assert [(r.method, r.path, r.weight) for r in log] == [
        ("GET", "/fapi/v1/ping", 1),
        ("GET", "/fapi/v1/klines", 5),
    ]
    assert log[1].params["symbol"] == "BTCUSDC"
    assert sim.used_weight_1m() >= 6


def test_unknown_symbol_is_1121(client: UMFutures) -> None:
    assert _error(lambda: client.ticker_price("NOPEUSDC")).error_code == -1121
