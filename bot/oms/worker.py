"""The OMS consumer thread: drains the inbound queue into :class:`bot.oms.oms.Oms`.

Items are :class:`RawMessage` (websocket text, paper fills) or already-typed events
(REST snapshots). Each is applied the moment it is taken (state is visible at once)
and the store commits in batches: one transaction per at most ``batch_size`` events
or ``commit_interval`` seconds after the batch's first event, whichever comes first.
That makes the ingest rate independent of commit cost, and at a steady trickle it
keeps SQLite's WAL checkpoints (which fsync) rare. A crash loses at most the open
batch, as it always could; the REST snapshot and income-history seed at start-up
repair it, and ``wait_idle`` returns only once everything taken is committed. Nothing
an item does can kill the thread: a malformed payload is logged, audited and
counted; an unknown event type is counted and skipped; a bug in a handler is
logged, audited and counted as ``failed``.

Stopping: the owner first stops the producers (the stream), then calls
:meth:`OmsWorker.stop`, which applies everything still queued, commits and joins.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from bot.oms.events import MalformedPayload, RawMessage, UnknownEvent
from bot.oms.oms import Oms
from bot.oms.parsing import parse_user_data

log = logging.getLogger(__name__)

_STOP = object()
_FLUSH = object()  # ends the open batch now: someone waits for everything to be committed


class OmsWorker:
    """Owns the consumer thread; ``applied``/``malformed``/``unknown``/``failed`` are counters."""

    def __init__(
        self,
        oms: Oms,
        inbound: queue.Queue,
        *,
        name: str = "oms-consumer",
        batch_size: int = 500,
        commit_interval: float = 0.02,
    ) -> None:
        self._oms = oms
        self._inbound = inbound
        self._batch_size = batch_size
        self._commit_interval = commit_interval
        self._thread = threading.Thread(target=self._run, name=name)
        self.applied = 0
        self.malformed = 0
        self.unknown = 0
        self.failed = 0

    @property
    def queue_depth(self) -> int:
        return self._inbound.qsize()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def metrics(self) -> dict[str, int]:
        return {
            "applied": self.applied,
            "malformed": self.malformed,
            "unknown": self.unknown,
            "failed": self.failed,
            "queue_depth": self.queue_depth,
        }

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Apply what is queued, commit, join; False if the thread did not end in time."""
        if self._thread.is_alive():
            self._inbound.put(_STOP)
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("OMS consumer did not stop within %.1f s", timeout)
            return False
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued item is applied and committed (tests, ``--once``);
        the open batch is committed at once rather than at the end of its interval."""
        with self._inbound.all_tasks_done:
            if self._inbound.unfinished_tasks == 0:
                return True
        self._inbound.put(_FLUSH)
        with self._inbound.all_tasks_done:
            return self._inbound.all_tasks_done.wait_for(
                lambda: self._inbound.unfinished_tasks == 0, timeout
            )

    def _run(self) -> None:
        stopping = False
        while not stopping:
            taken, stopping = self._apply_batch()
            self._commit()
            for _ in range(taken):
                self._inbound.task_done()
        self._drain()

    def _apply_batch(self) -> tuple[int, bool]:
        """Apply items as they arrive (state is visible at once) until the batch is
        full, ``commit_interval`` has passed since its first item, or stop is asked;
        returns (items taken, stopping). Group commit: at a steady trickle, committing
        every event would write a few WAL pages per event and make SQLite checkpoint
        (two fsyncs) every few hundred events, stalling the events behind it."""
        item = self._inbound.get()
        deadline = time.monotonic() + self._commit_interval
        taken = 0
        while True:
            taken += 1
            if item is _STOP:
                return taken, True
            if item is _FLUSH:
                return taken, False
            self._handle(item)
            if taken >= self._batch_size:
                return taken, False
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return taken, False
                try:
                    item = self._inbound.get(timeout=remaining)
                except queue.Empty:
                    return taken, False

    def _drain(self) -> None:
        """Whatever producers queued before they stopped is still applied."""
        drained = 0
        while True:
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP and item is not _FLUSH:
                self._handle(item)
            drained += 1
        self._commit()
        for _ in range(drained):
            self._inbound.task_done()

    def _handle(self, item: Any) -> None:
        try:
            event = (
                parse_user_data(item.payload, item.received_at_ms)
                if isinstance(item, RawMessage)
                else item
            )
        except MalformedPayload as error:
            self.malformed += 1
            self._oms.record_malformed(error)
            return
        if isinstance(event, UnknownEvent):
            self.unknown += 1
            log.debug("skipping unknown user-data event %s", event.event_type)
            return
        try:
            self._oms.apply(event, commit=False)
        except Exception as error:  # the consumer must outlive any one bad event
            self.failed += 1
            self._oms.record_failure(type(event).__name__, error)
            return
        self.applied += 1

    def _commit(self) -> None:
        try:
            self._oms.commit()
        except Exception as error:
            self.failed += 1
            self._oms.record_failure("commit", error)
