"""Request hooks: let a test act at the exact boundary around one request.

A crash-safety scenario needs to kill the bot between two requests, or after Binance
executed an order but before the answer reached the bot. ``before`` runs when a request
has arrived and before it is executed; ``after`` runs once it was executed (its answer
is in the request log) and before the answer is written. A hook that returns ``DROP``
cuts the connection instead: before execution the request is then never executed (as if
the bot died before sending it); after execution the bot never hears the answer.

Hooks run on the simulator's connection threads, outside the exchange lock, so they may
call the simulator's own methods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

DROP = "drop"  # returned by a hook: cut the connection instead of going on

Hook = Callable[[str, str, dict[str, str]], Any]


class RequestHooks:
    """The current ``before`` / ``after`` hook (one each; None = none)."""

    def __init__(self) -> None:
        self.before: Hook | None = None
        self.after: Hook | None = None

    def run_before(self, method: str, path: str, params: dict[str, str]) -> bool:
        """True when the request must be dropped unexecuted."""
        hook = self.before
        return hook is not None and hook(method, path, dict(params)) == DROP

    def run_after(self, method: str, path: str, params: dict[str, str]) -> bool:
        """True when the answer of the executed request must not be sent."""
        hook = self.after
        return hook is not None and hook(method, path, dict(params)) == DROP


class CrashAt:
    """Fires ``action`` once, at the ``k``-th signed request (1-based) seen from now on.

    The request is dropped at that boundary: unexecuted (``executed=False``) or executed
    with its answer withheld (``executed=True``). Later requests pass untouched.
    ``writes_only`` counts only signed non-GET requests (orders, cancels, settings).
    """

    def __init__(
        self, k: int, action: Callable[[], Any], *, executed: bool, writes_only: bool
    ) -> None:
        if k < 1:
            raise ValueError("k counts from 1")
        self.k = k
        self.executed = executed
        self._action = action
        self._writes_only = writes_only
        self._lock = threading.Lock()
        self.seen = 0  # matching signed requests so far
        self.fired = False
        self._pending: str | None = None  # signature of the k-th request, awaiting after()

    def before(self, method: str, path: str, params: dict[str, str]) -> str | None:
        with self._lock:
            if self.fired or "signature" not in params:
                return None
            if self._writes_only and method == "GET":
                return None
            self.seen += 1
            if self.seen != self.k:
                return None
            self.fired = True
            if self.executed:
                self._pending = params["signature"]  # dropped in after(), once executed
                return None
        self._action()
        return DROP

    def after(self, method: str, path: str, params: dict[str, str]) -> str | None:
        with self._lock:
            if self._pending is None or params.get("signature") != self._pending:
                return None
            self._pending = None
        self._action()
        return DROP
