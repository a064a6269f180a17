"""The OMS consumer thread: drains the inbound queue into :class:`bot.oms.oms.Oms`.

Items are :class:`RawMessage` (websocket text, paper fills) or already-typed events
(REST snapshots). They are applied in arrival order and committed to the store in
batches (one transaction per batch, at most ``batch_size`` events or whatever is
queued), which is what makes the ingest rate independent of fsync cost. Nothing
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
from typing import Any

from bot.oms.events import MalformedPayload, RawMessage, UnknownEvent, parse_user_data
from bot.oms.oms import Oms

log = logging.getLogger(__name__)

_STOP = object()


class OmsWorker:
    """Owns the consumer thread; ``applied``/``malformed``/``unknown``/``failed`` are counters."""

    def __init__(
        self, oms: Oms, inbound: queue.Queue, *, name: str = "oms-consumer", batch_size: int = 500
    ) -> None:
        self._oms = oms
        self._inbound = inbound
        self._batch_size = batch_size
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
        """Block until every queued item is applied and committed (tests, ``--once``)."""
        with self._inbound.all_tasks_done:
            return self._inbound.all_tasks_done.wait_for(
                lambda: self._inbound.unfinished_tasks == 0, timeout
            )

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._inbound.get()]
            while len(batch) < self._batch_size:
                try:
                    batch.append(self._inbound.get_nowait())
                except queue.Empty:
                    break
            for item in batch:
                if item is _STOP:
                    stopping = True
                else:
                    self._handle(item)
            self._commit()
            for _ in batch:
                self._inbound.task_done()
        self._drain()

    def _drain(self) -> None:
        """Whatever producers queued before they stopped is still applied."""
        drained = 0
        while True:
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
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
