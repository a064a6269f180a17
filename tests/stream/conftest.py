"""A running bot slice against the simulator: ExchangeClient → UserStream → queue →
OmsWorker → Oms/Store. Short timeouts; every thread is checked at teardown."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from bot.audit import AuditJournal
from bot.domain.records import Order
from bot.exchange.client import ExchangeClient
from bot.exchange.orders import market_order
from bot.exchange.user_data import parse_user_data
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.oms.oms import Oms
from bot.oms.reconcile import Drift, diff
from bot.oms.store import Store
from bot.oms.worker import OmsWorker
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from bot.stream.user_stream import UserStream, take_snapshot
from tests.waiting import eventually

WAIT_S = 10.0  # upper bound for a wait in these tests; they normally finish far sooner


def our_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith("sim-")}


@dataclass
class Bot:
    sim: Simulator
    client: ExchangeClient
    oms: Oms
    worker: OmsWorker
    stream: UserStream

    def drift(self) -> list[Drift]:
        self.worker.wait_idle(WAIT_S)
        return diff(take_snapshot(self.client, None), self.oms.snapshot())

    def in_sync(self) -> bool:
        return not self.drift()

    def market(self, side: str, qty: str, client_id: str) -> Order:
        return self.client.place_order(market_order("BTCUSDC", side, Decimal(qty), client_id))


@pytest.fixture
def sim_options() -> dict[str, Any]:
    return {"ping_interval_s": 0.2}  # silence detection within a test's time


@pytest.fixture
def bot(sim: Simulator, tmp_path) -> Iterator[Bot]:
    before = our_threads()
    inbound: queue.Queue = queue.Queue()
    client = ExchangeClient(
        Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH), SIM_API_KEY, SIM_API_SECRET, timeout_s=3
    )
    store = Store.open(tmp_path / "state.db")
    audit = AuditJournal(tmp_path / "audit")
    oms = Oms(store, audit)
    worker = OmsWorker(oms, inbound, decode=parse_user_data)
    stream = UserStream(
        client,
        inbound,
        silence_timeout_s=1.0,
        fallback_interval_s=0.05,
        backoff=(0.5, 1.0),
        close_timeout_s=2.0,
    )
    worker.start()
    stream.start()
    running = Bot(sim, client, oms, worker, stream)
    eventually(lambda: stream.health().healthy and stream.snapshots, "stream connected")
    yield running
    assert stream.stop(timeout=5)
    assert worker.stop(timeout=5)
    client.close()
    store.close()
    audit.close()
    assert our_threads() == before
