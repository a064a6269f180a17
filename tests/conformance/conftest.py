"""Two real clients nobody here wrote, pointed at an in-process simulator on loopback.

Binance's successor SDK (`binance-sdk-derivatives-trading-usds-futures`, typed pydantic
models) and CCXT's `binanceusdm` (REST) / `ccxt.pro` (websockets). Every URL they know is
replaced: the Binance USDⓈ-M ones by the simulator's, all others by a closed loopback port,
so nothing can leave the machine (`no_internet` fails the test if anything tries).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator

import ccxt
import ccxt.pro
import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.conformance
DEAD = "http://127.0.0.1:9"  # discard port, nothing listens: a stray call fails at once


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection or name lookup for a host other than 127.0.0.1 fails the test."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            pytest.fail(f"a client tried to reach {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            pytest.fail(f"a client tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def sdk(sim: Simulator) -> DerivativesTradingUsdsFutures:
    config = ConfigurationRestAPI(
        api_key=SIM_API_KEY, api_secret=SIM_API_SECRET, base_path=sim.rest_url, timeout=5000
    )
    return DerivativesTradingUsdsFutures(config_rest_api=config)


def ccxt_urls(sim: Simulator, template: dict) -> dict:
    """ccxt's `urls['api']` with USDⓈ-M REST and websocket roots on the simulator."""
    api = {}
    for name, url in template.items():
        if name == "ws":
            api[name] = {k: DEAD for k in url} | {"linear": f"{sim.ws_url}/ws"}
        elif name.startswith("fapi") and isinstance(url, str):
            api[name] = sim.rest_url + url[len("https://fapi.binance.com") :]
        else:
            api[name] = DEAD if isinstance(url, str) else {k: DEAD for k in url}
    return api


def ccxt_config(sim: Simulator, exchange_cls) -> dict:
    """ccxt picks its USDⓈ-M error table by the URL's host (`https://fapi.binance.com/`),
    so on any other host it is given that table explicitly: -4164 stays `InvalidOrder`,
    -2021 `OrderImmediatelyFillable`, as against Binance (a plain `ExchangeError` otherwise)."""
    template = exchange_cls()
    return {
        "apiKey": SIM_API_KEY,
        "secret": SIM_API_SECRET,
        "timeout": 5000,
        "urls": {"api": ccxt_urls(sim, template.urls["api"])},
        "exceptions": template.exceptions["linear"],
        "options": {
            "fetchMarkets": {"types": ["linear"]},
            "fetchCurrencies": False,
            "adjustForTimeDifference": False,
        },
    }


@pytest.fixture
def cx(sim: Simulator) -> Iterator[ccxt.binanceusdm]:
    exchange = ccxt.binanceusdm(ccxt_config(sim, ccxt.binanceusdm))
    yield exchange
    exchange.session.close()


@pytest.fixture
def run() -> Iterator:
    """Run coroutines (ccxt.pro, the SDK's streams) on one event loop per test."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def cxpro(sim: Simulator, run) -> Iterator[ccxt.pro.binanceusdm]:
    exchange = run(_make_pro(sim))
    yield exchange
    run(exchange.close())


async def _make_pro(sim: Simulator) -> ccxt.pro.binanceusdm:
    return ccxt.pro.binanceusdm(ccxt_config(sim, ccxt.pro.binanceusdm))


@pytest.fixture(autouse=True)
def sdk_models_accept_every_reply(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The successor SDK does not raise on a reply or event that fails its pydantic models:
    it logs a warning and relaxes the model or hands back the raw payload. Any warning of
    the SDK fails the test, so every reply and pushed event must validate."""
    yield
    warned = [
        r.getMessage()
        for r in caplog.get_records("setup") + caplog.get_records("call")
        if r.levelno >= logging.WARNING and "/binance_" in r.pathname
    ]
    assert not warned, warned
