"""ExchangeClient driving the real SDK against the local simulator (bot.sim)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.errors import AuthError, NotFound, ReadOnlyViolation, SymbolNotTradable
from bot.exchange.orders import market_order_params
from bot.exchange.venues import Venue, resolve_venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.sim
D = Decimal


@pytest.fixture(scope="module")
def sim():
    with Simulator() as running:
        yield running


def make_client(sim, sleeps=None, **options) -> ExchangeClient:
    venue = resolve_venue("sim", sim=Venue(sim.rest_url, sim.ws_url, "/private/ws/{listen_key}"))
    key = options.pop("api_key", SIM_API_KEY)
    sleep = sleeps.append if sleeps is not None else (lambda _s: None)
    return ExchangeClient(venue, key, SIM_API_SECRET, timeout_s=2, sleep=sleep, **options)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sim, sleeps):
    sim.clear_request_log()
    with make_client(sim, sleeps) as exchange:
        yield exchange


def test_market_data_and_rules_come_from_the_venue(client):
    rules = client.symbol_rules("BTCUSDC")
    assert rules.margin_asset == "USDC" and rules.tick_size > 0
    assert client.mark_price("BTCUSDC") > 0 and client.last_price("BTCUSDC") > 0
    rows = client.klines("BTCUSDC", "1m", 5)
    assert len(rows) == 5 and len(rows[0]) >= 6
    with pytest.raises(SymbolNotTradable, match="BTCUSDT"):
        client.symbol_rules("BTCUSDT")


def test_weight_is_tracked_from_headers(client):
    client.klines("BTCUSDC", "1m", 5)  # the first answer also carries earlier requests' weight
    before = client.weight_spent
    client.klines("BTCUSDC", "1m", 5)
    assert client.used_weight_1m >= 2 and client.weight_spent == before + 1


def test_clock_skew_is_recovered(sim, client):
    sim.inject("-1021", path="/fapi/v3/account")
    assert client.usdc_balance()["asset"] == "USDC"
    paths = [r.path for r in sim.request_log]
    assert paths == ["/fapi/v3/account", "/fapi/v1/time", "/fapi/v3/account"]


def test_429_waits_for_retry_after(sim, client, sleeps):
    sim.inject("429", path="/fapi/v1/premiumIndex", retry_after_s=3)
    assert client.mark_price("BTCUSDC") > 0
    assert sleeps and 2 < max(sleeps) <= 3
    assert len(sim.request_log) == 2


def test_wrong_key_fails_fast_with_a_clear_message(sim):
    sim.clear_request_log()
    with make_client(sim, api_key="not-the-key") as wrong, pytest.raises(AuthError, match="IP"):
        wrong.account()
    assert len(sim.request_log) == 1


def test_dry_run_client_sends_no_signed_write(sim):
    sim.clear_request_log()
    with make_client(sim, read_only=True) as dry:
        with pytest.raises(ReadOnlyViolation):
            dry.place_order(market_order_params("BTCUSDC", "BUY", D("0.01"), "ufbd-BTCUSDC-1-E"))
        with pytest.raises(ReadOnlyViolation):
            dry.cancel_all("BTCUSDC")
        assert dry.mark_price("BTCUSDC") > 0
        key = dry.new_listen_key()
        dry.close_listen_key(key)
    assert [r.method for r in sim.request_log] == ["GET", "POST", "DELETE"]


def test_listen_key_lifecycle(sim, client):
    key = client.new_listen_key()
    assert client.user_stream_url(key) == f"{sim.ws_url}/private/ws/{key}"
    client.keepalive_listen_key(key)
    client.close_listen_key(key)
    with pytest.raises(NotFound):
        client.keepalive_listen_key(key)
