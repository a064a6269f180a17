"""The project's standalone simulator (``python -m bot.sim``) as a benchmark fixture.

Running the venue in its own process keeps it off the bot's GIL, as the real
exchange is. :class:`SimProcess` starts one, waits for its ``REST ... WS ...`` line,
drives it through the ``/_sim/`` control API and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30


class SimProcess:
    """Context manager: a simulator subprocess, seeded with a USDC balance."""

    def __init__(self, *, balance: str | None = "10000", state_file: Path | None = None) -> None:
        self._command = [sys.executable, "-m", "bot.sim"]
        if state_file is not None:
            self._command += ["--state-file", str(state_file)]
        self._balance = balance
        self._process: subprocess.Popen | None = None
        self.rest_url = self.ws_url = ""

    def __enter__(self) -> SimProcess:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        words = _read_line(self._process, READY_TIMEOUT_S).split()
        if len(words) != 4 or words[0] != "REST":
            self.__exit__()
            raise RuntimeError(f"simulator did not start: {' '.join(words)!r}")
        self.rest_url, self.ws_url = words[1], words[3]
        if self._balance is not None:
            self.control("seed_balance", amount=self._balance)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process.stdout.close()
        self._process = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def control(self, name: str, **payload) -> object:
        """POST ``/_sim/<name>`` with a JSON body; returns the decoded answer."""
        request = urllib.request.Request(
            f"{self.rest_url}/_sim/{name}",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _read_line(process: subprocess.Popen, timeout_s: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline()), name="bench-sim-ready"
    )
    reader.start()
    reader.join(timeout_s)
    return lines[0].strip() if lines else ""
