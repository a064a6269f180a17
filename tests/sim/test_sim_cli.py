"""`python -m bot.sim` flags."""

from __future__ import annotations

import subprocess
import sys

import pytest
import websocket

from bot.sim.__main__ import main


def test_ping_interval_flag_sets_the_server_ping_period() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.sim", "--ping-interval", "0.2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ws_url = proc.stdout.readline().split()[3]
        ws = websocket.create_connection(f"{ws_url}/market/ws", timeout=3)
        try:
            opcode, _ = ws.recv_data(control_frame=True)
        finally:
            ws.close()
        assert opcode == websocket.ABNF.OPCODE_PING
    finally:
        proc.terminate()
        proc.stdout.close()
        assert proc.wait(timeout=10) == 0


def test_ping_interval_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--ping-interval", "0"])
    assert info.value.code == 2
    assert "must be more than 0 seconds" in capsys.readouterr().err
