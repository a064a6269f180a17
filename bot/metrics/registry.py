"""The bot's metrics registry: counters of what happened, exported in Prometheus text.

Event counters hang on the audit journal (:meth:`BotMetrics.observe_record`, an
``AuditJournal.observe`` observer): the journal already records every order sent,
accepted or refused by the exchange, every fill and alarm, so no trading code needs a
metrics call. An observer must never block the appending thread: each record costs a
dict lookup and a counter increment (a short lock held only by other increments and
scrapes, never across I/O), so no queue or thread is needed. The REST latency histogram
is fed by the transport's one per-request hook (:meth:`BotMetrics.observe_request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

from bot.client_ids import Leg
from bot.files import write_atomic

PREFIX = "usdcbot"
ORDER_OUTCOMES = {"order_send": "sent", "order_accepted": "accepted", "order_error": "error"}
# REST round trips: loopback (sim) is ~1 ms, Binance from a nearby region 5-50 ms;
# a request near the client timeout (10 s by default) is what matters most.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BotMetrics:
    """One bot's metrics; ``registry`` is what ``/metrics`` and the textfile export."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.audit_records = Counter(
            f"{PREFIX}_audit_records",
            "Audit journal records written, by kind (decisions, orders, fills, alarms, ...)",
            ["kind"],
            registry=self.registry,
        )
        self.orders = Counter(
            f"{PREFIX}_orders",
            "Orders by bracket leg and outcome (sent: audited before sending; accepted "
            "or error: the exchange's answer)",
            ["leg", "outcome"],
            registry=self.registry,
        )
        for leg in Leg:  # exported at 0, so a rate exists before the first order
            for order_outcome in ORDER_OUTCOMES.values():
                self.orders.labels(leg.name, order_outcome)
        self.fills = Counter(
            f"{PREFIX}_fills",
            "Fills applied by the OMS, by symbol and kind (fill, liquidation_fill, adl_fill)",
            ["symbol", "kind"],
            registry=self.registry,
        )
        self.alarms = Counter(
            f"{PREFIX}_alarms",
            "Alarms raised (the operator should look), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_request_seconds",
            "REST request duration by method and endpoint path (answered or failed)",
            ["method", "endpoint"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._children: dict[tuple[object, ...], Any] = {}

    def watch(self, collector: Collector) -> None:
        """Add a collector whose figures are read at scrape time."""
        self.registry.register(collector)

    def observe_record(self, record: Mapping[str, Any]) -> None:
        """Audit observer: count one journal record (see the module docstring)."""
        kind = str(record.get("kind"))
        data = record.get("data")
        data = data if isinstance(data, Mapping) else {}
        self._child(self.audit_records, kind).inc()
        outcome = ORDER_OUTCOMES.get(kind)
        if outcome is not None:
            self._child(self.orders, str(data.get("leg")), outcome).inc()
        elif kind == "fill" or kind.endswith("_fill"):
            self._child(self.fills, str(data.get("symbol")), kind).inc()
        elif kind == "alarm":
            self._child(self.alarms, str(data.get("kind", "order"))).inc()

    def observe_request(self, method: str, path: str, seconds: float) -> None:
        """Transport hook, on every request's thread: one dict lookup and one observe."""
        self._child(self.request_seconds, method, path).observe(seconds)

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: ``labels()`` validates and locks on
        every call, and these run on the trading and request threads."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:  # a race here makes the same child twice: harmless
            child = self._children[key] = metric.labels(*labels)
        return child

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)

    def write_textfile(self, path: Path) -> None:
        """For node_exporter's textfile collector: replaced whole (it must never read a
        half-written file)."""
        write_atomic(path, self.exposition().decode("utf-8"))
