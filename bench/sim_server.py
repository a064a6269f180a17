"""A standalone simulator for benchmarks: ``python bench/sim_server.py [--port N] ...``.

Runs ``bot.sim.Simulator`` in its own process, so the bot under test does not share
a GIL with the venue (as on the real exchange), prints ``REST <url> WS <url>`` once
ready, and stops cleanly on SIGTERM/SIGINT. :class:`SimProcess` starts and owns one.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import urllib.request
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sim import Simulator
from bot.sim.rest import _Handler

READY_TIMEOUT_S = 30


class SimProcess:
    """Context manager: a simulator subprocess and its ``/_sim/`` control API."""

    def __init__(self, *, balance: str = "10000", state_file: Path | None = None) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--balance", balance]
        if state_file is not None:
            command += ["--state-file", str(state_file)]
        self._command = command
        self._process: subprocess.Popen | None = None
        self.rest_url = self.ws_url = ""

    def __enter__(self) -> SimProcess:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
        )
        line = _read_line(self._process, READY_TIMEOUT_S)
        words = line.split()
        if len(words) != 4 or words[0] != "REST":
            self.__exit__()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.rest_url, self.ws_url = words[1], words[3]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--balance", default="10000", help="USDC wallet at start (0: leave)")
    args = parser.parse_args()
    # The simulator writes headers and body in two send() calls; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms per request on loopback), which would
    # measure the simulator, not the bot. Binance's servers answer in one flight.
    _Handler.disable_nagle_algorithm = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sim = Simulator(
        state_file=args.state_file, seed=args.seed, port=args.port, ws_port=args.ws_port
    ).start()
    try:
        if Decimal(args.balance) > 0:
            sim.seed_balance(Decimal(args.balance))
        print(f"REST {sim.rest_url} WS {sim.ws_url}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
