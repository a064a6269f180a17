"""``emergency-stop`` as an operator uses it in an emergency: alone, or beside a running service."""

from __future__ import annotations

import re
import signal
from decimal import Decimal

import pytest

from tests.e2e.test_service_lifecycle import start_service
from tests.lock_holder import lock_held_by_another_process

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


def test_beside_a_running_service_it_is_done_by_the_service_and_acknowledged(bot):
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    service = start_service(bot)
    try:
        assert "service running" in service.stdout.readline()
        result = bot.run("emergency-stop", "--flatten")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "closed at market" in result.stdout and "kill switch ON" in result.stdout
        assert bot.sim.open_orders() == [] and bot.sim.open_algo_orders() == []
        assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
        assert service.poll() is None  # still running: it keeps watching, enters nothing
        assert "kill switch: ON" in bot.run("status").stdout
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=20) == 0
    finally:
        service.kill() if service.poll() is None else None
        service.stdout.close()
    records = bot.audit_records()
    (engaged,) = [r for r in records if r["kind"] == "kill_switch"]
    assert engaged["data"]["engaged"] is True and engaged["data"]["flatten"] is True
    assert [r for r in records_after(records, "kill_switch") if r["kind"] == "drift"] == []


def test_unanswered_by_the_lock_holder_it_leaves_the_kill_switch_on_and_exits_5(bot):
    with lock_held_by_another_process(bot.state_dir) as holder:
        result = bot.run("emergency-stop", "--flatten", "--wait", "0.5")
    assert result.returncode == 5, result.stdout + result.stderr
    assert str(holder.pid) in result.stderr
    assert "kill switch is ON" in result.stderr and "no new entry" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "kill switch: ON" in bot.run("status").stdout
