from __future__ import annotations

import queue
import threading
from decimal import Decimal

import pytest

from bot.exchange.user_data import parse_user_data
from bot.oms.events import AccountUpdate, RawMessage
from bot.oms.worker import OmsWorker
from tests.audit_reader import audit_records
from tests.oms import payloads


@pytest.fixture
def inbound() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def worker(oms, inbound):
    before = set(threading.enumerate())
    running = OmsWorker(oms, inbound, name="oms-test", decode=parse_user_data)
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
    worker = OmsWorker(oms, inbound, decode=parse_user_data)
    for trade_id in range(1, 51):
        inbound.put(RawMessage(payloads.order_update(t=trade_id, i=trade_id, rp="1", n="0"), 0))
    worker.start()
    assert worker.stop(timeout=5)
    assert worker.applied == 50
    assert not worker.alive
    assert store.load().day_pnls[0].realised == Decimal(50)


def test_wait_idle_commits_the_open_batch_at_once(oms, inbound, store):
    worker = OmsWorker(oms, inbound, commit_interval=3600, decode=parse_user_data)
    worker.start()
    try:
        inbound.put(RawMessage(payloads.order_update(rp="2", n="0"), 0))
        assert worker.wait_idle(timeout=5)
        assert store.load().day_pnls[0].realised == Decimal(2)
    finally:
        assert worker.stop(timeout=5)


def test_events_are_visible_before_their_batch_is_committed(oms, inbound, store):
    worker = OmsWorker(oms, inbound, commit_interval=3600, decode=parse_user_data)
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


def committed_orders(store) -> dict:
    return {o.order_id: o for o in store.load().orders}


def test_a_deeply_nested_frame_does_not_kill_the_consumer(worker, inbound, oms, audit_dir):
    inbound.put(RawMessage("[" * 100_000 + "]" * 100_000, 1))  # json.loads: RecursionError
    inbound.put(RawMessage(payloads.account_update(), 2))
    assert worker.wait_idle(timeout=5)
    assert worker.alive and worker.health().healthy
    assert (worker.malformed, worker.applied) == (1, 1)
    assert oms.snapshot().usdc_wallet == Decimal("9999.76")
    assert len(audit_records(audit_dir, "malformed_payload")) == 1


@pytest.mark.parametrize(
    "hostile",
    [
        payloads.order_update(i=2**63, t=7),  # order id beyond SQLite's int64
        payloads.order_update(i=5, t=-3),  # Binance ids are never negative
        payloads.order_update(i=5, t=7).replace(
            '"c": "ufb-', '"c": "\\ud800ufb-'
        ),  # lone surrogate
        payloads.order_update(i=5, t=7, L="1E+999999"),  # a price no arithmetic survives
    ],
    ids=["int64-overflow", "negative-id", "lone-surrogate", "huge-decimal"],
)
def test_a_record_sqlite_cannot_store_is_rejected_and_later_fills_are_stored(
    worker, inbound, store, audit_dir, hostile
):
    inbound.put(RawMessage(hostile, 1))
    inbound.put(RawMessage(payloads.order_update(i=42, t=43, rp="3", n="0"), 2))
    assert worker.wait_idle(timeout=5)
    assert worker.alive
    assert (worker.malformed, worker.failed) == (1, 0)
    assert list(committed_orders(store)) == [42]
    assert store.load().day_pnls[0].realised == Decimal(3)
    assert len(audit_records(audit_dir, "malformed_payload")) == 1


def test_health_reports_a_consumer_that_is_no_longer_running(oms, inbound):
    worker = OmsWorker(oms, inbound, decode=parse_user_data)
    worker.start()
    assert worker.health().healthy
    assert worker.stop(timeout=5)
    health = worker.health()
    assert not health.alive and not health.healthy
    assert "not running" in health.problem


def test_a_stalled_consumer_is_unhealthy_until_it_catches_up(oms, inbound):
    worker = OmsWorker(oms, inbound, stall_limit_s=0.2, decode=parse_user_data)
    release = threading.Event()
    handler = oms._handlers[AccountUpdate]
    oms._handlers[AccountUpdate] = lambda event: (release.wait(5), handler(event))  # hangs
    worker.start()
    try:
        inbound.put(RawMessage(payloads.account_update(), 1))
        assert not worker.wait_idle(timeout=0.3)
        health = worker.health()
        assert health.alive and health.lag_s >= 0.2 and not health.healthy
        assert "behind" in health.problem
        release.set()
        assert worker.wait_idle(timeout=5)
        assert worker.health().healthy
    finally:
        assert worker.stop(timeout=5)


def test_state_changes_off_the_worker_thread_are_refused_and_commands_go_through_it(
    oms, inbound, store
):
    from bot.oms.commands import SetMeta
    from bot.oms.oms import WrongThread

    worker = OmsWorker(oms, inbound, decode=parse_user_data)
    worker.start()
    try:
        inbound.put(SetMeta("plan:BTCUSDC", "{}"))  # the one way in for other threads
        assert worker.wait_idle(timeout=5)
        assert oms.snapshot().meta == {"plan:BTCUSDC": "{}"}
        assert store.load().meta == {"plan:BTCUSDC": "{}"}  # committed with the batch
        with pytest.raises(WrongThread):
            oms.apply(SetMeta("plan:ETHUSDC", "{}"))  # this thread is not the writer
        assert "plan:ETHUSDC" not in oms.snapshot().meta
    finally:
        assert worker.stop(timeout=5)
