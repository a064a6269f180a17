"""Figures that describe the bot's state, read at scrape time from what the App holds.

Positions, PnL and risk come from the OMS's published view (immutable, so reading it
from the HTTP thread takes no lock), the stream and OMS counters from their own
``health()``/``metrics()``, REST weight from the transport's last header, the cycle
from the trading cycle. Nothing is pushed from trading code and nothing here can
change state. Prometheus samples are floats: Decimals are converted at this edge only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.metrics.registry import PREFIX
from bot.oms.state import DayPnl, OmsView

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

STREAM_STATES = ("starting", "connected", "reconnecting", "stopped")
OMS_RESULTS = ("applied", "malformed", "unknown", "failed")


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels))


class _Families:
    """Every state family, empty; :class:`StateCollector` fills a fresh set per scrape."""

    def __init__(self) -> None:
        self.up = _gauge("up", "1 while the state below could be read")
        self.healthy = _gauge("healthy", "1 when /healthz answers 200")
        self.position_amount = _gauge(
            "position_amount", "Position size in the base asset, signed (short < 0)", ("symbol",)
        )
        self.position_notional = _gauge(
            "position_notional_usdc", "Position notional at its entry price (USDC)", ("symbol",)
        )
        self.unrealised = _gauge(
            "unrealised_pnl_usdc",
            "Unrealised PnL per position, as of the exchange's last account update",
            ("symbol",),
        )
        self.pnl_today = _gauge(
            "pnl_today_usdc",
            "Today's (UTC) result by part: realised, commission, funding, total",
            ("part",),
        )
        self.loss_limit = _gauge("daily_loss_limit_usdc", "Configured daily loss limit")
        self.headroom = _gauge(
            "daily_loss_headroom_usdc",
            "How much more may be lost today before entries stop (limit + today's total)",
        )
        self.sl_streak = _gauge("sl_streak", "Consecutive stop-loss exits since the last TP")
        self.sl_streak_limit = _gauge("sl_streak_limit", "Streak at which entries pause")
        self.kill_switch = _gauge("kill_switch", "1 while the kill switch blocks entries")
        self.wallet = _gauge("wallet_usdc", "USDC wallet balance as last reported")
        self.open_orders = _gauge("open_orders", "Open regular orders")
        self.open_algo_orders = _gauge("open_algo_orders", "Open algo orders (TP/SL)")
        self.stream_state = _gauge(
            "stream_state", "User-data stream state (1 for the current one)", ("state",)
        )
        self.stream_age = _gauge(
            "stream_last_message_age_seconds", "Seconds since the user stream's last event"
        )
        self.stream_messages = _counter("stream_messages", "User-stream events received")
        self.stream_reconnects = _counter("stream_reconnects", "User-stream reconnects")
        self.fallback_polls = _counter(
            "stream_fallback_polls", "REST snapshots polled while the user stream was down"
        )
        self.weight_used = _gauge(
            "rest_weight_used_1m", "Request weight used this minute (X-MBX-USED-WEIGHT-1M)"
        )
        self.weight_spent = _counter("rest_weight_spent", "Request weight spent by this process")
        self.oms_up = _gauge("oms_consumer_up", "1 while the OMS consumer thread runs")
        self.oms_queue = _gauge("oms_queue_depth", "Items waiting for the OMS consumer")
        self.oms_events = _counter(
            "oms_events", "OMS consumer items by result (per consumer thread)", ("result",)
        )
        self.alerts = _counter(
            "alerts", "Operator alerts by outcome (sent, failed, dropped, collapsed)", ("outcome",)
        )
        self.cycle_at = _gauge(
            "last_cycle_timestamp_seconds", "When the last trading cycle completed (Unix time)"
        )
        self.cycle_s = _gauge("last_cycle_duration_seconds", "How long the last cycle took")

    def all(self) -> list[Metric]:
        return list(vars(self).values())


class StateCollector(Collector):
    """A ``prometheus_client`` collector over one App (see the module docstring)."""

    def __init__(self, app: App, problem: Callable[[], str | None]) -> None:
        """``problem``: the service's health (:class:`bot.metrics.health.ServiceHealth`)."""
        self._app = app
        self._problem = problem

    def describe(self) -> Iterator[Metric]:
        return iter(_Families().all())

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        try:
            self._read(families)
        except Exception:  # a scrape must never take the service down, nor fail whole
            log.warning("metrics: reading the bot's state failed", exc_info=True)
            families = _Families()
            families.up.add_metric([], 0)
        else:
            families.up.add_metric([], 1)
        return iter(families.all())

    def _read(self, families: _Families) -> None:
        app = self._app
        view = app.oms.snapshot()
        self._positions(families, view)
        self._risk(families, view, app.clock.today())
        families.kill_switch.add_metric([], 1 if app.kill_switch.engaged else 0)
        if view.usdc_wallet is not None:
            families.wallet.add_metric([], float(view.usdc_wallet))
        families.open_orders.add_metric([], len(view.open_orders))
        families.open_algo_orders.add_metric([], len(view.open_algo_orders))
        self._stream(families)
        families.weight_used.add_metric([], app.client.used_weight_1m)
        families.weight_spent.add_metric([], app.client.weight_spent)
        worker = app.worker
        families.oms_up.add_metric([], 1 if worker.alive else 0)
        counts = worker.metrics()
        families.oms_queue.add_metric([], counts["queue_depth"])
        for result in OMS_RESULTS:
            families.oms_events.add_metric([result], counts[result])
        alerts = app.runtime.alerts
        if alerts is not None:  # the sender's own counters (bot.alerts.sender.AlertStats)
            for outcome, count in vars(alerts.stats).items():
                families.alerts.add_metric([outcome], count)
        if app.trading.last_cycle_at is not None and app.trading.last_cycle_s is not None:
            families.cycle_at.add_metric([], app.trading.last_cycle_at.timestamp())
            families.cycle_s.add_metric([], app.trading.last_cycle_s)
        families.healthy.add_metric([], 1 if self._problem() is None else 0)

    @staticmethod
    def _positions(families: _Families, view: OmsView) -> None:
        for symbol, position in sorted(view.positions.items()):
            families.position_amount.add_metric([symbol], float(position.amount))
            notional = abs(position.amount) * position.entry_price
            families.position_notional.add_metric([symbol], float(notional))
            families.unrealised.add_metric([symbol], float(position.unrealised_pnl))

    def _risk(self, families: _Families, view: OmsView, today: date) -> None:
        risk = self._app.config.risk
        day = view.day_pnls.get(today) or DayPnl(today)
        parts = {
            "realised": day.realised,
            "commission": day.commission,
            "funding": day.funding,
            "total": day.total,
        }
        for part, amount in parts.items():
            families.pnl_today.add_metric([part], float(amount))
        families.loss_limit.add_metric([], float(risk.daily_loss_limit))
        families.headroom.add_metric([], float(max(Decimal(0), risk.daily_loss_limit + day.total)))
        families.sl_streak.add_metric([], view.sl_streak)
        families.sl_streak_limit.add_metric([], risk.max_sl_streak)

    def _stream(self, families: _Families) -> None:
        stream = self._app.stream
        if stream is None:
            return
        health = stream.health()
        for state in STREAM_STATES:
            families.stream_state.add_metric([state], 1 if health.state == state else 0)
        if health.last_message_age_s is not None:
            families.stream_age.add_metric([], health.last_message_age_s)
        families.stream_messages.add_metric([], health.messages)
        families.stream_reconnects.add_metric([], health.reconnects)
        families.fallback_polls.add_metric([], health.fallback_snapshots)
