"""Prometheus metrics for the operator's dashboards (``prometheus_client``).

- :mod:`bot.metrics.registry` — the bot's own registry (never the process-global
  default, so two Apps or tests in one process never collide): event counters fed by
  the audit journal, the REST latency histogram fed by the transport, and
  :mod:`bot.metrics.state`, which reads positions, PnL, risk, stream and OMS figures
  at scrape time (nothing is pushed from trading code).
- :mod:`bot.metrics.health` — whether the service is healthy, for ``/healthz``.
- :mod:`bot.metrics.server` — the service's ``/metrics`` and ``/healthz`` HTTP thread.
"""
