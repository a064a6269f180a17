"""Fault injection, the request log, the state file, and the standalone process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from binance.error import ClientError, ServerError
from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

BTC = "BTCUSDC"
ORDER = {"symbol": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.010"}


def test_503_after_execute_fills_the_order_and_answers_unknown(
    sim: Simulator, client: UMFutures
) -> None:
    sim.inject("503_after_execute", method="POST", path="/fapi/v1/order", count=1)
    with pytest.raises(ServerError) as info:
        client.new_order(newClientOrderId="e-1", **ORDER)
    assert info.value.status_code == 503
    assert "Unknown error, please check your request" in info.value.message
    assert sim.position(BTC)["positionAmt"] == "0.010"  # executed nonetheless
    assert client.query_order(symbol=BTC, origClientOrderId="e-1")["status"] == "FILLED"
    client.new_order(**ORDER)  # count=1: the next one is normal
    assert sim.position(BTC)["positionAmt"] == "0.020"


def test_delay_after_execute_outlasts_the_client_timeout(sim: Simulator) -> None:
    impatient = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=sim.rest_url, timeout=0.3)
    sim.inject("delay_after_execute", path="/fapi/v1/order", delay_s=5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.new_order(**ORDER)
    impatient.session.close()
    assert sim.position(BTC)["positionAmt"] == "0.010"


def test_429_minus_1021_and_minus_1007_respect_count_and_path(
    sim: Simulator, client: UMFutures
) -> None:
    sim.inject("429", path="/fapi/v1/ping", count=2, retry_after_s=7)
    sim.inject("-1021", path="/fapi/v3/account")
    sim.inject("-1007", method="POST", path="/fapi/v1/order")
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            client.ping()
        assert (info.value.status_code, info.value.error_code) == (429, -1003)
        assert info.value.header["Retry-After"] == "7"
    assert client.ping() == {}
    client.time()  # other paths untouched
    with pytest.raises(ClientError) as info:
        client.account()
    assert info.value.error_code == -1021
    client.account()
    with pytest.raises(ClientError) as info:
        client.new_order(**ORDER)
    assert (info.value.status_code, info.value.error_code) == (408, -1007)
    assert sim.position(BTC)["positionAmt"] == "0.010"  # -1007: status unknown, it executed


def test_request_log_shows_every_call_with_status_and_weight(
    sim: Simulator, client: UMFutures
) -> None:
    sim.clear_request_log()
    client.get_orders()
    with pytest.raises(ClientError):
        client.query_order(symbol=BTC, orderId=1)
    log = sim.request_log
    assert [(r.method, r.path, r.status, r.signed, r.weight) for r in log] == [
        ("GET", "/fapi/v1/openOrders", 200, True, 40),
        ("GET", "/fapi/v1/order", 400, True, 1),
    ]
    assert log[1].code == -2013
    assert log[0].headers["x-mbx-apikey"] == SIM_API_KEY


def test_weight_limit_answers_429_then_418(sim: Simulator, client: UMFutures) -> None:
    sim.limiter.weight.add(sim.now_ms(), 2399)  # as if the minute's budget were spent
    statuses = []
    for _ in range(12):
        try:
            client.ping()
            statuses.append(200)
        except ClientError as exc:
            statuses.append(exc.status_code)
    assert statuses[:2] == [200, 429]
    assert statuses[-1] == 418


def test_state_file_carries_the_account_to_the_next_simulator(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    with Simulator(state_file=state_file) as first:
        first.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
        um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=first.rest_url, timeout=5)
        um.new_order(**ORDER)
        um.sign_request(
            "POST",
            "/fapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": BTC,
                "side": "SELL",
                "type": "STOP_MARKET",
                "triggerPrice": "59000",
                "closePosition": "true",
                "clientAlgoId": "sl-1",
            },
        )
        um.new_order(
            symbol=BTC,
            side="SELL",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price="62000",
            reduceOnly="true",
        )
        um.session.close()
        balance = first.balance()
    with Simulator(state_file=state_file) as second:
        assert second.position(BTC)["positionAmt"] == "0.010"
        assert [a["clientAlgoId"] for a in second.open_algo_orders(BTC)] == ["sl-1"]
        assert len(second.open_orders(BTC)) == 1
        assert second.balance() == balance
        um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=second.rest_url, timeout=5)
        assert len(um.get_account_trades(symbol=BTC)) == 1
        second.set_prices(BTC, last=Decimal("58000"))  # the carried stop still works
        um.session.close()
        assert second.position(BTC)["positionAmt"] == "0.000"


def test_standalone_process_prints_urls_and_exits_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.sim", "--port", "0", "--state-file", str(tmp_path / "s.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("REST http://127.0.0.1:")
        rest_url = line.split()[1]
        with requests.Session() as session:
            assert session.get(f"{rest_url}/fapi/v1/ping", timeout=5).json() == {}
            session.post(
                f"{rest_url}/_sim/set_prices", json={"symbol": BTC, "last": "61000"}, timeout=5
            )
            price = session.get(
                f"{rest_url}/fapi/v1/ticker/price", params={"symbol": BTC}, timeout=5
            ).json()["price"]
            session.post(f"{rest_url}/_sim/seed_balance", json={"amount": "500"}, timeout=5)
            balance = session.post(f"{rest_url}/_sim/balance", json={}, timeout=5).json()
        assert price == "61000.00"
        assert balance == {"balance": "500"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert (tmp_path / "s.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_simulator_leaves_no_thread_behind() -> None:
    before = set(threading.enumerate())
    with Simulator() as other:
        um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=other.rest_url, timeout=5)
        um.new_listen_key()
        um.ping()
        um.session.close()
    assert [t.name for t in set(threading.enumerate()) - before] == []
