"""Benchmark 8: user-data frames from a loopback websocket into OMS state, persistence on.

The standalone simulator (its own process, as the exchange is) pushes the bench
payloads (``bench/payloads.py``) as raw text frames on a user-data socket as fast as
it sends; the bot side is the real path: ``open_user_socket`` (the SDK's reader
thread, no per-frame UTF-8 check) → ``RawMessage`` on a queue → ``OmsWorker`` →
``Oms`` with a SQLite ``Store`` and an ``AuditJournal``. Timed from the first frame
received to the last one applied and committed. Next to it, to show what limits it:

* the socket alone: the same reader with a consumer that only counts;
* websocket-client's ``recv`` alone, with and without its UTF-8 check (the change);
* the OMS consumer alone on a pre-filled queue (``bench/oms_ingest.py``'s second line).

The frames are pushed by this process in requests of ``CHUNK`` to the simulator's
control API while the reader runs (a small share of this process's time).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websocket

from bench.common import cli
from bench.oms_ingest import _Pipeline, _throughput
from bench.payloads import user_data_payloads
from bench.simproc import SimProcess
from bot.exchange.client import ExchangeClient
from bot.exchange.user_socket import open_user_socket
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.oms.events import RawMessage
from bot.sim import SIM_API_KEY, SIM_API_SECRET

GOAL_MESSAGES_PER_S = 50_000
CHUNK = 2_000
TIMEOUT_S = 300


def _push(sim: SimProcess, frames: list[str]) -> None:
    for start in range(0, len(frames), CHUNK):
        sim.control("push_raw_frames", frames=frames[start : start + CHUNK])


def _listen_url(sim: SimProcess) -> str:
    venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
    with ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET) as client:
        return client.user_stream_url(client.new_listen_key())


def _through_socket(
    sim: SimProcess, frames: list[str], consume: Callable[[str], None], done: Callable[[], None]
) -> float:
    """Messages/s from the first frame received until ``done`` returns."""
    received = [0]
    first: list[float] = []
    all_in = threading.Event()

    def on_message(text: str) -> None:
        if not first:
            first.append(time.perf_counter())
        consume(text)
        received[0] += 1
        if received[0] == len(frames):
            all_in.set()

    connection = open_user_socket(
        _listen_url(sim),
        on_message=on_message,
        on_activity=lambda: None,
        on_disconnect=lambda reason: all_in.set(),
        timeout_s=30,
    )
    try:
        _push(sim, frames)
        if not all_in.wait(TIMEOUT_S) or received[0] != len(frames):
            raise RuntimeError(f"received {received[0]} of {len(frames)} frames")
        done()
        return len(frames) / (time.perf_counter() - first[0])
    finally:
        connection.close()


def _recv_alone(sim: SimProcess, frames: list[str], *, skip_utf8: bool) -> float:
    ws = websocket.create_connection(_listen_url(sim), skip_utf8_validation=skip_utf8, timeout=30)
    try:
        pusher = threading.Thread(target=_push, args=(sim, frames), name="bench-pusher")
        pusher.start()
        ws.recv()
        started = time.perf_counter()
        for _ in range(len(frames) - 1):
            ws.recv()
        elapsed = time.perf_counter() - started
        pusher.join()
        return (len(frames) - 1) / elapsed
    finally:
        ws.close()


def _into_oms(sim: SimProcess, frames: list[str], directory: Path) -> float:
    pipeline = _Pipeline(directory)
    pipeline.worker.start()
    try:
        rate = _through_socket(
            sim,
            frames,
            lambda text: pipeline.inbound.put(RawMessage(text, 0)),
            pipeline.worker.wait_idle,
        )
        pipeline.check(len(frames))
        return rate
    finally:
        pipeline.close()


def run(messages: int) -> dict:
    frames = user_data_payloads(messages, start_ms=int(time.time() * 1000) - 86_400_000)
    with tempfile.TemporaryDirectory(prefix="bench-socket-") as tmp, SimProcess() as sim:
        end_to_end = _into_oms(sim, frames, Path(tmp) / "e2e")
        socket_only = _through_socket(sim, frames, lambda text: None, lambda: None)
        recv_checked = _recv_alone(sim, frames, skip_utf8=False)
        recv_skipped = _recv_alone(sim, frames, skip_utf8=True)
        consumer_only = _throughput(frames, Path(tmp) / "consumer", prefill=True)
    return {
        "benchmark": "socket_ingest",
        "messages": messages,
        "socket_to_oms_per_s": round(end_to_end),
        "socket_alone_per_s": round(socket_only),
        "recv_alone_per_s": {
            "utf8_checked": round(recv_checked),
            "utf8_skipped": round(recv_skipped),
        },
        "oms_consumer_alone_per_s": round(consumer_only),
        "goal": f">= {GOAL_MESSAGES_PER_S} messages/s socket -> OMS, persistence on",
        "goal_met": {"socket_to_oms": end_to_end >= GOAL_MESSAGES_PER_S},
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"messages": (100_000, 2_000)})
