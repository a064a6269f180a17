"""systemd's notify protocol, spoken to a unix datagram socket as systemd listens on one:
the unit's Type=notify waits for READY=1 and its watchdog for WATCHDOG=1 pings."""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import sd_notify
from bot.sim import Simulator
from tests.e2e.conftest import BotRunner


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound where ``$NOTIFY_SOCKET`` will point (a short path: unix
    socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        path = str(Path(directory) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
            listener.bind(path)
            listener.settimeout(30)
            yield listener, path


def test_notify_sends_the_state_to_the_socket(notify_socket, monkeypatch):
    listener, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)

    assert sd_notify.notify(sd_notify.WATCHDOG)

    assert listener.recv(64) == b"WATCHDOG=1"


def test_notify_outside_systemd_does_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert not sd_notify.notify(sd_notify.READY)


def test_a_vanished_socket_is_logged_not_raised(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))

    assert not sd_notify.notify(sd_notify.WATCHDOG)
    assert "sd_notify WATCHDOG=1" in caplog.text


def test_the_service_says_ready_pings_the_watchdog_and_says_stopping(
    sim: Simulator, tmp_path: Path, notify_socket, monkeypatch
):
    listener, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    bot = BotRunner(sim, tmp_path, tmp_path / "var")
    bot.configure()
    service = bot.start()
    try:
        assert listener.recv(64) == b"READY=1"  # after start-up and the first cycle
        assert listener.recv(64) == b"WATCHDOG=1"
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            raise
    assert service.returncode == 0
    assert listener.recv(64) == b"STOPPING=1"
