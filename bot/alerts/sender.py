"""The alert sender: a bounded queue and one thread, so sending never slows trading.

:meth:`AlertSender.submit` is called on whatever thread appended the audit record
(the trading thread, the OMS thread) and only puts on the queue: when it is full
the alert is dropped and counted (logged once), never waited for. The sender thread
alone talks to the network, with the channel's timeouts; a failure is logged and
counted, never raised. Alerts with the same key within the dedupe window are
collapsed: the first goes at once, the rest become one "…and N more" when the
window ends (or at close). :meth:`close` flushes with a deadline: a hanging
receiver cannot hold the process past it (the thread is a daemon for that reason
only; it is still started, stopped and joined by its owner).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.alerts.rules import Alert

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0  # the longest the thread sleeps without looking at its windows


@dataclass
class AlertStats:
    """Counters for metrics (README "Alerts"): ``sent`` and ``failed`` messages (a
    "…and N more" is one), ``dropped`` (queue full, or the sender gone) and
    ``collapsed`` (folded into a "…and N more")."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    collapsed: int = 0


@dataclass
class _Window:
    until: float
    latest: Alert
    count: int = 0


class AlertSender:
    """Owns the queue and the thread; ``send`` delivers one alert (True: delivered)."""

    def __init__(
        self,
        send: Callable[[Alert], bool],
        *,
        queue_size: int,
        dedupe_window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=queue_size)  # None: wake
        self._window_s = dedupe_window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._stopping = threading.Event()
        self._abandoned = threading.Event()  # the flush deadline passed: send nothing more
        self._lock = threading.Lock()  # the counters written from submitting threads
        self._told_full = False
        self._thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)
        self.stats = AlertStats()
        self.died: str | None = None  # why the thread ended early, if it did

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` without waiting; a full queue or a dead sender drops it."""
        if self.died is not None or self._stopping.is_set():
            self._count_drop("the alert sender is not running")
            return
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self._count_drop(f"the alert queue is full ({self._queue.maxsize})")

    def _count_drop(self, why: str) -> None:
        with self._lock:
            self.stats.dropped += 1
            first = not self._told_full
            self._told_full = True
        if first:  # once: a flood of drops must not flood the log too
            log.warning("alerts dropped: %s (counted in alert stats; logged once)", why)

    def close(self, deadline_s: float) -> bool:
        """Send what is queued and the pending "…and N more", within ``deadline_s``;
        then stop. False (logged) when something was left unsent."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # full: the thread is busy and sees the stop
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(deadline_s)
        if self._thread.is_alive():  # still in a send: the receiver is slow or down
            self._abandoned.set()
            log.warning(
                "alerts left unsent: the %.1f s flush deadline passed in a send", deadline_s
            )
            return False
        return True

    # --- the sender thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                try:
                    alert = self._queue.get(timeout=self._wait_s())
                except queue.Empty:
                    if self._stopping.is_set():
                        break
                else:
                    if alert is not None:
                        self._take(alert)
                self._end_windows(final=False)
            self._end_windows(final=True)
        except BaseException as error:  # noticed by submit (drops) and the owner (died)
            self.died = repr(error)
            log.critical("the alert sender thread died: %r; alerts are not sent", error)

    def _wait_s(self) -> float:
        if self._stopping.is_set():
            return 0.0
        now = self._clock()
        pending = [w.until - now for w in self._windows.values() if w.count]
        return max(0.0, min([IDLE_WAIT_S, *pending]))

    def _take(self, alert: Alert) -> None:
        now = self._clock()
        window = self._windows.get(alert.key)
        if window is not None and now < window.until:
            window.count += 1
            window.latest = alert
            self.stats.collapsed += 1
            return
        self._deliver(alert)
        if self._window_s > 0:
            self._windows[alert.key] = _Window(now + self._window_s, alert)

    def _end_windows(self, *, final: bool) -> None:
        now = self._clock()
        for key, window in list(self._windows.items()):
            if final or now >= window.until:
                del self._windows[key]
                if window.count:
                    more = f" (…and {window.count} more)"
                    self._deliver(replace(window.latest, title=window.latest.title + more))

    def _deliver(self, alert: Alert) -> None:
        if self._abandoned.is_set():
            return
        if self._send(alert):
            self.stats.sent += 1
            return
        self.stats.failed += 1
        log.warning("alert not delivered (%s): %s", alert.event, alert.title)
