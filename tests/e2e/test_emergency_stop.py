"""``emergency-stop`` as an operator uses it in an emergency: alone, or beside a running service."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e


def records_after(records: list[dict], kind: str) -> list[dict]:
    start = max(i for i, r in enumerate(records) if r["kind"] == kind)
    return records[start:]


def test_flatten_reports_its_own_cancels_and_closes_as_applied_not_as_drift(bot):
    bot.configure(symbols=["BTCUSDC", "ETHUSDC"])
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    assert bot.run("force-entry", "ETHUSDC", "SHORT").returncode == 0
    result = bot.run("emergency-stop", "--flatten")
    assert result.returncode == 0, result.stderr
    assert "drift" not in result.stderr
    since_stop = records_after(bot.audit_records(), "kill_switch")
    assert [r for r in since_stop if r["kind"] == "drift"] == []
    applied = {r["data"]["key"] for r in since_stop if r["kind"] == "own_change"}
    assert {"BTCUSDC", "ETHUSDC", "USDC"} <= applied
    log = (bot.state_dir / "logs" / "bot.log").read_text()
    assert re.search(r"INFO +bot\.oms\.oms: applied own change position BTCUSDC", log)
    for symbol in ("BTCUSDC", "ETHUSDC"):
        assert Decimal(bot.sim.position(symbol)["positionAmt"]) == 0
