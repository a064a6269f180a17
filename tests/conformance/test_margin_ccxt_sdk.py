"""Margin, liquidation price, leverage brackets and trailing stops through real clients.

Binance's successor SDK (`binance-sdk-derivatives-trading-usds-futures`, typed pydantic
models) and ccxt's `binanceusdm` drive the standalone simulator unchanged; every reply
must validate in the SDK's models. Both clients are pointed at loopback explicitly, and
every other host ccxt knows is replaced by a closed loopback port, so a stray call fails
loudly instead of reaching Binance.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import ccxt
import pytest
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    NewAlgoOrderAlgoTypeEnum,
    NewAlgoOrderReduceOnlyEnum,
    NewAlgoOrderSideEnum,
    NewAlgoOrderTypeEnum,
)

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.conformance

BTC = "BTCUSDC"
NOWHERE = "http://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
        yield simulator


@pytest.fixture
def usdm(sim: Simulator) -> Iterator[ccxt.binanceusdm]:
    exchange = ccxt.binanceusdm(
        {
            "apiKey": SIM_API_KEY,
            "secret": SIM_API_SECRET,
            "timeout": 5000,
            "options": {"fetchMarkets": ["linear"], "fetchCurrencies": False},
        }
    )
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        api[name] = url.replace("https://fapi.binance.com", sim.rest_url)
        if not api[name].startswith(sim.rest_url):
            api[name] = NOWHERE
    yield exchange
    exchange.close()


def _isolated_long(sdk: DerivativesTradingUsdsFutures) -> None:
    sdk.rest_api.change_margin_type(symbol=BTC, margin_type="ISOLATED")
    sdk.rest_api.change_initial_leverage(symbol=BTC, leverage=20)
    sdk.rest_api.new_order(symbol=BTC, side="BUY", type="MARKET", quantity=0.1)


def test_sdk_reads_brackets_and_liquidation_price_in_its_models(
    sdk: DerivativesTradingUsdsFutures,
) -> None:
    brackets = sdk.rest_api.notional_and_leverage_brackets(symbol=BTC).data()
    [btc] = brackets.actual_instance
    assert btc.symbol == BTC and btc.brackets[0].initial_leverage == 125
    _isolated_long(sdk)
    [position] = sdk.rest_api.position_information_v3(symbol=BTC).data()
    assert position.liquidation_price == "57228.91566265"
    assert position.maint_margin == "24.00000000"


def test_sdk_places_a_trailing_stop_through_new_algo_order(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    _isolated_long(sdk)
    algo = sdk.rest_api.new_algo_order(
        algo_type=NewAlgoOrderAlgoTypeEnum.CONDITIONAL,
        symbol=BTC,
        side=NewAlgoOrderSideEnum.SELL,
        type=NewAlgoOrderTypeEnum.TRAILING_STOP_MARKET,
        quantity=0.1,
        reduce_only=NewAlgoOrderReduceOnlyEnum.TRUE,
        activate_price=61000,
        callback_rate=1,
        client_algo_id="trail-sdk",
    ).data()
    assert (algo.order_type, algo.activate_price, algo.callback_rate) == (
        "TRAILING_STOP_MARKET",
        "61000.00",
        "1",
    )
    for last in ("61000", "62000", "61380"):
        sim.set_prices(BTC, last=Decimal(last))
    query = sdk.rest_api.query_algo_order(algo_id=algo.algo_id).data()
    assert query.algo_status == "FINISHED" and query.actual_order_id


def test_ccxt_fetch_positions_reads_the_liquidation_price(
    sim: Simulator, usdm: ccxt.binanceusdm, sdk: DerivativesTradingUsdsFutures
) -> None:
    _isolated_long(sdk)
    [position] = usdm.fetch_positions(["BTC/USDC:USDC"])
    assert position["liquidationPrice"] == pytest.approx(57228.91566265)
    assert position["marginMode"] == "isolated"
    assert position["maintenanceMarginPercentage"] == pytest.approx(0.004)
    tiers = usdm.fetch_leverage_tiers(["BTC/USDC:USDC"])["BTC/USDC:USDC"]
    assert (tiers[0]["maxLeverage"], tiers[0]["maxNotional"]) == (125, 50000)
    hosts = {r.headers.get("host") for r in sim.request_log}
    assert hosts <= {sim.rest_url.removeprefix("http://")}
