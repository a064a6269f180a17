"""Which audit records become alerts, and their words: pure, no I/O.

The journal already records everything significant (and redacted), so alerts are
derived from its records rather than from hooks in trading code. A risk refusal is
alerted once per occurrence, from the record that *crossed* the limit (the fill or
funding payment that took the day past the daily loss limit, the stop-loss exit that
made the streak), never from the per-cycle refusals that follow, so a cron job that
refuses every 15 minutes sends nothing more.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.client_ids import ClientId, Leg, Source, parse_client_id
from bot.config import AlertEventsConfig, AlertLevel
from bot.exchange.orders import sent_trigger_price

REMEMBERED_SENDS = 256  # trigger prices of recent stop sends, for "stop placed at ..."
EXIT_REASONS = {Leg.STOP_LOSS: "stop loss", Leg.TAKE_PROFIT: "take profit", Leg.CLOSE: "close"}
CLOSE_REASONS = {Source.EMERGENCY: "flatten", Source.GUARD: "protective close"}
# the ledger's record kinds of a fill the exchange made itself (besides the alarm)
FORCED_FILLS = {"liquidation_fill": "liquidation", "adl_fill": "ADL"}
# alarm kinds with an event of their own; every other alarm is the "alarm" event
ALARM_EVENTS = {
    "stop_not_placed": "stop_failed",
    "stop_missing": "stop_repaired",
    "stuck_trigger": "stuck_trigger",
    "forced_close": "forced_close",
    "margin_call": "forced_close",
    "rate_limited": "rate_limited",
    "ip_banned": "ip_banned",
}
ALARM_TITLES = {
    "stop_failed": "stop could not be placed",
    "stop_repaired": "stop missing, re-placing it",
    "stuck_trigger": "stop stuck, closing at market",
    "forced_close": "closed by the exchange",
    "rate_limited": "rate limited (429)",
    "ip_banned": "IP banned (418)",
}
RECORD_TEXT_LIMIT = 300  # characters of a reason or drift side in a message


@dataclass(frozen=True)
class Alert:
    """One message: ``key`` names "the same event" for the dedupe window."""

    event: str
    level: AlertLevel
    key: str
    title: str
    body: str = ""


@dataclass(frozen=True)
class Limits:
    """The risk limits a refusal is measured against (``risk:`` in the config)."""

    daily_loss_limit: Decimal
    max_sl_streak: int
    cooldown_min: int
    cooldown_until_next_day: bool = False


def number(value: Any) -> str:
    """A Decimal's text without exponent or trailing zeros (``60000.10`` → ``60000.1``);
    anything else as it is."""
    try:
        normal = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return f"{normal:f}"


def _short(text: Any) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= RECORD_TEXT_LIMIT else line[: RECORD_TEXT_LIMIT - 1] + "…"


def _signed(value: Any) -> str:
    text = number(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _exit_reason(parsed: ClientId | None) -> str:
    if parsed is None:
        return "an order not the bot's"
    if parsed.leg is Leg.CLOSE:
        return CLOSE_REASONS.get(parsed.intent.source, "close")
    return EXIT_REASONS[parsed.leg]


class AlertRules:
    """Turns each audit record into the alerts it means (zero or more).

    Called on the appending threads (trading, OMS, stream): cheap, no I/O. Holds the
    little state derivation needs (trigger prices of stops just sent), bounded and
    behind a lock."""

    def __init__(
        self, events: AlertEventsConfig, limits: Limits, *, tag: str, label: str = ""
    ) -> None:
        """``tag``: the bot's client-id tag (which fills are its own); ``label`` starts
        every title (the bot's tag, and ``dry-run`` for a paper bot)."""
        self._events = events
        self._limits = limits
        self._tag = tag
        self._label = label
        self._triggers: OrderedDict[str, str] = OrderedDict()
        self._triggers_lock = threading.Lock()
        self._handlers: Mapping[str, Callable[[dict[str, Any]], list[Alert]]] = {
            "start": self._start,
            "stop": self._stop,
            "fill": self._fill,
            "liquidation_fill": self._fill,
            "adl_fill": self._fill,
            "funding": self._funding,
            "day_pnl_seeded": self._seeded,
            "sl_streak": self._streak,
            "order_send": self._sent,
            "order_accepted": self._accepted,
            "alarm": self._alarm,
            "drift": self._drift,
            "kill_switch": self._kill_switch,
            "stream_down": self._stream_down,
            "stream_up": self._stream_up,
            "daily_roll": self._daily_roll,
        }

    def alerts_for(self, record: Mapping[str, Any]) -> list[Alert]:
        kind = record.get("kind", "")
        handler = self._handlers.get(kind)
        data = record.get("data")
        if handler is None or not isinstance(data, dict):
            return []
        if kind in FORCED_FILLS:
            data = {**data, "forced": FORCED_FILLS[kind]}
        return [alert for alert in handler(data) if getattr(self._events, alert.event).enabled]

    def _alert(self, event: str, key: str, title: str, body: str = "") -> Alert:
        level = getattr(self._events, event).level
        prefix = f"{self._label}: " if self._label else ""
        return Alert(event, level, f"{event}:{key}", prefix + title, body)

    # --- start / stop -------------------------------------------------------------------

    def _start(self, data: dict[str, Any]) -> list[Alert]:
        if data.get("mode") != "service":  # a cron run every 15 min is no news
            return []
        symbols = ", ".join(data.get("symbols") or [])
        return [
            self._alert("start_stop", "start", f"service started ({data.get('venue')}, {symbols})")
        ]

    def _stop(self, data: dict[str, Any]) -> list[Alert]:
        mode, outcome = data.get("mode"), str(data.get("outcome", ""))
        failed = outcome.startswith("error")
        if mode != "service" and not failed:
            return []
        title = f"{mode} {'failed' if failed else 'stopped'}: {_short(outcome)}"
        return [self._alert("start_stop", f"stop:{mode}", title)]

    # --- fills and the day's PnL ----------------------------------------------------------

    def _fill(self, data: dict[str, Any]) -> list[Alert]:
        symbol, client_id = data.get("symbol", "?"), str(data.get("client_order_id", ""))
        parsed = parse_client_id(client_id, tag=self._tag)
        realised = Decimal(str(data.get("realised_pnl", "0")))
        trade = f"{data.get('side')} {number(data.get('qty'))} @ {number(data.get('price'))}"
        day = f"day PnL {_signed(data.get('day_pnl', '0'))} USDC; {client_id}"
        alerts: list[Alert] = []
        forced = data.get("forced")
        entry = parsed.leg is Leg.ENTRY if parsed is not None else not realised
        if entry and not forced:
            whose = "" if parsed is not None else " (not this bot's order)"
            title = f"{symbol} entry filled{whose}: {trade}"
            alerts.append(self._alert("entry_filled", client_id, title, day))
        else:
            reason = str(forced) if forced else _exit_reason(parsed)
            title = f"{symbol} exit by {reason}: {trade}, PnL {_signed(realised)} USDC"
            alerts.append(self._alert("exit_filled", client_id, title, day))
        # what the ledger added to the USDC day PnL, as it recorded it
        counted = Decimal(str(data.get("counted", "0")))
        return alerts + self._daily_loss(data.get("day_pnl"), counted)

    def _funding(self, data: dict[str, Any]) -> list[Alert]:
        return self._daily_loss(data.get("day_pnl"), Decimal(str(data.get("amount", "0"))))

    def _seeded(self, data: dict[str, Any]) -> list[Alert]:
        total, previous = data.get("total"), data.get("previous")
        if total is None:
            return []
        before = Decimal(str(previous)) if previous is not None else Decimal(0)
        return self._daily_loss(total, Decimal(str(total)) - before)

    def _daily_loss(self, day_pnl: Any, change: Decimal) -> list[Alert]:
        """The record that took the day's PnL to the limit (not those after it)."""
        if day_pnl is None:
            return []
        after = Decimal(str(day_pnl))
        limit = -self._limits.daily_loss_limit
        if not after <= limit < after - change:
            return []
        title = (
            f"daily loss limit reached: day PnL {_signed(after)} USDC "
            f"(limit {number(self._limits.daily_loss_limit)}); no new entries until 00:00 UTC"
        )
        return [self._alert("risk_refusal", "daily_loss", title)]

    def _streak(self, data: dict[str, Any]) -> list[Alert]:
        """Every stop-loss exit at or past the limit starts a cooldown (only a take
        profit resets the streak, so the first one after a cooldown starts another)."""
        streak, limits = data.get("sl_streak"), self._limits
        if type(streak) is not int or streak < limits.max_sl_streak:
            return []
        until = (
            "until 00:00 UTC"
            if limits.cooldown_until_next_day
            else f"for {limits.cooldown_min} min"
        )
        title = f"stop-loss streak {streak} reached: entries paused {until}"
        return [self._alert("risk_refusal", "sl_streak", title, str(data.get("client_order_id")))]

    # --- stops ------------------------------------------------------------------------------

    def _sent(self, data: dict[str, Any]) -> list[Alert]:
        params = data.get("params")
        if data.get("leg") == Leg.STOP_LOSS.name and isinstance(params, dict):
            trigger = sent_trigger_price(params) or "?"
            with self._triggers_lock:
                self._triggers[str(data.get("client_id"))] = trigger
                while len(self._triggers) > REMEMBERED_SENDS:
                    self._triggers.popitem(last=False)
        return []

    def _accepted(self, data: dict[str, Any]) -> list[Alert]:
        client_id = str(data.get("client_id", ""))
        parsed = parse_client_id(client_id, tag=self._tag)
        if data.get("leg") != Leg.STOP_LOSS.name or parsed is None:
            return []
        if parsed.intent.source is Source.GUARD:  # the stop_missing alarm told of the repair
            return []
        with self._triggers_lock:
            trigger = number(self._triggers.pop(client_id, "?"))
        title = f"{parsed.symbol} stop placed at {trigger}"
        return [self._alert("stop_placed", client_id, title, client_id)]

    # --- alarms, drift, kill switch, stream ---------------------------------------------------

    def _alarm(self, data: dict[str, Any]) -> list[Alert]:
        kind = str(data.get("kind", "alarm"))
        event = ALARM_EVENTS.get(kind, "alarm")
        symbol = data.get("symbol") or ""
        what = ALARM_TITLES.get(event, f"ALARM {kind}")
        title = f"{symbol} {what}".strip()
        body = _short(data.get("reason", ""))
        return [self._alert(event, f"{kind}:{symbol}", title, body)]

    def _drift(self, data: dict[str, Any]) -> list[Alert]:
        title = f"drift: {data.get('kind')} {data.get('key')} differs from the exchange"
        body = f"local {_short(data.get('local'))}; exchange {_short(data.get('exchange'))}"
        return [self._alert("drift", "drift", title, body)]

    def _kill_switch(self, data: dict[str, Any]) -> list[Alert]:
        if data.get("engaged"):
            how = " and positions flattened" if data.get("flatten") else ""
            title = f"kill switch ON: no new entries, orders cancelled{how}"
            return [self._alert("kill_switch", "on", title)]
        return [self._alert("kill_switch", "off", "kill switch OFF: entries allowed again")]

    def _stream_down(self, data: dict[str, Any]) -> list[Alert]:
        title = f"user-data stream down for {number(data.get('down_for_s'))} s"
        return [self._alert("stream_down", "down", title, _short(data.get("reason", "")))]

    def _stream_up(self, data: dict[str, Any]) -> list[Alert]:
        title = f"user-data stream back after {number(data.get('down_for_s'))} s"
        return [self._alert("stream_down", "up", title)]

    def _daily_roll(self, data: dict[str, Any]) -> list[Alert]:
        summary = data.get("yesterday")
        if not isinstance(summary, dict):
            return []
        title = (
            f"{summary.get('day')}: PnL {_signed(summary.get('total', '0'))} USDC "
            f"(realised {_signed(summary.get('realised', '0'))}, "
            f"fees {_signed(summary.get('commission', '0'))}, "
            f"funding {_signed(summary.get('funding', '0'))}), "
            f"{summary.get('filled_orders', 0)} orders filled"
        )
        return [self._alert("daily_summary", str(summary.get("day")), title)]
