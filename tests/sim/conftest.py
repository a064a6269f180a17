"""Fixtures: one fresh simulator per test and the real SDK clients pointed at it."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator

import pytest
from binance.um_futures import UMFutures
from binance.websocket.websocket_client import BinanceWebsocketClient

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[UMFutures]:
    um = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=sim.rest_url, timeout=5)
    yield um
    um.session.close()


class StreamReader:
    """The SDK websocket client on a user-data URL, collecting decoded events."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.errors: queue.Queue[BaseException] = queue.Queue()
        self.client = BinanceWebsocketClient(
            stream_url=url,
            on_message=lambda _sm, text: self.events.put(json.loads(text)),
            on_error=lambda _sm, exc: self.errors.put(exc),
        )

    def next(self, event_type: str | None = None, timeout: float = 5.0) -> dict:
        while True:
            event = self.events.get(timeout=timeout)
            if event_type is None or event["e"] == event_type:
                return event

    def stop(self) -> None:
        # SDK quirk: stop() sends a close frame and joins the reader, but never closes the
        # socket; shut it down so no socket outlives the test.
        self.client.stop()
        self.client.socket_manager.ws.shutdown()


@pytest.fixture
def stream(sim: Simulator, client: UMFutures) -> Iterator[StreamReader]:
    key = client.new_listen_key()["listenKey"]
    reader = StreamReader(f"{sim.ws_url}/private/ws/{key}")
    yield reader
    reader.stop()
