"""Benchmark 1: user-data payloads through the queue into OMS state, persistence on.

Real objects only: ``RawMessage`` → ``queue.Queue`` → ``OmsWorker`` → ``Oms`` with a
SQLite ``Store`` and an ``AuditJournal`` in a temp dir. Two figures:

* throughput: every payload put on the queue as fast as one producer thread can,
  until ``wait_idle`` says all are applied and committed (and, as a second line,
  the consumer alone on a pre-filled queue);
* latency at a steady rate: each payload stamped just before ``put``; the OMS
  subclass below stamps when ``apply`` returned (state visible) and when the
  batch commit returned (durable). FIFO order pairs the k-th stamp with the k-th put.

Floor: ``json.loads`` of the same payloads, the least any consumer must do.
"""

from __future__ import annotations

import json
import queue
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import best_of, cli, summary_ms
from bench.payloads import user_data_payloads
from bot.audit import AuditJournal
from bot.exchange.user_data import parse_user_data
from bot.oms.events import RawMessage
from bot.oms.oms import Oms
from bot.oms.store import Store
from bot.oms.worker import OmsWorker

GOAL_EVENTS_PER_S = 100_000
GOAL_P99_MS = 1.0


def _decode_each(payloads: list[str]) -> None:
    """The floor: decode every payload and drop it, as the consumer does. (A list of
    100k live dicts would make the collector scan them all: 7.2 µs instead of 3.9 µs per
    payload, a floor that flatters everything measured against it.)"""
    loads = json.loads
    for payload in payloads:
        loads(payload)


class TimedOms(Oms):
    """Bench-only: records when each event became visible to readers (published in a
    view) and when its batch was committed."""

    def __init__(self, store: Store, audit: AuditJournal) -> None:
        super().__init__(store, audit)
        self.applied_ns: list[int] = []
        self.committed_ns: list[int] = []
        self._unpublished = 0

    def apply(self, event, *, commit: bool = True) -> None:
        super().apply(event, commit=commit)
        self._unpublished += 1

    def publish(self) -> None:
        super().publish()
        now = time.perf_counter_ns()
        self.applied_ns.extend([now] * self._unpublished)
        self._unpublished = 0

    def commit(self) -> None:
        super().commit()
        now = time.perf_counter_ns()
        self.committed_ns.extend([now] * (len(self.applied_ns) - len(self.committed_ns)))


class _Pipeline:
    """Store + audit + OMS + worker in a temp dir; closed in reverse order."""

    def __init__(self, directory: Path, oms_class: type[Oms] = Oms) -> None:
        self.store = Store.open(directory / "state.db")
        self.audit = AuditJournal(directory / "audit")
        self.oms = oms_class(self.store, self.audit)
        self.inbound: queue.Queue = queue.Queue()
        self.worker = OmsWorker(self.oms, self.inbound, decode=parse_user_data)

    def close(self) -> None:
        self.worker.stop(timeout=60)
        self.store.close()
        self.audit.close()

    def check(self, expected: int) -> None:
        metrics = self.worker.metrics()
        if metrics["applied"] != expected or metrics["failed"] or metrics["malformed"]:
            raise RuntimeError(f"OMS did not apply every payload cleanly: {metrics}")


def _throughput(payloads: list[str], directory: Path, *, prefill: bool = False) -> float:
    pipeline = _Pipeline(directory)
    try:
        now_ms = int(time.time() * 1000)
        if prefill:
            for payload in payloads:
                pipeline.inbound.put(RawMessage(payload, now_ms))
        started = time.perf_counter()
        pipeline.worker.start()
        if not prefill:
            for payload in payloads:
                pipeline.inbound.put(RawMessage(payload, now_ms))
        pipeline.worker.wait_idle()
        elapsed = time.perf_counter() - started
        pipeline.check(len(payloads))
        return len(payloads) / elapsed
    finally:
        pipeline.close()


def _steady_latency(payloads: list[str], directory: Path, rate: int) -> dict:
    pipeline = _Pipeline(directory, TimedOms)
    oms: TimedOms = pipeline.oms  # type: ignore[assignment]
    enqueued_ns: list[int] = []
    interval_ns = 1_000_000_000 // rate
    late = 0
    try:
        pipeline.worker.start()
        start = time.perf_counter_ns()
        for index, payload in enumerate(payloads):
            due = start + index * interval_ns
            wait_ns = due - time.perf_counter_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)  # sleeping releases the GIL to the consumer
            elif wait_ns < -interval_ns:
                late += 1
            enqueued_ns.append(time.perf_counter_ns())
            pipeline.inbound.put(RawMessage(payload, int(time.time() * 1000)))
        pipeline.worker.wait_idle()
        achieved = len(payloads) / ((time.perf_counter_ns() - start) / 1e9)
        pipeline.check(len(payloads))
    finally:
        pipeline.close()
    return {
        "rate_target_per_s": rate,
        "rate_achieved_per_s": round(achieved),
        "producer_late_puts": late,
        "enqueue_to_visible": summary_ms(
            [a - e for a, e in zip(oms.applied_ns, enqueued_ns, strict=True)]
        ),
        "enqueue_to_committed": summary_ms(
            [c - e for c, e in zip(oms.committed_ns, enqueued_ns, strict=True)]
        ),
    }


def run(events: int, latency_events: int, rate: int) -> dict:
    payloads = user_data_payloads(events, start_ms=int(time.time() * 1000) - 86_400_000)
    floor_s = best_of(3, lambda: _decode_each(payloads))
    floor_rate = events / floor_s
    with tempfile.TemporaryDirectory(prefix="bench-oms-") as tmp:
        root = Path(tmp)
        through_queue = _throughput(payloads, root / "queue")
        consumer_only = _throughput(payloads, root / "prefilled", prefill=True)
        latency = _steady_latency(payloads[:latency_events], root / "steady", rate)
    p99 = latency["enqueue_to_visible"]["p99_ms"]
    return {
        "benchmark": "oms_ingest",
        "events": events,
        "floor_json_loads_per_s": round(floor_rate),
        "events_per_s": round(through_queue),
        "events_per_s_consumer_only": round(consumer_only),
        "slowdown_vs_floor": round(floor_rate / through_queue, 1),
        "steady": latency,
        "goal": f">= {GOAL_EVENTS_PER_S} events/s, p99 <= {GOAL_P99_MS} ms",
        "goal_met": {
            "events_per_s": through_queue >= GOAL_EVENTS_PER_S,
            "p99": p99 <= GOAL_P99_MS,
        },
    }


if __name__ == "__main__":
    cli(
        __doc__.splitlines()[0],
        run,
        {"events": (100_000, 2_000), "latency_events": (10_000, 300), "rate": (1_000, 1_000)},
    )
