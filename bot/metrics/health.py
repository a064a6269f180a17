"""Whether the running service is healthy, in one line: the answer of ``/healthz``.

The same truths the bot acts on, not a second opinion: the OMS consumer's own health
(:meth:`bot.oms.worker.OmsWorker.health`, which ``App.oms_problem`` refuses entries
on), a service stop already decided (``App.oms_failure``), the user stream's state
(``health.json`` shows it too) and the trading cycle's last completion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.sim.market import INTERVAL_MS

if TYPE_CHECKING:
    from bot.app import App

CYCLE_GRACE_S = 60.0  # the scheduler's misfire grace: a tick may start this late


class ServiceHealth:
    """Answers :meth:`problem`; remembers since when the user stream is down, because a
    reconnect of a second is normal and only an outage past the stream's silence
    timeout (after which its own watchdog would have reconnected) is not."""

    def __init__(self, app: App, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stream_down_since: float | None = None
        interval_s = INTERVAL_MS[app.config.strategy.interval] / 1000
        self.cycle_limit_s = 2 * interval_s + CYCLE_GRACE_S  # one missed tick is tolerated
        self._started = app.clock.now()  # before the first cycle, the wait counts from here

    def problem(self) -> str | None:
        """Why the service is not healthy now, or None."""
        app = self._app
        if app.oms_failure is not None:
            return app.oms_failure
        oms_problem = app.worker.health().problem
        if oms_problem is not None:
            return oms_problem
        return self._stream_problem() or self._cycle_problem()

    def _stream_problem(self) -> str | None:
        stream = self._app.stream
        if stream is None:  # --once, dry-run's engine: no user stream to watch
            return None
        health = stream.health()
        now = self._monotonic()
        with self._lock:
            if health.healthy:
                self._stream_down_since = None
                return None
            if self._stream_down_since is None:
                self._stream_down_since = now
            down_for = now - self._stream_down_since
        limit = self._app.config.stream.silence_timeout_s
        if down_for <= limit:
            return None
        fallback = "; REST fallback polling" if health.fallback_running else ""
        return (
            f"user stream {health.state} for {down_for:.0f} s (limit {limit:g} s; "
            f"last disconnect: {health.last_disconnect}){fallback}"
        )

    def _cycle_problem(self) -> str | None:
        """Until the first cycle completes (start-up against a slow venue can take a
        while) the wait counts from the start, with the limit a later cycle has: a
        container healthcheck must not kill a bot that is still starting."""
        last = self._app.trading.last_cycle_at
        age_s = (self._app.clock.now() - (last or self._started)).total_seconds()
        if age_s <= self.cycle_limit_s:
            return None
        if last is None:
            return f"no trading cycle has completed in {age_s:.0f} s since the start"
        return f"last trading cycle ended {age_s:.0f} s ago (limit {self.cycle_limit_s:g} s)"
