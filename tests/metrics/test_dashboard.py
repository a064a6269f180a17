"""The shipped Grafana dashboard queries only what the bot exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.conftest import running_app

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "usdc-futures-bot.json"
METRIC_NAME = re.compile(r"\busdcbot_[a-zA-Z0-9_]+")
SUFFIXES = {  # the series names Prometheus stores for one family of each type
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def queries(node: object) -> Iterator[str]:
    """Every PromQL string in the dashboard: panel targets and template variables."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def test_every_metric_in_the_dashboard_is_one_the_bot_exports(tmp_path):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {name for query in queries(dashboard) for name in METRIC_NAME.findall(query)}
    with running_app(tmp_path, stream=False) as (_sim, app):
        exported = {
            family.name + suffix
            for family in app.metrics.registry.collect()
            for suffix in SUFFIXES[family.type]
        }
    assert len(used) > 20  # the dashboard shows the figures the issue names
    assert used <= exported, f"not exported: {sorted(used - exported)}"
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))  # Grafana needs them unique
