"""A local webhook receiver (what apprise's ``json://`` posts to) and an App in this
process whose alerts go to it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.config import Secrets
from bot.runtime import Runtime
from bot.sim import Simulator
from tests.e2e.conftest import app_on

FAKE_API_KEY = "FAKEKEY1234567890abcdef"  # never used by the simulator: must never show
URL_PASSWORD = "hookpass9876543"  # the receiver's basic-auth password: a token in the URL
HOLD_S = 20.0  # how long a hanging receiver holds a request
FAST = {"send_timeout_s": 0.5, "flush_deadline_s": 1, "dedupe_window_s": 0}


@dataclass
class Receiver:
    """Collects the JSON bodies POSTed to it; ``mode``: ok, hang (until released), error."""

    port: int
    mode: str = "ok"
    messages: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: int = 0  # requests seen, answered or not
    first_arrival: float | None = None  # time.monotonic() of the first

    @property
    def url(self) -> str:
        return f"json://alerts:{URL_PASSWORD}@127.0.0.1:{self.port}/hook"

    def titles(self) -> list[str]:
        return [str(m.get("title", "")) for m in self.messages]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            receiver.arrived += 1
            if receiver.first_arrival is None:
                receiver.first_arrival = time.monotonic()
            if receiver.mode == "hang":
                receiver.release.wait(HOLD_S)
            receiver.raw.append(body + str(self.headers))
            receiver.messages.append(json.loads(body))
            self.send_response(500 if receiver.mode == "error" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook on 127.0.0.1; its serving thread is started and joined here."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(0)))
    found = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(found)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-receiver"
    )
    thread.start()
    try:
        yield found
    finally:
        found.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def refused_url() -> str:
    """A json:// URL where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"json://alerts:{URL_PASSWORD}@127.0.0.1:{port}/hook"


@contextmanager
def alerting_app(
    tmp_path: Path, url: str, **alerts: Any
) -> Iterator[tuple[Simulator, App, Runtime]]:
    """The App in this process against its own simulator, alerting to ``url``."""
    secrets = Secrets(api_key=SecretStr(FAKE_API_KEY), alert_urls=SecretStr(url))
    with (
        Simulator() as sim,
        app_on(sim, tmp_path, secrets=secrets, alerts={**FAST, **alerts}) as (app, runtime),
    ):
        yield sim, app, runtime
