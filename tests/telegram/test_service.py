"""``/flatten CODE`` to a running service: the service closes the position through the
emergency-stop request it answers for ``emergency-stop --flatten``."""

from __future__ import annotations

import re
import signal
from decimal import Decimal

import pytest

from tests.e2e.conftest import BotRunner
from tests.e2e.test_service_lifecycle import start_service
from tests.telegram.conftest import ALLOWED, TOKEN, answer, listening, settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def bot(sim, tmp_path) -> BotRunner:
    return BotRunner(sim, tmp_path, tmp_path / "var")


def test_flatten_with_its_code_closes_the_position_through_the_running_service(bot, telegram):
    bot.configure(telegram=settings(telegram.base), logging={"level": "DEBUG"})
    (bot.workdir / ".env").write_text(f"BOT_TELEGRAM_TOKEN={TOKEN}\n")
    assert bot.run("force-entry", "BTCUSDC", "LONG").returncode == 0
    service = start_service(bot)
    try:
        assert "service running" in service.stdout.readline()
        listening(telegram)
        telegram.say(ALLOWED, "/flatten")
        code = re.search(r"/flatten (\d{6})", answer(telegram, ALLOWED, 1)).group(1)
        assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) > 0
        telegram.say(ALLOWED, f"/flatten {code}")
        done = answer(telegram, ALLOWED, 2)
        assert "closed at market" in done and "kill switch ON" in done
        assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
        assert bot.sim.open_orders() == [] and bot.sim.open_algo_orders() == []
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=20) == 0
    finally:
        service.kill() if service.poll() is None else None
        service.stdout.close()
    records = bot.audit_records()
    steps = [r["data"].get("step") for r in records if r["kind"] == "telegram_command"]
    assert steps == ["code sent", "confirmed"]
    (engaged,) = [r["data"] for r in records if r["kind"] == "kill_switch"]
    assert engaged["flatten"] is True and "request" in engaged
    log = (bot.state_dir / "logs" / "bot.log").read_text()
    assert "/getUpdates" in log  # urllib3's request lines are there, token masked
    journal = "".join(p.read_text() for p in (bot.state_dir / "audit").glob("*.jsonl"))
    for text in (log, journal):
        assert TOKEN not in text and TOKEN.split(":")[1] not in text


def test_enabled_without_a_token_is_a_config_error_before_anything_starts(bot, telegram):
    bot.configure(telegram=settings(telegram.base))
    result = bot.run()
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "config error: telegram.enabled needs BOT_TELEGRAM_TOKEN in .env or the environment"
    )
    assert telegram.calls == [] and bot.sim.signed_requests(writes_only=True) == 0
