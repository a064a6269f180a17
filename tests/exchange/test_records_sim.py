"""REST replies become typed records at the boundary: lenient where Binance is, and a
word the bot cannot interpret is refused loudly instead of guessed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.domain.enums import AlgoStatus, OrderType, Side
from bot.exchange.errors import MalformedReply
from bot.sim import Simulator
from tests.exchange.test_client_sim import make_client

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def sim():
    with Simulator() as running:
        yield running


@pytest.fixture
def client(sim):
    with make_client(sim) as exchange:
        yield exchange


def algo_row(**fields) -> dict:
    row = {
        "algoId": 2148719, "clientAlgoId": "ufb-BTCUSDC-1-SL", "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET", "symbol": "BTCUSDC", "side": "SELL", "positionSide": "BOTH",
        "quantity": "0.010", "algoStatus": "NEW", "triggerPrice": "59000.0", "price": "0",
        "workingType": "MARK_PRICE", "closePosition": False, "reduceOnly": True,
        "actualOrderId": "", "updateTime": 1760000000300,
    }  # fmt: skip
    return row | fields


def test_an_open_algo_order_in_a_status_binance_never_documented_is_refused(sim, client):
    sim.reply_raw("GET", "/fapi/v1/openAlgoOrders", json.dumps([algo_row(algoStatus="PAUSED")]))
    with pytest.raises(MalformedReply, match=r"algoStatus.*PAUSED"):
        client.open_algo_orders("BTCUSDC")


def test_ids_and_flags_as_strings_are_read_as_binance_means_them(sim, client):
    row = algo_row(algoId="2148719", reduceOnly="true", actualOrderId="77", algoStatus="TRIGGERED")
    sim.reply_raw("GET", "/fapi/v1/openAlgoOrders", json.dumps([row]))
    (algo,) = client.open_algo_orders("BTCUSDC")
    assert (algo.algo_id, algo.reduce_only, algo.actual_order_id) == (2148719, True, 77)
    assert (algo.status, algo.side, algo.order_type) == (
        AlgoStatus.TRIGGERED,
        Side.SELL,
        OrderType.STOP_MARKET,
    )
    assert algo.qty == Decimal("0.010")


def test_a_float_amount_is_refused_naming_the_field(sim, client):
    sim.reply_raw("GET", "/fapi/v1/openAlgoOrders", json.dumps([algo_row(triggerPrice=59000.1)]))
    with pytest.raises(MalformedReply, match="triggerPrice"):
        client.open_algo_orders("BTCUSDC")


def test_an_order_type_binance_added_covers_nothing_but_is_not_an_error(sim, client):
    sim.reply_raw("GET", "/fapi/v1/openAlgoOrders", json.dumps([algo_row(orderType="GRID")]))
    (algo,) = client.open_algo_orders("BTCUSDC")
    assert algo.order_type is OrderType.UNKNOWN
