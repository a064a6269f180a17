"""Authentication as Binance checks it: key, signature, timestamp window."""

from __future__ import annotations

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    return info.value


def test_wrong_secret_is_refused_with_1022(sim: Simulator) -> None:
    bad = UMFutures(SIM_API_KEY, "not-the-secret", base_url=sim.rest_url, timeout=5)
    err = _error(bad.account)
    bad.session.close()
    assert (err.status_code, err.error_code) == (400, -1022)
    assert err.error_message == "Signature for this request is not valid."


def test_wrong_or_missing_key_is_refused_with_2015(sim: Simulator) -> None:
    for key in ("someone-else", None):
        bad = UMFutures(key, SIM_API_SECRET, base_url=sim.rest_url, timeout=5)
        err = _error(bad.new_listen_key)
        bad.session.close()
        assert err.error_code == -2015


def test_client_clock_behind_server_gets_1021(sim: Simulator, client: UMFutures) -> None:
    sim.advance(10)
    err = _error(lambda: client.sign_request("GET", "/fapi/v3/balance", {}))
    assert err.error_code == -1021
    assert client.get_orders(recvWindow=20_000) == []  # a wider window absorbs the skew
