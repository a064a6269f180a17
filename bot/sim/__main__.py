"""Standalone simulator: `python -m bot.sim --port N [--ws-port M] [--state-file F] [--seed S]
[--ping-interval S]`.

Prints `REST http://127.0.0.1:N WS ws://127.0.0.1:M` once it is serving (a parent process
waits for that line), runs until SIGINT/SIGTERM, saves state and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from bot.sim.simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--state-file", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--ping-interval",
        type=_positive_seconds,
        default=180.0,
        help="seconds between the websocket server's pings (Binance: 180)",
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Simulator(
        state_file=args.state_file,
        seed=args.seed,
        port=args.port,
        ws_port=args.ws_port,
        ping_interval_s=args.ping_interval,
    ) as sim:
        print(f"REST {sim.rest_url} WS {sim.ws_url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
