from __future__ import annotations

import queue
import threading
from decimal import Decimal

import pytest

from bot.oms.events import RawMessage
from bot.oms.worker import OmsWorker
from tests.oms import payloads
from tests.oms.conftest import audit_records


@pytest.fixture
def inbound() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def worker(oms, inbound):
    before = set(threading.enumerate())
    running = OmsWorker(oms, inbound, name="oms-test")
    running.start()
    yield running
    assert running.stop(timeout=5)
    assert set(threading.enumerate()) == before


def test_queued_messages_reach_state(worker, inbound, oms):
    inbound.put(RawMessage(payloads.order_update(), 1))
    inbound.put(RawMessage(payloads.account_update(), 2))
    assert worker.wait_idle(timeout=5)
    assert oms.snapshot().positions["BTCUSDC"].amount == Decimal("0.010")
    assert worker.metrics() == {
        "applied": 2, "malformed": 0, "unknown": 0, "failed": 0, "queue_depth": 0,
    }  # fmt: skip


def test_malformed_and_unknown_payloads_do_not_kill_the_consumer(worker, inbound, oms, audit_dir):
    inbound.put(RawMessage("{not json", 1))
    inbound.put(RawMessage('{"e":"ORDER_TRADE_UPDATE","E":1}', 2))
    inbound.put(RawMessage('{"e":"STRATEGY_UPDATE","E":1}', 3))
    inbound.put(RawMessage(payloads.account_update(), 4))
    assert worker.wait_idle(timeout=5)
    assert worker.alive
    assert (worker.malformed, worker.unknown, worker.applied) == (2, 1, 1)
    assert oms.snapshot().usdc_wallet == Decimal("9999.76")
    assert len(audit_records(audit_dir, "malformed_payload")) == 2


def test_an_item_the_oms_cannot_apply_is_counted_and_the_consumer_carries_on(
    worker, inbound, audit_dir
):
    inbound.put({"not": "an event"})
    inbound.put(RawMessage(payloads.account_update(), 2))
    assert worker.wait_idle(timeout=5)
    assert (worker.failed, worker.applied) == (1, 1)
    assert len(audit_records(audit_dir, "oms_error")) == 1


def test_stop_applies_everything_already_queued(oms, inbound, store):
    worker = OmsWorker(oms, inbound)
    for trade_id in range(1, 51):
        inbound.put(RawMessage(payloads.order_update(t=trade_id, i=trade_id, rp="1", n="0"), 0))
    worker.start()
    assert worker.stop(timeout=5)
    assert worker.applied == 50
    assert not worker.alive
    assert store.load().day_pnls[0].realised == Decimal(50)


def test_wait_idle_commits_the_open_batch_at_once(oms, inbound, store):
    worker = OmsWorker(oms, inbound, commit_interval=3600)
    worker.start()
    try:
        inbound.put(RawMessage(payloads.order_update(rp="2", n="0"), 0))
        assert worker.wait_idle(timeout=5)
        assert store.load().day_pnls[0].realised == Decimal(2)
    finally:
        assert worker.stop(timeout=5)


def test_events_are_visible_before_their_batch_is_committed(oms, inbound, store):
    worker = OmsWorker(oms, inbound, commit_interval=3600)
    worker.start()
    try:
        inbound.put(RawMessage(payloads.account_update(), 0))
        for _ in range(500):
            if oms.snapshot().usdc_wallet is not None:
                break
            threading.Event().wait(0.01)
        assert oms.snapshot().usdc_wallet == Decimal("9999.76")
        assert store.load().balances == []  # the batch is still open
    finally:
        assert worker.stop(timeout=5)
    assert store.load().balances[0].wallet == Decimal("9999.76")  # stop commits it
