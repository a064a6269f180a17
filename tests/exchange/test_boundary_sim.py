"""No foreign exception crosses ``bot/exchange``: every public ExchangeClient method,
against a simulator that answers garbage, fails only with our ``ExchangeError`` types."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.errors import ExchangeError
from bot.exchange.orders import market_order, stop_loss
from bot.exchange.venues import Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.sim
D = Decimal

# Every public method with arguments that would succeed against a healthy venue.
CALLS = {
    "sync_time": ((), {}),
    "exchange_info": ((), {}),
    "symbol_rules": (("BTCUSDC",), {}),
    "klines": (("BTCUSDC", "1m", 5), {}),
    "mark_price": (("BTCUSDC",), {}),
    "last_price": (("BTCUSDC",), {}),
    "account": ((), {}),
    "usdc_balance": ((), {}),
    "position_risk": ((), {}),
    "account_config": ((), {}),
    "symbol_configs": (("BTCUSDC",), {}),
    "commission_rate": (("BTCUSDC",), {}),
    "open_orders": (("BTCUSDC",), {}),
    "open_algo_orders": (("BTCUSDC",), {}),
    "income": ((0,), {}),
    "place_order": ((market_order("BTCUSDC", "BUY", D("0.01"), "g-E"),), {}),
    "place_algo_order": (
        (stop_loss("BTCUSDC", "SELL", D("50000"), "g-SL", qty=D("0.01")),),
        {},
    ),
    "query_order": (("BTCUSDC", "g-E"), {}),
    "query_order_by_id": (("BTCUSDC", 1), {}),
    "user_trades": (("BTCUSDC", 1), {}),
    "query_algo_order": (("g-SL",), {}),
    "cancel_order": (("BTCUSDC", "g-E"), {}),
    "cancel_algo_order": (("g-SL",), {}),
    "cancel_all": (("BTCUSDC",), {}),
    "setup_account": ((["BTCUSDC"],), {"leverage": 5, "margin_type": "ISOLATED"}),
    "new_listen_key": ((), {}),
    "keepalive_listen_key": (("k",), {}),
    "close_listen_key": (("k",), {}),
}
NO_REQUEST = {"close", "user_stream_url"}

GARBAGE = [
    (200, ""),
    (200, "<html><body>502 Bad Gateway</body></html>"),
    (200, "null"),
    (200, '"ok"'),
    (200, "[]"),
    (200, "[1, [2], {}]"),
    (200, "{}"),
    (200, '{"code": -1000, "msg": "An unknown error occurred while processing the request."}'),
    (
        200,
        '{"symbols": [{"symbol": "BTCUSDC", "filters": 3}], "markPrice": "x", "price": -1,'
        ' "serverTime": "soon", "listenKey": 5, "assets": [7], "orders": "none"}',
    ),
    (200, '[{"symbol": null, "positionAmt": "NaN", "time": "x", "clientOrderId": 3}]'),
    (200, '[[1, 2], ["a", "b", "c", "d", "e", "f", "g"]]'),
    (400, '{"message": "no code"}'),
    (400, "[1]"),
    (500, "<html></html>"),
]


@pytest.fixture(scope="module")
def sim():
    with Simulator() as running:
        yield running


def test_every_public_method_is_driven() -> None:
    public = {
        name
        for name, member in inspect.getmembers(ExchangeClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public - NO_REQUEST == set(CALLS)


@pytest.mark.parametrize(("status", "body"), GARBAGE)
def test_a_garbage_reply_surfaces_only_as_our_error_types(sim, status, body) -> None:
    venue = Venue(sim.rest_url, sim.ws_url, "/private/ws/{listen_key}")
    sim.reply_raw(None, None, body, status=status, count=10_000, execute=False)
    escaped = []
    try:
        for name, (args, kwargs) in CALLS.items():
            with ExchangeClient(
                venue, SIM_API_KEY, SIM_API_SECRET, timeout_s=2, sleep=lambda _s: None
            ) as client:
                try:
                    getattr(client, name)(*args, **kwargs)
                except ExchangeError:
                    pass
                except Exception as foreign:
                    escaped.append(f"{name}: {type(foreign).__name__} {foreign}")
    finally:
        sim.faults.clear()
    assert escaped == []
