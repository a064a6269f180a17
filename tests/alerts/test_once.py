"""``main.py --once`` with alerts: flushed before exit within the deadline, and the
exit code is the run's, whatever the receiver does."""

from __future__ import annotations

import time

import pytest

from bot.cli import EXIT_OK
from tests.alerts.conftest import HOLD_S
from tests.e2e.conftest import BotRunner

ALWAYS_LONG = {"name": "tests.e2e.strategies:AlwaysLong", "interval": "15m"}


@pytest.fixture
def once(sim, tmp_path) -> BotRunner:
    runner = BotRunner(sim, tmp_path, tmp_path / "var")
    runner.configure(strategy=ALWAYS_LONG, alerts={"send_timeout_s": 5, "flush_deadline_s": 1})
    return runner


def test_once_with_receivers_down_or_hanging_exits_in_its_deadline_with_its_exit_code(
    once, receiver, refused_url, monkeypatch
):
    receiver.mode = "hang"  # holds every request for HOLD_S; the send would wait longer
    once.configure(strategy=ALWAYS_LONG, alerts={"send_timeout_s": 60, "flush_deadline_s": 1})
    monkeypatch.setenv("BOT_ALERT_URLS", f"{refused_url}, {receiver.url}")
    result = once.run("--once", timeout=60)
    ended = time.monotonic()
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert receiver.first_arrival is not None  # it did send, and did not wait for the answer
    assert ended - receiver.first_arrival < HOLD_S / 2
    log = (once.state_dir / "logs" / "bot.log").read_text()
    assert "flush deadline passed" in log
    assert "Connection error occurred sending JSON" in log  # the refused one, logged
    assert "Connection error" not in result.stdout + result.stderr  # the console: quiet
