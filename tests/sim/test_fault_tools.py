"""The fault tools scenario tests build on: raw replies, raw stream frames, request hooks."""

from __future__ import annotations

import pytest
import requests
from binance.error import ClientError
from binance.um_futures import UMFutures
from websockets.sync.client import connect

from bot.sim import DROP, SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.waiting import eventually

BTC = "BTCUSDC"
ORDER = {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"}


def test_raw_reply_after_execution_leaves_the_order_on_the_book(
    sim: Simulator, client: UMFutures
) -> None:
    sim.reply_raw(
        "POST", "/fapi/v1/order", '{"code":-2021,"msg":"Order would immediately trigger."}'
    )
    assert client.new_order(newClientOrderId="raw-1", **ORDER) == {
        "code": -2021,
        "msg": "Order would immediately trigger.",
    }
    assert sim.position(BTC)["positionAmt"] == "0.010"
    assert client.query_order(symbol=BTC, origClientOrderId="raw-1")["status"] == "FILLED"


def test_raw_reply_without_execution_counts_and_then_answers_normally(
    sim: Simulator, client: UMFutures
) -> None:
    sim.reply_raw("POST", "/fapi/v1/order", "<html>bad gateway</html>", execute=False, count=2)
    for n in (1, 2):
        assert client.new_order(newClientOrderId=f"raw-{n}", **ORDER) == "<html>bad gateway</html>"
    assert sim.position(BTC)["positionAmt"] == "0"
    with pytest.raises(ClientError) as info:
        client.query_order(symbol=BTC, origClientOrderId="raw-1")
    assert info.value.error_code == -2013
    client.new_order(newClientOrderId="raw-3", **ORDER)  # count spent: executed and answered
    assert sim.position(BTC)["positionAmt"] == "0.010"


def test_raw_reply_can_carry_any_http_status_also_through_the_control_api(
    sim: Simulator, client: UMFutures
) -> None:
    control = {"method": "GET", "path": "/fapi/v1/premiumIndex", "body": "", "status": 502}
    requests.post(f"{sim.rest_url}/_sim/reply_raw", json=control, timeout=5).raise_for_status()
    with requests.get(f"{sim.rest_url}/fapi/v1/premiumIndex", timeout=5) as answer:
        assert (answer.status_code, answer.text) == (502, "")
    assert [(r.path, r.status) for r in sim.request_log][-1] == ("/fapi/v1/premiumIndex", 502)


def test_raw_frame_reaches_every_user_socket(sim: Simulator, client: UMFutures) -> None:
    key = client.new_listen_key()["listenKey"]
    url = f"{sim.ws_url}/private/ws/{key}"
    with connect(url) as first, connect(f"{url}?events=ORDER_TRADE_UPDATE") as second:
        eventually(lambda: sim.stream_connections() == 2, timeout=5)
        sim.push_raw_frame("not json {")
        assert first.recv(timeout=5) == "not json {"
        assert second.recv(timeout=5) == "not json {"


def test_request_hooks_see_every_request_before_and_after_execution(
    sim: Simulator, client: UMFutures
) -> None:
    seen: list[tuple[str, str, str]] = []
    sim.on_request(lambda method, path, params: seen.append(("before", method, path)))
    sim.on_executed(
        lambda method, path, params: seen.append(
            ("after", method, sim.position(BTC)["positionAmt"])
        )
    )
    client.new_order(**ORDER)
    sim.on_request(None)
    sim.on_executed(None)
    client.ping()
    assert seen == [("before", "POST", "/fapi/v1/order"), ("after", "POST", "0.010")]


def test_a_request_dropped_before_execution_is_not_executed(
    sim: Simulator, client: UMFutures
) -> None:
    sim.on_request(lambda method, path, params: DROP if method == "POST" else None)
    with pytest.raises(requests.ConnectionError):
        client.new_order(**ORDER)
    assert sim.position(BTC)["positionAmt"] == "0"


def test_a_reply_dropped_after_execution_leaves_the_order_executed(
    sim: Simulator, client: UMFutures
) -> None:
    sim.on_executed(lambda method, path, params: DROP)
    with pytest.raises(requests.ConnectionError):
        client.new_order(**ORDER)
    sim.on_executed(None)
    assert sim.position(BTC)["positionAmt"] == "0.010"


@pytest.mark.parametrize("executed", [False, True])
def test_crash_at_the_kth_signed_request_fires_once_at_that_boundary(
    sim: Simulator, executed: bool
) -> None:
    um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=sim.rest_url, timeout=5)
    crashes: list[int] = []
    trap = sim.crash_at(3, lambda: crashes.append(len(sim.request_log)), executed=executed)
    um.ping()  # public: not counted
    um.account()
    um.get_position_risk()
    with pytest.raises(requests.ConnectionError):
        um.new_order(**ORDER)  # the 3rd signed request
    um.new_order(**ORDER)  # after firing, the trap is inert
    um.session.close()
    assert trap.fired and crashes == [3 + executed]
    assert sim.position(BTC)["positionAmt"] == ("0.020" if executed else "0.010")
    assert sim.signed_requests() == 3 + executed
    assert sim.signed_requests(writes_only=True) == 1 + executed


def test_stuck_trigger_and_funding_rate_are_armed_through_the_control_api(
    sim: Simulator, client: UMFutures
) -> None:
    """A bot run as a subprocess against `python -m bot.sim` needs its stuck-trigger fault
    and its funding rate without an in-process handle."""
    sim.set_prices(BTC, last="60000", mark="60000")
    client.new_order(**ORDER)
    stop = {"algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL", "type": "STOP_MARKET"}
    stop |= {"triggerPrice": "59000", "closePosition": "true"}
    algo = client.sign_request("POST", "/fapi/v1/algoOrder", stop)
    control = f"{sim.rest_url}/_sim/"
    requests.post(control + "stall_triggers", json={"on": True}, timeout=5).raise_for_status()
    rate = {"symbol": BTC, "rate": "-0.0005"}
    requests.post(control + "set_funding_rate", json=rate, timeout=5).raise_for_status()
    sim.set_prices(BTC, last="58900", mark="58900")
    query = client.sign_request("GET", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]})
    assert (query["algoStatus"], query["actualOrderId"]) == ("TRIGGERING", "")
    assert client.mark_price(BTC)["lastFundingRate"] == "-0.00050000"
