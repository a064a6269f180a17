"""The service's life as systemd or an operator sees it: a signal at any moment of
start-up or running ends in a clean exit, with the journal closed and the listenKey
given back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def start_service(bot) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")],
        cwd=bot.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def handles(pid: int, signum: int) -> bool:
    """Whether the process has installed its own handler for ``signum`` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def requested(bot, method: str, path: str) -> bool:
    return any(r.method == method and r.path == path for r in bot.sim.request_log)


def as_soon_as_handled(bot, process) -> None:
    eventually(lambda: handles(process.pid, signal.SIGTERM), timeout=15, interval=0.002)


def waiting_for_the_first_snapshot(bot, process) -> None:
    # the listenKey POST is executed, its reply held back: start-up waits for the stream
    eventually(lambda: requested(bot, "POST", "/fapi/v1/listenKey"), timeout=15, interval=0.002)


def during_the_first_cycle(bot, process) -> None:
    eventually(lambda: requested(bot, "GET", "/fapi/v1/klines"), timeout=15, interval=0.002)


def while_the_scheduler_runs(bot, process) -> None:
    assert "service running" in process.stdout.readline()


# moment -> (how the test knows it is there, the request whose reply is held back)
MOMENTS = {
    "immediately": (as_soon_as_handled, None),
    "listenKey reply delayed": (waiting_for_the_first_snapshot, ("POST", "/fapi/v1/listenKey")),
    "first cycle": (during_the_first_cycle, ("GET", "/fapi/v1/klines")),
    "scheduler": (while_the_scheduler_runs, None),
}


@pytest.mark.parametrize(
    ("moment", "signum", "delay_s"),
    [
        ("immediately", signal.SIGTERM, 0),
        # 7 s: longer than the stream's stop waits for its supervisor (5 s)
        ("listenKey reply delayed", signal.SIGTERM, 7),
        ("listenKey reply delayed", signal.SIGINT, 1),
        ("first cycle", signal.SIGTERM, 1),
        ("scheduler", signal.SIGTERM, 0),
    ],
)
def test_signal_at_any_moment_exits_0_with_stop_record_and_listen_key_closed(
    bot, moment, signum, delay_s
):
    reach, delayed = MOMENTS[moment]
    if delayed is not None:
        method, path = delayed
        bot.sim.inject("delay_after_execute", method=method, path=path, delay_s=delay_s)
    process = start_service(bot)
    try:
        reach(bot, process)
        process.send_signal(signum)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill() if process.poll() is None else None
        process.stdout.close()
    records = bot.audit_records()
    assert records[0]["kind"] == "start" and records[-1]["kind"] == "stop"
    assert signal.Signals(signum).name in records[-1]["data"]["outcome"]
    assert bot.sim.exchange.listen_keys.active(bot.sim.now_ms()) == []
    assert bot.sim.stream_connections() == 0
    assert not (bot.state_dir / "health.json").exists()
