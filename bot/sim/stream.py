"""User-data websocket: listenKeys and the connections that receive account events.

Served with `websockets`' threaded server at Binance's 2026 layout:
`/private/ws/<listenKey>` and `/private/ws?listenKey=<k>&events=A/B` (an allow-list, so a
client that omits `listenKeyExpired` never hears of expiry, as on Binance). Events are
sent by one dispatcher thread in the order the exchange produced them; the same thread
sends the server pings (every `ping_interval_s`), so `silence(True)` stops both.
"""

from __future__ import annotations

import contextlib
import json
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.sim import errors


@dataclass
class _Subscriber:
    connection: ServerConnection
    listen_key: str
    events: frozenset[str] | None  # None: every event


class ListenKeys:
    """The account's listenKey: one active key, extended by POST/PUT, TTL on the sim clock."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_ms = ttl_ms
        self.expiry: dict[str, int] = {}

    def active(self, now_ms: int) -> list[str]:
        return [k for k, until in self.expiry.items() if until > now_ms]

    def create(self, now_ms: int) -> str:
        live = self.active(now_ms)
        key = live[0] if live else secrets.token_urlsafe(48)[:64]
        self.expiry[key] = now_ms + self.ttl_ms
        return key

    def keepalive(self, key: str | None, now_ms: int) -> str:
        if not key or self.expiry.get(key, 0) <= now_ms:
            raise errors.unknown_listen_key()
        self.expiry[key] = now_ms + self.ttl_ms
        return key

    def close(self, key: str | None) -> None:
        if key:
            self.expiry.pop(key, None)

    def is_valid(self, key: str, now_ms: int) -> bool:
        return self.expiry.get(key, 0) > now_ms

    def due_to_expire(self, now_ms: int) -> list[str]:
        return [k for k, until in self.expiry.items() if until <= now_ms]


class StreamHub:
    """Owns the websocket server thread and the dispatcher thread."""

    def __init__(self, keys: ListenKeys, is_valid, *, port: int, ping_interval_s: float) -> None:
        self.keys = keys
        self._is_valid = is_valid  # callable(key) -> bool, under the exchange lock
        self.ping_interval_s = ping_interval_s
        self._subs_lock = threading.Lock()
        self._subs: list[_Subscriber] = []
        self._queue: queue.Queue[tuple[str, object] | None] = queue.Queue()
        self._silent = threading.Event()
        self._server = serve(
            self._handle,
            "127.0.0.1",
            port,
            ping_interval=None,
            ping_timeout=None,
            compression=None,
            close_timeout=1,
        )
        self.port = self._server.socket.getsockname()[1]
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="sim-ws-server"
        )
        self._dispatch_thread = threading.Thread(target=self._dispatch, name="sim-ws-dispatch")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server_thread.start()
        self._dispatch_thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._dispatch_thread.join(timeout=5)
        # The SDK client never closes its TCP socket after the closing handshake, which
        # leaves the server waiting for EOF forever: cut every connection first.
        self.drop_all()
        self._server.shutdown()
        self._server_thread.join(timeout=5)

    # --- control -----------------------------------------------------------------------
    def publish(self, events: list[dict]) -> None:
        """Queue events for delivery; while silenced they are lost, as on a dead link."""
        if self._silent.is_set():
            return
        for event in events:
            self._queue.put(("event", event))

    def publish_raw(self, text: str) -> None:
        """Queue one text frame exactly as given, for every valid key (a hostile or
        hand-made payload: tests of what the bot does with frames the engine never makes)."""
        if not self._silent.is_set():
            self._queue.put(("raw", text))

    def push_to_key(self, key: str, event: dict) -> None:
        """An event for one key even if that key is no longer valid (listenKeyExpired)."""
        if not self._silent.is_set():
            self._queue.put(("key", (key, event)))

    def silence(self, on: bool) -> None:
        if on:
            self._silent.set()
        else:
            self._silent.clear()

    def drop_all(self) -> None:
        """Cut every connection at the TCP level: the client sees no close frame."""
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            with contextlib.suppress(OSError):
                sub.connection.socket.shutdown(socket.SHUT_RDWR)

    def connection_count(self) -> int:
        with self._subs_lock:
            return len(self._subs)

    # --- threads -----------------------------------------------------------------------
    def _handle(self, connection: ServerConnection) -> None:
        url = urlsplit(connection.request.path)
        query = parse_qs(url.query)
        if url.path.startswith("/private/ws/"):
            key = url.path[len("/private/ws/") :]
        elif url.path == "/private/ws" and query.get("listenKey"):
            key = query["listenKey"][0]
        else:
            connection.close(1008, "invalid path")
            return
        if not self._is_valid(key):
            connection.close(1008, "invalid listenKey")
            return
        events = query.get("events")
        allowed = frozenset("/".join(events).split("/")) if events else None
        sub = _Subscriber(connection, key, allowed)
        with self._subs_lock:
            self._subs.append(sub)
        try:
            for _ in connection:  # client messages are ignored (no SUBSCRIBE on /private)
                pass
        except ConnectionClosed:
            pass
        finally:
            with self._subs_lock:
                self._subs.remove(sub)

    def _dispatch(self) -> None:
        next_ping = time.monotonic() + self.ping_interval_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, min(1.0, next_ping - time.monotonic())))
            except queue.Empty:
                item = ("tick", None)
            if item is None:
                return
            if time.monotonic() >= next_ping:
                next_ping = time.monotonic() + self.ping_interval_s
                if not self._silent.is_set():
                    self._ping_all()
            kind, payload = item
            if kind == "tick":
                continue
            if kind == "event":
                self._send(payload, lambda sub: self._is_valid(sub.listen_key))
            elif kind == "raw":
                self._send_text(payload, None, lambda sub: self._is_valid(sub.listen_key))
            else:
                key, event = payload
                self._send(event, lambda sub, key=key: sub.listen_key == key)

    def _send(self, event: dict, wanted) -> None:
        self._send_text(json.dumps(event), event["e"], wanted)

    def _send_text(self, text: str, event_type: str | None, wanted) -> None:
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            if sub.events is not None and event_type is not None and event_type not in sub.events:
                continue
            if not wanted(sub):
                continue
            with contextlib.suppress(ConnectionClosed, OSError):
                sub.connection.send(text)

    def _ping_all(self) -> None:
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            with contextlib.suppress(ConnectionClosed, OSError):
                sub.connection.ping()
