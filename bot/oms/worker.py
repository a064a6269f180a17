"""The OMS consumer thread: drains the inbound queue into :class:`bot.oms.oms.Oms`.

Items are :class:`RawMessage` (websocket text), already-typed events
(REST snapshots) or commands (:mod:`bot.oms.commands`: day-PnL seed, prune,
metadata). This thread is the OMS's only writer (it binds itself at start; a change
from any other thread raises). Each item is applied the moment it is taken; readers
see it in the next published view, published whenever the queue runs empty and at
every batch's end (so at once at a trickle, and ``wait_idle`` returns only after a
view holding everything taken is published); the store commits in batches: one transaction per at most ``batch_size`` events
or ``commit_interval`` seconds after the batch's first event, whichever comes first.
That makes the ingest rate independent of commit cost, and at a steady trickle it
keeps SQLite's WAL checkpoints (which fsync) rare. A crash loses at most the open
batch, as it always could; the REST snapshot and income-history seed at start-up
repair it, and ``wait_idle`` returns only once everything taken is committed. Nothing
an item does can kill the thread: a malformed payload (whatever it breaks while
parsing, RecursionError included) is logged, audited and counted; an unknown event
type is counted and skipped; a bug in a handler or a refused commit is logged,
alarmed and counted as ``failed``.

Entries must not be decided on a stale view, so :meth:`OmsWorker.health` says
whether the consumer is running and keeping up: not running, stalled on one item or
commit for longer than ``stall_limit_s``, or behind when the last ``wait_idle``
timed out. The owner (``App``) refuses entries while it is unhealthy and replaces a
dead consumer with a fresh worker over the same queue and OMS.

Stopping: the owner first stops the producers (the stream), then calls
:meth:`OmsWorker.stop`, which applies everything still queued, commits and joins.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from bot.oms.events import Decode, MalformedPayload, RawMessage, UnknownEvent
from bot.oms.oms import Oms

log = logging.getLogger(__name__)

_STOP = object()
_FLUSH = object()  # ends the open batch now: someone waits for everything to be committed
STALL_LIMIT_S = 10.0


@dataclass(frozen=True)
class OmsHealth:
    """Whether the OMS view can be trusted for an entry decision."""

    alive: bool
    lag_s: float  # how long pending work has waited for the consumer to make progress
    failures: int  # malformed payloads + failed applies and commits, since start
    behind: bool  # the last wait_idle timed out
    stall_limit_s: float

    @property
    def healthy(self) -> bool:
        return self.problem is None

    @property
    def problem(self) -> str | None:
        if not self.alive:
            return "OMS consumer is not running"
        if self.behind or self.lag_s > self.stall_limit_s:
            return f"OMS consumer is behind (no progress for {self.lag_s:.1f} s)"
        return None


class OmsWorker:
    """Owns the consumer thread; ``applied``/``malformed``/``unknown``/``failed`` are counters."""

    def __init__(
        self,
        oms: Oms,
        inbound: queue.Queue[object],  # raw payloads, events, commands
        *,
        decode: Decode,
        name: str = "oms-consumer",
        batch_size: int = 500,
        commit_interval: float = 0.02,
        stall_limit_s: float = STALL_LIMIT_S,
    ) -> None:
        self._oms = oms
        self._inbound = inbound
        self._decode = decode  # the exchange boundary's: the OMS knows no wire format
        self._batch_size = batch_size
        self._commit_interval = commit_interval
        self._stall_limit_s = stall_limit_s
        self._thread = threading.Thread(target=self._run, name=name)
        self._progress_at = time.monotonic()  # last time the consumer took an item or committed
        self._taken = 0  # items of the open batch, not yet task_done
        self._waiting = False  # blocked on an empty queue: whatever arrives is taken at once
        self._behind = False
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

    def health(self) -> OmsHealth:
        stalled = self._inbound.unfinished_tasks > 0 and not self._waiting
        return OmsHealth(
            alive=self._thread.is_alive(),
            lag_s=time.monotonic() - self._progress_at if stalled else 0.0,
            failures=self.malformed + self.failed,
            behind=self._behind,
            stall_limit_s=self._stall_limit_s,
        )

    def start(self) -> None:
        self._progress_at = time.monotonic()
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
        if not self._thread.is_alive():  # nobody will ever apply what is queued
            self._behind = True
            return False
        self._inbound.put(_FLUSH)
        with self._inbound.all_tasks_done:
            idle = self._inbound.all_tasks_done.wait_for(
                lambda: self._inbound.unfinished_tasks == 0, timeout
            )
        self._behind = not idle
        return idle

    def _run(self) -> None:
        self._oms.bind_writer()
        try:
            stopping = False
            while not stopping:
                stopping = self._apply_batch()
                self._commit()
                self._done()
            self._drain()
        finally:
            # Only a BaseException gets here early: mark what it took as done, so a
            # replacement worker's wait_idle is not waiting for items nobody holds.
            self._done()

    def _done(self) -> None:
        """Publish what was applied, then mark it done: whoever ``wait_idle``s for it
        reads a view that holds it."""
        self._publish()
        taken, self._taken = self._taken, 0
        self._progress_at = time.monotonic()
        for _ in range(taken):
            self._inbound.task_done()

    def _apply_batch(self) -> bool:
        """Apply items as they arrive until the batch is
        full, ``commit_interval`` has passed since its first item, or stop is asked;
        returns whether stop was asked. Group commit: at a steady trickle, committing
        every event would write a few WAL pages per event and make SQLite checkpoint
        (two fsyncs) every few hundred events, stalling the events behind it."""
        self._waiting = True
        item = self._inbound.get()
        self._waiting = False
        deadline = time.monotonic() + self._commit_interval
        while True:
            self._taken += 1
            if item is _STOP:
                return True
            if item is _FLUSH:
                return False
            self._progress_at = time.monotonic()
            self._handle(item)
            if self._taken >= self._batch_size:
                return False
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                self._publish()  # caught up: readers see it now, not at the batch's end
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    item = self._inbound.get(timeout=remaining)
                except queue.Empty:
                    return False

    def _drain(self) -> None:
        """Whatever producers queued before they stopped is still applied."""
        while True:
            try:
                item = self._inbound.get_nowait()
            except queue.Empty:
                break
            self._taken += 1
            if item is not _STOP and item is not _FLUSH:
                self._handle(item)
        self._commit()
        self._done()

    def _handle(self, item: Any) -> None:
        try:
            event = (
                self._decode(item.payload, item.received_at_ms)
                if isinstance(item, RawMessage)
                else item
            )
        except Exception as error:  # decode raises MalformedPayload; be sure
            self.malformed += 1
            self._record(self._oms.record_malformed, _as_malformed(error, item))
            return
        if isinstance(event, UnknownEvent):
            self.unknown += 1
            log.debug("skipping unknown user-data event %s", event.event_type)
            return
        try:
            self._oms.apply(event, commit=False)
        except Exception as error:  # the consumer must outlive any one bad event
            self.failed += 1
            self._record(self._oms.record_failure, type(event).__name__, error)
            return
        self.applied += 1

    def _commit(self) -> None:
        try:
            self._oms.commit()
        except Exception as error:
            self.failed += 1
            self._record(self._oms.record_failure, "commit", error)

    def _publish(self) -> None:
        try:
            self._oms.publish()
        except Exception as error:
            self.failed += 1
            self._record(self._oms.record_failure, "publish", error)

    def _record(self, record: Any, *args: Any) -> None:
        """Audit a problem; if even that fails (disk full), log it and carry on."""
        try:
            record(*args)
        except Exception:
            log.exception("OMS could not record a problem: %r", args)


def _as_malformed(error: Exception, item: Any) -> MalformedPayload:
    if isinstance(error, MalformedPayload):
        return error
    payload = getattr(item, "payload", item)
    return MalformedPayload(f"{type(error).__name__}: {error}", str(payload)[:2000])
