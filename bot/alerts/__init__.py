"""Alerts where the operator is: audit records → messages → apprise, off the trading path.

:class:`Alerts` hangs on the audit journal (:meth:`bot.audit.AuditJournal.observe`):
each record the bot writes is turned into alerts by :class:`~bot.alerts.rules.AlertRules`
on the appending thread (cheap, no I/O) and queued for the one sender thread
(:class:`~bot.alerts.sender.AlertSender`), which delivers through apprise
(:class:`~bot.alerts.channel.AppriseChannel`). The runtime owns it: it is opened
with the journal, before the ``start`` record, and closed (flushed with
``alerts.flush_deadline_s``) after the ``stop`` record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.alerts.channel import AppriseChannel, split_urls, url_secrets
from bot.alerts.rules import Alert, AlertRules, Limits
from bot.alerts.sender import AlertSender, AlertStats
from bot.config import BotConfig
from bot.redact import Redactor

__all__ = ["Alert", "AlertRules", "AlertSender", "AlertStats", "Alerts", "Limits", "open_alerts"]

log = logging.getLogger(__name__)


class Alerts:
    """Rules plus sender: :meth:`observe` is the journal's observer."""

    def __init__(self, rules: AlertRules, sender: AlertSender, *, flush_deadline_s: float) -> None:
        self._rules = rules
        self.sender = sender
        self._flush_deadline_s = flush_deadline_s
        self._told_dead = False

    @property
    def stats(self) -> AlertStats:
        """``sent``, ``failed``, ``dropped``, ``collapsed``: for metrics."""
        return self.sender.stats

    def start(self) -> None:
        self.sender.start()

    def observe(self, record: Mapping[str, Any]) -> None:
        """Called with every audit record, on the appending thread: never blocks."""
        if self.sender.died is not None and not self._told_dead:
            self._told_dead = True  # the owner notices: once, in the log
            log.critical("alerts are not being sent: the sender died (%s)", self.sender.died)
        for alert in self._rules.alerts_for(record):
            self.sender.submit(alert)

    def close(self) -> bool:
        """Flush within the deadline and stop; False when something was left unsent."""
        return self.sender.close(self._flush_deadline_s)


def open_alerts(
    config: BotConfig, urls_text: str | None, redactor: Redactor, *, tag: str, dry_run: bool
) -> Alerts | None:
    """The alerts for one process, not started; None when off (disabled, or no URL).
    Every URL and its tokens are registered with ``redactor`` first."""
    urls = split_urls(urls_text)
    for url in urls:
        for secret in url_secrets(url):
            redactor.add(secret)
    settings = config.alerts
    if not settings.enabled or not urls:
        return None
    channel = AppriseChannel(urls, timeout_s=settings.send_timeout_s)
    if not len(channel):
        log.warning("alerts are off: no usable URL in BOT_ALERT_URLS")
        return None
    risk = config.risk
    limits = Limits(
        risk.daily_loss_limit,
        risk.max_sl_streak,
        risk.sl_streak_cooldown_min,
        risk.cooldown_until_next_utc_day,
    )
    label = f"{tag} dry-run" if dry_run else tag
    rules = AlertRules(settings.events, limits, tag=tag, label=label)
    sender = AlertSender(
        channel.send, queue_size=settings.queue_size, dedupe_window_s=settings.dedupe_window_s
    )
    return Alerts(rules, sender, flush_deadline_s=settings.flush_deadline_s)
