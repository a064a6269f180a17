"""User-data stream events and algo triggers, read with the SDK's own websocket client."""

from __future__ import annotations

import json
import queue
import threading
from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures
from binance.websocket.websocket_client import BinanceWebsocketClient

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.sim.conftest import StreamReader

BTC = "BTCUSDC"


def _algo(client: UMFutures, **params) -> dict:
    return client.sign_request("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", **params})


def _wait_connected(sim: Simulator) -> None:
    # The SDK connects synchronously in its constructor; the server registers the
    # connection on its own thread, so a REST round trip is not enough of a fence.
    for _ in range(500):
        if sim.stream_connections():
            return
        threading.Event().wait(0.01)
    raise AssertionError("stream never connected")


def test_market_entry_pushes_order_trade_update_and_account_update(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    order = client.new_order(
        symbol=BTC, side="BUY", type="MARKET", quantity="0.010", newClientOrderId="entry-1"
    )
    new = stream.next("ORDER_TRADE_UPDATE")["o"]
    assert (new["x"], new["X"], new["c"], new["i"]) == ("NEW", "NEW", "entry-1", order["orderId"])
    lite = stream.next("TRADE_LITE")
    assert (lite["L"], lite["l"], lite["S"]) == ("60000.00", "0.010", "BUY")
    account = stream.next("ACCOUNT_UPDATE")["a"]
    assert account["m"] == "ORDER"
    assert account["B"] == [{"a": "USDC", "wb": "9999.76000000", "cw": "9999.76000000", "bc": "0"}]
    assert account["P"][0]["s"] == BTC
    assert (account["P"][0]["pa"], account["P"][0]["ep"]) == ("0.010", "60000.00000000")
    fill = stream.next("ORDER_TRADE_UPDATE")
    assert isinstance(fill["E"], int)
    o = fill["o"]
    assert (o["x"], o["X"], o["l"], o["z"], o["L"], o["N"], o["n"], o["rp"]) == (
        "TRADE",
        "FILLED",
        "0.010",
        "0.010",
        "60000.00",
        "USDC",
        "0.24000000",
        "0",
    )
    assert isinstance(o["t"], int) and o["t"] > 0 and o["m"] is False


@pytest.mark.parametrize(
    ("working_type", "ignored", "firing"),
    [("MARK_PRICE", "last", "mark"), ("CONTRACT_PRICE", "mark", "last")],
)
def test_stop_market_triggers_only_on_its_working_price(
    sim: Simulator,
    client: UMFutures,
    stream: StreamReader,
    working_type: str,
    ignored: str,
    firing: str,
) -> None:
    _wait_connected(sim)
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    algo = _algo(
        client,
        symbol=BTC,
        side="SELL",
        type="STOP_MARKET",
        triggerPrice="59000",
        closePosition="true",
        workingType=working_type,
        clientAlgoId="sl-1",
    )
    sim.set_prices(BTC, **{ignored: Decimal("58000")})
    assert [a["algoId"] for a in sim.open_algo_orders(BTC)] == [algo["algoId"]]
    assert sim.position(BTC)["positionAmt"] == "0.010"

    sim.set_prices(BTC, **{firing: Decimal("58900")})
    assert sim.open_algo_orders() == []
    assert sim.position(BTC)["positionAmt"] == "0.000"
    statuses = []
    while len(statuses) < 4:
        event = stream.next("ALGO_UPDATE")["o"]
        if event["aid"] == algo["algoId"]:
            statuses.append((event["X"], event["ai"]))
    assert [s for s, _ in statuses] == ["NEW", "TRIGGERING", "TRIGGERED", "FINISHED"]
    child_id = statuses[2][1]
    assert child_id and isinstance(child_id, str)
    query = client.sign_request("GET", "/fapi/v1/algoOrder", {"algoId": algo["algoId"]})
    assert (query["algoStatus"], query["actualOrderId"]) == ("FINISHED", child_id)
    child = client.query_order(symbol=BTC, orderId=int(child_id))
    assert (child["status"], child["origType"], child["type"]) == (
        "FILLED",
        "STOP_MARKET",
        "MARKET",
    )


def test_close_position_algo_expires_when_position_closes(
    sim: Simulator, client: UMFutures
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    tp = _algo(
        client,
        symbol=BTC,
        side="SELL",
        type="TAKE_PROFIT_MARKET",
        triggerPrice="62000",
        closePosition="true",
    )
    client.new_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.010", reduceOnly="true")
    query = client.sign_request("GET", "/fapi/v1/algoOrder", {"algoId": tp["algoId"]})
    assert query["algoStatus"] == "EXPIRED"


def test_listen_key_lifecycle_and_expiry_event(sim: Simulator, client: UMFutures) -> None:
    key = client.new_listen_key()["listenKey"]
    assert client.new_listen_key()["listenKey"] == key  # active key comes back, extended
    assert client.renew_listen_key(key)["listenKey"] == key
    reader = StreamReader(f"{sim.ws_url}/private/ws?listenKey={key}&events=listenKeyExpired")
    try:
        _wait_connected(sim)
        sim.set_prices(BTC, last=Decimal("60000"))
        client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")  # filtered
        sim.expire_listen_key(key)
        event = reader.next()
        assert (event["e"], event["listenKey"]) == ("listenKeyExpired", key)
    finally:
        reader.stop()
    with pytest.raises(ClientError) as info:
        client.renew_listen_key(key)
    assert info.value.error_code == -1125


def test_dropped_stream_reports_an_error_without_close_frame(
    sim: Simulator, stream: StreamReader
) -> None:
    _wait_connected(sim)
    sim.drop_streams()
    assert stream.errors.get(timeout=5) is not None


def test_silenced_stream_sends_nothing_until_resumed(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    sim.silence_streams(True)
    sim.set_prices(BTC, last=Decimal("60000"))
    client.change_leverage(symbol=BTC, leverage=7)
    sim.silence_streams(False)
    client.change_leverage(symbol=BTC, leverage=8)
    event = stream.next()
    assert json.dumps(event["ac"]) == json.dumps({"s": BTC, "l": 8})


def test_server_pings_on_schedule() -> None:
    with Simulator(ping_interval_s=0.2) as fast:
        um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=fast.rest_url, timeout=5)
        key = um.new_listen_key()["listenKey"]
        um.session.close()
        pings: queue.Queue[bytes] = queue.Queue()
        ws = BinanceWebsocketClient(
            stream_url=f"{fast.ws_url}/private/ws/{key}",
            on_ping=lambda _sm, data: pings.put(data),
        )
        try:
            assert pings.get(timeout=5) is not None
        finally:
            ws.stop()
            ws.socket_manager.ws.shutdown()
