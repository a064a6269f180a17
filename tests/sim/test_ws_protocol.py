"""Binance's websocket protocol on the simulator: roots, forms, control messages, formats."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from binance.um_futures import UMFutures
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bot.sim import Simulator
from tests.sim.conftest import StreamReader
from tests.sim.test_stream_and_triggers import _wait_connected

BTC = "BTCUSDC"


def _reply(ws, message: dict | str) -> dict:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if "id" in frame or "error" in frame:
            return frame


def test_subscribe_unsubscribe_and_list_echo_the_request_id(sim: Simulator) -> None:
    with connect(f"{sim.ws_url}/market/ws") as ws:
        assert _reply(ws, {"method": "SUBSCRIBE", "params": ["btcusdc@ticker"], "id": 1}) == {
            "result": None,
            "id": 1,
        }
        listed = _reply(ws, {"method": "LIST_SUBSCRIPTIONS", "id": "a-2"})
        assert listed == {"result": ["btcusdc@ticker"], "id": "a-2"}
        _reply(ws, {"method": "UNSUBSCRIBE", "params": ["btcusdc@ticker"], "id": 3})
        assert _reply(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 4})["result"] == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", 3),
        ({"method": "SUBSCRIBE", "params": ["btcusdc@ticker"], "id": -1}, 2),
        ({"method": "SUBSCRIBES", "params": [], "id": 1}, 2),
        ({"params": [], "id": 1}, 2),
        ({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 1}, 1),
        ({"method": "GET_PROPERTY", "params": ["colour"], "id": 1}, 0),
    ],
)
def test_bad_control_messages_get_binance_error_codes(
    sim: Simulator, message: dict | str, code: int
) -> None:
    with connect(f"{sim.ws_url}/market/ws") as ws:
        assert _reply(ws, message)["error"]["code"] == code


def test_combined_streams_wrap_payloads_and_raw_streams_do_not(sim: Simulator) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    with connect(f"{sim.ws_url}/market/stream?streams=btcusdc@kline_1m/btcusdc@ticker") as ws:
        frames = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
    assert {f["stream"] for f in frames} <= {"btcusdc@kline_1m", "btcusdc@ticker"}
    kline = next(f["data"] for f in frames if f["stream"] == "btcusdc@kline_1m")
    assert (kline["e"], kline["k"]["i"], kline["k"]["c"]) == ("kline", "1m", "60000.00")
    with connect(f"{sim.ws_url}/public/ws/btcusdc@bookTicker") as ws:
        book = json.loads(ws.recv(timeout=5))
    assert (book["e"], book["b"], book["a"]) == ("bookTicker", "60000.00", "60000.10")


def test_a_stream_on_the_wrong_root_stays_silent(sim: Simulator) -> None:
    with connect(f"{sim.ws_url}/public/ws/btcusdc@kline_1m") as ws, pytest.raises(TimeoutError):
        ws.recv(timeout=1)


@pytest.mark.parametrize(
    "path", ["/ws/btcusdc@kline_1m", "/stream?streams=btcusdc@ticker", "/ws", "/x/ws"]
)
def test_retired_legacy_paths_are_refused(sim: Simulator, path: str) -> None:
    with connect(f"{sim.ws_url}{path}") as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_private_stream_subscribed_by_listen_key_gets_wrapped_user_events(
    sim: Simulator, client: UMFutures
) -> None:
    key = client.new_listen_key()["listenKey"]
    sim.set_prices(BTC, last=Decimal("60000"))
    with connect(f"{sim.ws_url}/private/stream") as ws:
        assert _reply(ws, {"method": "SUBSCRIBE", "params": [key], "id": 7})["result"] is None
        client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
        frame = json.loads(ws.recv(timeout=5))
    assert (frame["stream"], frame["data"]["e"]) == (key, "ORDER_TRADE_UPDATE")


def test_account_update_balances_carry_eight_decimals(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.003")
    sim.set_prices(BTC, last=Decimal("60000.10"), mark=Decimal("60000"))
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.007")
    sim.set_prices(BTC, last=Decimal("60100.30"), mark=Decimal("60100"))
    client.new_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.010", reduceOnly="true")
    balances = []
    for _ in range(3):
        balances += stream.next("ACCOUNT_UPDATE")["a"]["B"]
    for entry in balances:
        for field in ("wb", "cw"):
            assert len(entry[field].split(".")[1]) == 8, entry
