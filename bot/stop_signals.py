"""SIGINT/SIGTERM for the service, installed before anything is built.

Without it a SIGTERM during start-up (the stream may wait up to 15 s for its first
snapshot) kills the process outright: no ``stop`` record, threads cut off, the
listenKey left open. A signal never interrupts a step either: a bracket cut between
the entry fill and its stop-loss would leave a position unprotected. So the handler
only records the request and calls the owner's hooks (end start-up waits early, shut
the scheduler down after its running job); the owner checks :attr:`requested`
between steps and winds down through its normal, complete shutdown.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None  # signal.signal's


class StopSignals:
    """A context manager: installs the handlers on enter, restores the previous ones on exit."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.name: str | None = None  # the first signal received
        self._hooks: list[Callable[[], None]] = []
        self._previous: dict[int, _Handler] = {}

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def on_stop(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on a stop request (at once if one already arrived)."""
        self._hooks.append(hook)
        if self.requested:
            hook()

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # a second signal while stopping changes nothing
            return
        self.name = signal.Signals(signum).name
        log.info("signal %s: stopping the service", self.name)
        self._event.set()
        for hook in list(self._hooks):
            hook()
