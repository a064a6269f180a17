"""The package arrows the design promises, checked on the source."""

from __future__ import annotations

import subprocess
import sys

from scripts.import_map import ROOT, cycles, graph, package_of


def test_no_module_import_cycle():
    assert cycles(graph()) == []


def test_pure_packages_import_no_io_package():
    edges = graph()
    io = ("bot.exchange", "bot.sim", "bot.stream", "bot.app", "bot.service")
    for module, targets in edges.items():
        if package_of(module) in ("bot.risk", "bot.domain", "bot.strategy", "bot.client_ids"):
            assert not [t for t in targets if t.startswith(io)], module


def test_only_the_exchange_package_imports_the_sdk():
    importers = []
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "from binance" in text or "import binance" in text:
            importers.append(path.relative_to(ROOT).parts[1])
    assert set(importers) <= {"exchange"}, importers


def test_status_loads_neither_the_sdk_nor_the_scheduler():
    probe = (
        "import sys, bot.status; "
        "print(sorted(m for m in sys.modules if m.startswith(('binance', 'apscheduler'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
