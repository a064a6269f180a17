"""The audit records alerts need that nothing else wrote: they belong in the journal anyway.

``stream_down`` / ``stream_up``: the user-data stream was down longer than
``alerts.stream_down_after_s`` (once per outage), and when it came back. A short
drop that the supervisor repairs is no news; the 23 h planned reconnect neither.
``daily_roll``'s summary of the UTC day that just ended: realised PnL, fees and
funding as the OMS stored them, and how many of the bot's orders filled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from bot.oms.state import OmsView
from bot.stream.user_stream import StreamHealth


class Audit(Protocol):
    def append(self, kind: str, data: dict[str, Any], *, sync: bool = False) -> object: ...


class StreamWatch:
    """Samples the stream's health (the service's guard job calls :meth:`check`)."""

    def __init__(
        self, audit: Audit, threshold_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._audit = audit
        self._threshold_s = threshold_s
        self._clock = clock
        self._down_since: float | None = None
        self._reported = False

    def check(self, health: StreamHealth | None) -> None:
        """``health`` None: this mode has no stream."""
        if health is None:
            return
        now = self._clock()
        if health.healthy:
            if self._reported and self._down_since is not None:
                self._audit.append("stream_up", {"down_for_s": round(now - self._down_since)})
            self._down_since, self._reported = None, False
            return
        if self._down_since is None:
            self._down_since = now
        down_for = now - self._down_since
        if not self._reported and down_for >= self._threshold_s:
            self._reported = True
            record = {
                "down_for_s": round(down_for),
                "state": health.state,
                "reason": health.last_disconnect,
                "fallback_polling": health.fallback_running,
            }
            self._audit.append("stream_down", record)


def daily_summary(view: OmsView, day: date) -> dict[str, Any]:
    """``day``'s stored PnL and the bot's orders that first filled on it (those the OMS
    still holds: read before the roll prunes)."""
    pnl = view.day_pnls.get(day)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    start_ms = int(start.timestamp() * 1000)
    end_ms = int((start + timedelta(days=1)).timestamp() * 1000)
    filled = sum(
        1
        for order in view.orders.values()
        if order.first_fill_ms is not None and start_ms <= order.first_fill_ms < end_ms
    )
    return {
        "day": day,
        "realised": pnl.realised if pnl else 0,
        "commission": pnl.commission if pnl else 0,
        "funding": pnl.funding if pnl else 0,
        "total": pnl.total if pnl else 0,
        "filled_orders": filled,
    }
