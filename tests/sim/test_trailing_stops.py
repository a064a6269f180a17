"""TRAILING_STOP_MARKET algo orders: activation, the callback trail, Binance's rejects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.sim.conftest import StreamReader
from tests.sim.test_stream_and_triggers import _algo, _wait_connected

BTC = "BTCUSDC"


def _long(sim: Simulator, client: UMFutures) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")


def _trailing(client: UMFutures, **params) -> dict:
    return _algo(
        client,
        symbol=BTC,
        side="SELL",
        type="TRAILING_STOP_MARKET",
        quantity="0.010",
        reduceOnly="true",
        **params,
    )


def _algo_updates(stream: StreamReader, algo_id: int, count: int) -> list[dict]:
    out = []
    while len(out) < count:
        event = stream.next("ALGO_UPDATE")["o"]
        if event["aid"] == algo_id:
            out.append(event)
    return out


def test_trailing_stop_activates_then_fires_on_the_callback_from_the_high(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    _long(sim, client)
    algo = _trailing(client, activatePrice="61000", callbackRate="1", clientAlgoId="trail-1")
    assert (algo["orderType"], algo["activatePrice"], algo["callbackRate"]) == (
        "TRAILING_STOP_MARKET",
        "61000.00",
        "1",
    )
    sim.set_prices(BTC, last=Decimal("60500"))
    sim.set_prices(BTC, last=Decimal("61000"))  # activated
    sim.set_prices(BTC, last=Decimal("62000"))  # new high: the stop is now 61380
    sim.set_prices(BTC, last=Decimal("61400"))
    assert sim.position(BTC)["positionAmt"] == "0.010"
    sim.set_prices(BTC, last=Decimal("61380"))
    assert sim.position(BTC)["positionAmt"] == "0.000"

    updates = _algo_updates(stream, algo["algoId"], 5)
    assert [(u["X"], u["ia"]) for u in updates] == [
        ("NEW", False),
        ("NEW", True),
        ("TRIGGERING", True),
        ("TRIGGERED", True),
        ("FINISHED", True),
    ]
    child = client.query_order(symbol=BTC, orderId=int(updates[-1]["ai"]))
    assert (child["origType"], child["type"], child["status"]) == (
        "TRAILING_STOP_MARKET",
        "MARKET",
        "FILLED",
    )


def test_trailing_stop_without_activation_price_trails_from_placement(
    sim: Simulator, client: UMFutures
) -> None:
    _long(sim, client)
    _trailing(client, callbackRate="0.5")
    sim.set_prices(BTC, last=Decimal("59700.1"))
    assert sim.position(BTC)["positionAmt"] == "0.010"
    sim.set_prices(BTC, last=Decimal("59700"))  # 0.5 % under 60000
    assert sim.position(BTC)["positionAmt"] == "0.000"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"callbackRate": "1", "triggerPrice": "59000"}, -1106),
        ({"callbackRate": "20.1"}, -1130),
        ({"callbackRate": "0.09"}, -1130),
        ({}, -1102),
        ({"callbackRate": "1", "activatePrice": "59000"}, -2021),  # already reached
    ],
)
def test_trailing_stop_rejects_what_binance_rejects(
    sim: Simulator, client: UMFutures, params: dict, code: int
) -> None:
    _long(sim, client)
    with pytest.raises(ClientError) as info:
        _trailing(client, **params)
    assert info.value.error_code == code
    assert _trailing(client, callbackRate="20")["algoStatus"] == "NEW"  # 20 % is allowed


def test_stalled_trailing_trigger_is_observable_as_triggering(
    sim: Simulator, client: UMFutures
) -> None:
    _long(sim, client)
    algo = _trailing(client, callbackRate="1")
    sim.stall_triggers(True)
    sim.set_prices(BTC, last=Decimal("59000"))
    query = client.sign_request("GET", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]})
    assert (query["algoStatus"], query["actualOrderId"]) == ("TRIGGERING", "")
    with pytest.raises(ClientError) as info:
        client.sign_request("DELETE", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]})
    assert info.value.error_code == -2011
    assert sim.position(BTC)["positionAmt"] == "0.010"


def test_algo_orders_count_on_the_order_rate_limit(sim: Simulator) -> None:
    um = UMFutures(
        SIM_API_KEY, SIM_API_SECRET, base_url=sim.rest_url, timeout=5, show_limit_usage=True
    )
    try:
        _long(sim, um)
        reply = _trailing(um, callbackRate="1")
        assert reply["limit_usage"]["x-mbx-order-count-10s"] == "2"  # the entry, then this
    finally:
        um.session.close()
