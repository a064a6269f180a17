"""One clock for every decision: exchange time.

"Now" and "today" decide the UTC day of the daily loss limit, the cooldown after a
stop-loss streak, which candles are closed, and the stamps of snapshots. They all
come from here: the local clock corrected by the exchange client's server-time
offset, which follows every -1021 resync (a stale offset once misdated snapshots
and hid a closed position from the repair).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime


class ExchangeClock:
    def __init__(self, offset_ms: Callable[[], int], wall_s: Callable[[], float] = time.time):
        """``offset_ms`` is read on every call (server time minus local time)."""
        self._offset_ms = offset_ms
        self._wall_s = wall_s

    def now_ms(self) -> int:
        return int(self._wall_s() * 1000) + self._offset_ms()

    def now_s(self) -> float:
        return self.now_ms() / 1000

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_s(), UTC)

    def today(self) -> date:
        return self.now().date()
