"""The rejection matrix: the same bad calls, through both real clients, get Binance's codes.

Each case is one wrong request a bot can make; the successor SDK must raise its typed
error carrying the code (`status_code` is Binance's code there), ccxt its mapped exception
with Binance's compact body (and so the code) in the message. The calls go through each
client's ordinary methods where the client lets the bad value through. ccxt's unified API
rounds amounts and prices to the market's precision, routes stop types to the algo API,
checks leverage (1-125) and symbols itself; those cases use its implicit `fapi*` methods,
which send the request as given. The last logged answer proves the code came from the venue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import ccxt
import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_common.errors import BadRequestError, Error, UnauthorizedError
from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.conformance.conftest import ccxt_config

pytestmark = pytest.mark.conformance
BTC, ETH = "BTCUSDC", "ETHUSDC"
PAIR = "BTC/USDC:USDC"

SdkCall = Callable[[DerivativesTradingUsdsFutures, Simulator], object]


def _sdk(sim: Simulator, *, key: str = SIM_API_KEY, secret: str = SIM_API_SECRET):
    config = ConfigurationRestAPI(
        api_key=key, api_secret=secret, base_path=sim.rest_url, timeout=5000, retries=0
    )
    return DerivativesTradingUsdsFutures(config_rest_api=config).rest_api


def _sdk_duplicate(rest, sim: Simulator) -> None:
    limit = dict(time_in_force="GTC", quantity=0.01, price=59000.0, new_client_order_id="dup-1")
    rest.new_order(BTC, "BUY", "LIMIT", **limit)
    rest.new_order(BTC, "BUY", "LIMIT", **limit)


def _sdk_late(rest, sim: Simulator) -> None:
    sim.advance(10)  # the server's clock runs 10 s ahead of the client's: outside 5000 ms
    rest.new_order(BTC, "BUY", "MARKET", quantity=0.01)


SDK_CASES: dict[int, SdkCall] = {
    -1111: lambda r, s: r.new_order(BTC, "BUY", "MARKET", quantity=0.0105),
    -4164: lambda r, s: r.new_order(ETH, "BUY", "MARKET", quantity=0.001),
    -4005: lambda r, s: r.new_order(BTC, "BUY", "MARKET", quantity=121.0),
    -4014: lambda r, s: r.new_order(
        BTC, "BUY", "LIMIT", time_in_force="GTC", quantity=0.01, price=59000.05
    ),
    -4120: lambda r, s: r.new_order(BTC, "SELL", "STOP_MARKET", quantity=0.01),
    -2021: lambda r, s: r.new_algo_order(
        "CONDITIONAL", BTC, "SELL", "STOP_MARKET", quantity=0.01, trigger_price=61000.0
    ),
    -1106: lambda r, s: r.new_algo_order(
        "CONDITIONAL",
        BTC,
        "SELL",
        "TRAILING_STOP_MARKET",
        quantity=0.01,
        callback_rate=1.0,
        trigger_price=59000.0,
    ),
    -2022: lambda r, s: r.new_order(BTC, "SELL", "MARKET", quantity=0.01, reduce_only="true"),
    -4116: _sdk_duplicate,
    -1022: lambda r, s: _sdk(s, secret="not-the-secret").new_order(
        BTC, "BUY", "MARKET", quantity=0.01
    ),
    -2015: lambda r, s: _sdk(s, key="not-the-key").new_order(BTC, "BUY", "MARKET", quantity=0.01),
    -1021: _sdk_late,
    -1131: lambda r, s: r.new_order(BTC, "BUY", "MARKET", quantity=0.01, recv_window=70000),
    -4028: lambda r, s: r.change_initial_leverage(BTC, 126),
    -1121: lambda r, s: r.new_order("NOPEUSDC", "BUY", "MARKET", quantity=0.01),
    -1120: lambda r, s: r.kline_candlestick_data(BTC, "7m"),
}
SDK_ERROR = {-2015: UnauthorizedError}  # HTTP 401; every other case is HTTP 400


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
        simulator.set_prices(ETH, last=Decimal("3000"), mark=Decimal("3000"))
        yield simulator


@pytest.mark.parametrize("code", list(SDK_CASES))
def test_sdk_surfaces_binance_code_of_each_rejection(sim: Simulator, code: int) -> None:
    with pytest.raises(Error) as raised:
        SDK_CASES[code](_sdk(sim), sim)
    assert type(raised.value) is SDK_ERROR.get(code, BadRequestError)
    assert raised.value.status_code == code
    assert sim.request_log[-1].code == code


CcxtCall = Callable[[ccxt.binanceusdm, Simulator], object]
ORDER = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}


def _forged(cx: ccxt.binanceusdm, **credentials: str) -> ccxt.binanceusdm:
    for name, value in credentials.items():
        setattr(cx, name, value)
    return cx


def _ccxt_duplicate(cx: ccxt.binanceusdm, sim: Simulator) -> None:
    for _ in range(2):
        cx.create_order(PAIR, "limit", "buy", 0.01, 59000, {"clientOrderId": "dup-1"})


def _ccxt_late(cx: ccxt.binanceusdm, sim: Simulator) -> None:
    sim.advance(10)
    cx.create_order(PAIR, "market", "buy", 0.01)


CCXT_CASES: dict[int, CcxtCall] = {
    -1111: lambda c, s: c.fapiPrivatePostOrder(ORDER | {"quantity": "0.0105", "price": "59000"}),
    -4164: lambda c, s: c.create_order("ETH/USDC:USDC", "market", "buy", 0.001),
    -4005: lambda c, s: c.create_order(PAIR, "market", "buy", 121),
    -4014: lambda c, s: c.fapiPrivatePostOrder(ORDER | {"quantity": "0.01", "price": "59000.05"}),
    -4120: lambda c, s: c.fapiPrivatePostOrder(
        ORDER | {"type": "STOP_MARKET", "quantity": "0.01", "stopPrice": "59000"}
    ),
    -2021: lambda c, s: c.create_order(
        PAIR, "market", "sell", 0.01, None, {"stopLossPrice": 61000}
    ),
    -1106: lambda c, s: c.fapiPrivatePostAlgoOrder(
        {
            "algoType": "CONDITIONAL",
            "symbol": BTC,
            "side": "SELL",
            "type": "TRAILING_STOP_MARKET",
            "quantity": "0.01",
            "callbackRate": "1",
            "triggerPrice": "59000",
        }
    ),
    -2022: lambda c, s: c.create_order(PAIR, "market", "sell", 0.01, None, {"reduceOnly": True}),
    -4116: _ccxt_duplicate,
    -1022: lambda c, s: _forged(c, secret="not-the-secret").fetch_balance(),
    -2015: lambda c, s: _forged(c, apiKey="not-the-key").fetch_balance(),
    -1021: _ccxt_late,
    -1131: lambda c, s: c.create_order(PAIR, "market", "buy", 0.01, None, {"recvWindow": 70000}),
    -4028: lambda c, s: c.fapiPrivatePostLeverage({"symbol": BTC, "leverage": 126}),
    -1121: lambda c, s: c.fapiPrivatePostOrder(ORDER | {"symbol": "NOPEUSDC", "quantity": "1"}),
    -1120: lambda c, s: c.fetch_ohlcv(PAIR, "7m"),
}


# What ccxt raises for each code against fapi.binance.com (its USDⓈ-M table, then its
# general one); a bot's error handling keys on these classes.
CCXT_ERROR = {
    -1111: ccxt.BadRequest,
    -4164: ccxt.InvalidOrder,
    -4005: ccxt.BadRequest,
    -4014: ccxt.BadRequest,
    -4120: ccxt.InvalidOrder,
    -2021: ccxt.OrderImmediatelyFillable,
    -1106: ccxt.BadRequest,
    -2022: ccxt.InvalidOrder,
    -4116: ccxt.InvalidOrder,
    -1022: ccxt.AuthenticationError,
    -2015: ccxt.AuthenticationError,
    -1021: ccxt.InvalidNonce,
    -1131: ccxt.ExchangeError,  # in neither table
    -4028: ccxt.BadRequest,
    -1121: ccxt.BadSymbol,
    -1120: ccxt.BadRequest,
}


@pytest.fixture(scope="module")
def markets() -> dict:
    """ccxt's parsed markets, loaded once from a simulator (parsing is the slow part)."""
    with Simulator() as simulator:
        exchange = ccxt.binanceusdm(ccxt_config(simulator, ccxt.binanceusdm))
        try:
            return exchange.load_markets()
        finally:
            exchange.session.close()


@pytest.mark.parametrize("code", list(CCXT_CASES))
def test_ccxt_surfaces_binance_code_of_each_rejection(
    sim: Simulator, markets: dict, code: int
) -> None:
    cx = ccxt.binanceusdm(ccxt_config(sim, ccxt.binanceusdm))
    cx.set_markets(markets)
    try:
        with pytest.raises(ccxt.BaseError) as raised:
            CCXT_CASES[code](cx, sim)
    finally:
        cx.session.close()
    assert type(raised.value) is CCXT_ERROR[code]
    assert f'{{"code":{code},"msg":' in str(raised.value)  # Binance's compact body
    assert sim.request_log[-1].code == code
