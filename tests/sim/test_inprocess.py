"""The in-process transport: the SDK's requests answered by the engine without a socket,
signed, checked, weighed and logged as over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.enums import Side
from bot.domain.records import OrderRequest
from bot.exchange.client import ExchangeClient
from bot.exchange.errors import AuthError
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.sim import DROP, SIM_API_KEY, SIM_API_SECRET

NOWHERE = Venue("http://engine.invalid", "ws://engine.invalid", SIM_USER_PATH)  # no DNS, no port


def entry(client_id: str) -> OrderRequest:
    return OrderRequest("BTCUSDC", Side.BUY, Decimal("0.010"), client_id)


def test_request_through_the_adapter_is_signed_checked_weighed_and_logged(sim):
    sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    with ExchangeClient(NOWHERE, SIM_API_KEY, SIM_API_SECRET, adapter=sim.adapter()) as client:
        client.sync_time()
        order = client.place_order(entry("inproc-1"))
        assert client.used_weight_1m > 0

    assert order.client_order_id == "inproc-1"
    assert Decimal(sim.position("BTCUSDC")["positionAmt"]) == Decimal("0.010")
    writes = [r for r in sim.request_log if r.method == "POST"]
    assert [(r.path, r.signed) for r in writes] == [("/fapi/v1/order", True)]
    assert "signature" in writes[0].params


def test_a_bad_signature_is_refused_in_process_as_over_http(sim):
    with (
        ExchangeClient(NOWHERE, SIM_API_KEY, "wrong", adapter=sim.adapter()) as client,
        pytest.raises(AuthError),
    ):
        client.account()


def test_entry_whose_answer_is_lost_in_process_is_not_duplicated(sim):
    sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    sim.on_executed(lambda method, path, params: DROP if method == "POST" else None)
    with ExchangeClient(
        NOWHERE, SIM_API_KEY, SIM_API_SECRET, adapter=sim.adapter(), resolve_delay_s=0
    ) as client:
        client.sync_time()
        order = client.place_order(entry("inproc-2"))  # executed, answer lost: resolved

    assert order.client_order_id == "inproc-2"
    assert [r.path for r in sim.request_log if r.method == "POST"] == ["/fapi/v1/order"]
    assert Decimal(sim.position("BTCUSDC")["positionAmt"]) == Decimal("0.010")
