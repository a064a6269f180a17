"""What each Telegram command does, through the same paths as the command line.

Nothing here trades. ``/stopentries`` and ``/resume`` are the kill-switch functions
(:func:`bot.killswitch.stop_entries`, :func:`bot.killswitch.resume`, the latter
``main.py resume``'s); ``/flatten`` files the same stop request ``emergency-stop
--flatten`` files beside a running service, and the service's own job
(``_answer_stop_request``) cancels and closes, exactly as for the command line, then
acknowledges. ``/status`` is ``main.py status``'s renderer.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.console import plain
from bot.killswitch import resume, stop_entries
from bot.oms.state import DayPnl
from bot.status import read_status, render

if TYPE_CHECKING:
    from bot.app import App

ACK_WAIT_S = 30.0  # the service answers a stop request within ~1 s plus the work
ACK_POLL_S = 0.1


def _money(amount: Decimal) -> str:
    return plain(amount)


class AppOperator:
    """The commands for one running App (its config, state dir, journal and OMS view)."""

    def __init__(self, app: App) -> None:
        self._app = app

    def status(self) -> str:
        return render(read_status(self._app.config, dry_run=self._app.dry_run))

    def pnl(self) -> str:
        today = self._app.clock.today()
        day = self._app.oms.snapshot().day_pnls.get(today) or DayPnl(today)
        return (
            f"today ({today} UTC): realised {_money(day.realised)}, fees {_money(day.commission)}, "
            f"funding {_money(day.funding)}, total {_money(day.total)} USDC "
            f"(daily loss limit -{_money(self._app.config.risk.daily_loss_limit)})"
        )

    def stop_entries(self) -> str:
        switch = self._app.kill_switch
        if not stop_entries(switch, self._app.audit, "telegram /stopentries"):
            return f"kill switch already ON ({switch.reason()})"
        return "kill switch ON: no new entries; open positions keep their stops (/resume clears)"

    def resume(self) -> str:
        was_on = resume(self._app.kill_switch, self._app.audit)
        return "kill switch cleared" if was_on else "kill switch was not set"

    def flatten(self, stop: threading.Event) -> str:
        """Files the request, waits (bounded, ends early on ``stop``) for the service."""
        switch = self._app.kill_switch
        request = switch.request_stop(flatten=True)
        deadline = time.monotonic() + ACK_WAIT_S
        while (ack := switch.acknowledgement(request)) is None and time.monotonic() < deadline:
            if stop.wait(ACK_POLL_S):
                break
        if ack is None:
            return (
                "kill switch ON and flatten requested, but the service has not acknowledged "
                "yet: check /status"
            )
        verdict = "kill switch ON" if ack.ok else "emergency stop FAILED: see the bot's log"
        return "\n".join((*ack.lines, verdict))
