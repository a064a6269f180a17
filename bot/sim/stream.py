"""Websocket streams: listenKeys, and the connections that receive account and market events.

Served with `websockets`' threaded server at Binance's 2026 layout (`bot.sim.ws_protocol`:
`/public`, `/market`, `/private` roots, raw and combined forms, the JSON subscription
protocol). User data goes to `/private` sessions by listenKey: `/private/ws/<listenKey>`,
`/private/ws?listenKey=<k>&events=A/B` (an allow-list, so a client that omits
`listenKeyExpired` never hears of expiry, as on Binance), or a `SUBSCRIBE` of the listenKey
as the successor SDK does on `/private/stream`. Market streams (`bot.sim.market_streams`)
go to `/market` and `/public` sessions. One dispatcher thread sends everything, in the order
the exchange produced it, and the server pings (every `ping_interval_s`); `silence(True)`
stops all three.
"""

from __future__ import annotations

import contextlib
import json
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.sim import errors, ws_protocol
from bot.sim.venue import Json
from bot.sim.ws_protocol import Session

MARKET_TICK_S = 0.25
MAX_MESSAGES_PER_S = 10  # incoming, per connection; Binance disconnects above it
# (root, stream names subscribed there) -> {name: payloads}; runs under the exchange lock
MarketFrames = Callable[[str, set[str]], dict[str, list[Json]]]


class _Subscriber:
    """One connection and its protocol session (guarded by the hub's subscriber lock)."""

    def __init__(self, connection: ServerConnection, session: Session) -> None:
        self.connection = connection
        self.session = session

    @property
    def listen_keys(self) -> list[str]:
        return self.session.streams if self.session.root == "private" else []


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

    def keepalive(self, now_ms: int) -> str:
        """PUT /fapi/v1/listenKey takes no parameter on USDⓈ-M: it extends the API key's
        live key; -1125 when there is none (closed or expired), so the client POSTs again."""
        live = self.active(now_ms)
        if not live:
            raise errors.unknown_listen_key()
        self.expiry[live[0]] = now_ms + self.ttl_ms
        return live[0]

    def close(self, key: str | None) -> None:
        if key:
            self.expiry.pop(key, None)

    def is_valid(self, key: str, now_ms: int) -> bool:
        return self.expiry.get(key, 0) > now_ms

    def due_to_expire(self, now_ms: int) -> list[str]:
        return [k for k, until in self.expiry.items() if until <= now_ms]


class StreamHub:
    """Owns the websocket server thread and the dispatcher thread."""

    def __init__(
        self,
        keys: ListenKeys,
        is_valid: Callable[[str], bool],
        *,
        port: int,
        ping_interval_s: float,
        market_frames: MarketFrames | None = None,
    ) -> None:
        self.keys = keys
        self._is_valid = is_valid  # callable(key) -> bool, under the exchange lock
        self._market_frames = market_frames
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
    def publish(self, events: list[Json]) -> None:
        """Queue events for delivery; while silenced they are lost, as on a dead link."""
        if self._silent.is_set():
            return
        for event in events:
            self._queue.put(("event", event))

    def push_to_key(self, key: str, event: Json) -> None:
        """An event for one key even if that key is no longer valid (listenKeyExpired)."""
        if not self._silent.is_set():
            self._queue.put(("key", (key, event)))

    def push_raw(self, text: str | bytes) -> None:
        """One text frame, exactly as given, to every connected user-data socket."""
        if not self._silent.is_set():
            self._queue.put(("raw", text))

    def silence(self, on: bool) -> None:
        if on:
            self._silent.set()
        else:
            self._silent.clear()

    def drop_all(self) -> None:
        """Cut every connection at the TCP level: the client sees no close frame."""
        for sub in self._subs_snapshot():
            with contextlib.suppress(OSError):
                sub.connection.socket.shutdown(socket.SHUT_RDWR)

    def connection_count(self) -> int:
        with self._subs_lock:
            return len(self._subs)

    # --- threads -----------------------------------------------------------------------
    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None  # the handshake is done when this runs
        session = ws_protocol.open_session(connection.request.path)
        if session is None:  # incl. the legacy /ws and /stream roots, retired 2026-04-23
            connection.close(1008, "invalid path")
            return
        if any(not self._is_valid(key) for key in session.streams if session.root == "private"):
            connection.close(1008, "invalid listenKey")
            return
        sub = _Subscriber(connection, session)
        with self._subs_lock:
            self._subs.append(sub)
        window_start, received = time.monotonic(), 0
        try:
            for message in connection:
                now = time.monotonic()
                if now - window_start >= 1.0:
                    window_start, received = now, 0
                received += 1
                if received > MAX_MESSAGES_PER_S:
                    connection.close(1008, "Too many requests")
                    break
                if isinstance(message, bytes):
                    message = message.decode(errors="replace")
                with self._subs_lock:
                    reply = ws_protocol.answer(session, message)
                with contextlib.suppress(ConnectionClosed, OSError):
                    connection.send(json.dumps(reply, separators=(",", ":")))
        except ConnectionClosed:
            pass
        finally:
            with self._subs_lock:
                self._subs.remove(sub)

    def _dispatch(self) -> None:
        next_ping = time.monotonic() + self.ping_interval_s
        next_market = time.monotonic() + MARKET_TICK_S
        while True:
            wait = min(next_ping, next_market) - time.monotonic()
            try:
                item = self._queue.get(timeout=max(0.0, min(1.0, wait)))
            except queue.Empty:
                item = ("tick", None)
            if item is None:
                return
            now = time.monotonic()
            if now >= next_ping:
                next_ping = now + self.ping_interval_s
                if not self._silent.is_set():
                    self._ping_all()
            if now >= next_market:
                next_market = now + MARKET_TICK_S
                if not self._silent.is_set():
                    self._push_market()
            match item:
                case ("raw", str() | bytes() as text):
                    self._send_raw(text)
                case ("event", dict() as event):
                    self._send_user(event, self._is_valid)
                case ("key", (str() as key, dict() as event)):
                    self._send_user(event, key.__eq__)  # to this listenKey only

    def _send_user(self, event: Json, wanted: Callable[[str], bool]) -> None:
        for sub in self._subs_snapshot():
            session = sub.session
            if session.events is not None and event.get("e") not in session.events:
                continue
            for key in [k for k in sub.listen_keys if wanted(k)]:
                _send(sub, ws_protocol.frame(session, key, event))

    def _send_raw(self, text: str | bytes) -> None:
        for sub in self._subs_snapshot():
            if sub.session.root == "private":
                _send(sub, text)

    def _push_market(self) -> None:
        if self._market_frames is None:
            return
        subs = [s for s in self._subs_snapshot() if s.session.root != "private"]
        for root in ("market", "public"):
            on_root = [s for s in subs if s.session.root == root]
            with self._subs_lock:
                names = {name for s in on_root for name in s.session.streams}
            if not names:
                continue
            payloads = self._market_frames(root, names)
            for sub in on_root:
                with self._subs_lock:
                    wanted = [n for n in sub.session.streams if n in payloads]
                for name in wanted:
                    for payload in payloads[name]:
                        _send(sub, ws_protocol.frame(sub.session, name, payload))

    def _subs_snapshot(self) -> list[_Subscriber]:
        with self._subs_lock:
            return list(self._subs)

    def _ping_all(self) -> None:
        for sub in self._subs_snapshot():
            with contextlib.suppress(ConnectionClosed, OSError):
                sub.connection.ping()


def _send(sub: _Subscriber, text: str | bytes) -> None:
    with contextlib.suppress(ConnectionClosed, OSError):
        sub.connection.send(text, text=True)  # bytes too: a text frame, valid UTF-8 or not
