"""What ``status`` says about the running service comes from its health file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.status import service_line


def _write(state_dir: Path, at: datetime, pid: int, last_cycle: dict | None) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "at": at.isoformat(),
        "pid": pid,
        "last_cycle": last_cycle,
        "stream": {"state": "connected", "healthy": True, "last_message_age_s": 3.2,
                   "reconnects": 1, "fallback_running": False},
    }  # fmt: skip
    (state_dir / "health.json").write_text(json.dumps(record))


def test_status_shows_the_running_services_last_cycle_and_stream(tmp_path):
    now = datetime.now(UTC)
    cycle = {"at": (now - timedelta(seconds=40)).isoformat(), "duration_s": 0.42}
    _write(tmp_path, now - timedelta(seconds=10), os.getpid(), cycle)

    line = service_line(tmp_path, now)

    assert line.running and line.last_cycle == cycle
    assert f"pid {os.getpid()}" in line.text and "(0.4 s)" in line.text
    assert "stream connected (healthy), last message 3 s ago, 1 reconnects" in line.text


def test_a_stale_health_file_means_no_service_running(tmp_path):
    now = datetime.now(UTC)
    _write(tmp_path, now - timedelta(minutes=5), os.getpid(), None)

    line = service_line(tmp_path, now)

    assert not line.running and line.text.startswith("no service running (health file stale")


def test_a_health_file_left_by_a_dead_process_means_no_service_running(tmp_path):
    now = datetime.now(UTC)
    _write(tmp_path, now, 2**22 + 12345, None)  # above pid_max's default: no such process

    assert not service_line(tmp_path, now).running
