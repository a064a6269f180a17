"""The user-data stream supervisor: listenKey, websocket, reconnects, REST fallback.

Binance's user stream is the fastest source of fills, but the SDK never
reconnects and Binance ends every connection within 24 h. This supervisor owns
that lifecycle so the OMS never loses a fill:

- every websocket text frame goes on the OMS queue as ``RawMessage`` with its
  receive time; the queue is unbounded (never lossy);
- a dropped or errored connection, a server close, a ``listenKeyExpired``
  event, ``-1125`` on keepalive or silence longer than ``silence_timeout_s``
  (socket timeout plus a watchdog) end the connection; the supervisor POSTs a
  listenKey (the same key while it lives, a new one after expiry) and reconnects
  with exponential back-off (``backoff`` = (first, cap) seconds, with jitter);
  it also reconnects on its own before ``reconnect_before_s`` (Binance's 24 h cut);
- after every (re)connect it puts a REST :class:`Snapshot` on the queue, so the
  OMS repairs whatever the gap hid;
- while the stream is down, a fallback poller thread puts a snapshot on the
  queue every ``fallback_interval_s`` (tenacity-retried) and stops once the
  stream is back.

Threads: ``user-stream-supervisor``, the SDK reader (``user-ws-reader``) and,
during outages, ``user-stream-fallback``; all are joined by :meth:`UserStream.stop`.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.domain.records import AlgoOrder, Balance, Order, Position
from bot.exchange.errors import ExchangeError, NotFound
from bot.exchange.user_data import is_listen_key_expired
from bot.exchange.user_socket import open_user_socket
from bot.oms.events import RawMessage, Snapshot

log = logging.getLogger(__name__)


class StreamClient(Protocol):
    """The part of ``ExchangeClient`` the stream uses."""

    def new_listen_key(self) -> str: ...
    def keepalive_listen_key(self, key: str) -> None: ...
    def close_listen_key(self, key: str) -> None: ...
    def user_stream_url(self, listen_key: str) -> str: ...
    def position_risk(self) -> list[Position]: ...
    def open_orders(self, symbol: str | None = None) -> list[Order]: ...
    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]: ...
    def usdc_balance(self) -> Balance: ...


class Connection(Protocol):
    def close(self, timeout_s: float = 2.0) -> bool: ...


SocketFactory = Callable[..., Connection]


@dataclass(frozen=True)
class StreamHealth:
    state: str  # starting | connected | reconnecting | stopped
    listen_key_set: bool
    connected_for_s: float | None
    last_message_age_s: float | None
    messages: int
    reconnects: int
    snapshots: int
    fallback_running: bool
    fallback_snapshots: int
    last_disconnect: str | None

    @property
    def healthy(self) -> bool:
        return self.state == "connected"


class UserStream:
    """Supervises the user-data stream feeding ``inbound`` (see the module docstring)."""

    def __init__(
        self,
        client: StreamClient,
        inbound: queue.Queue[object],
        *,
        silence_timeout_s: float = 240.0,
        fallback_interval_s: float = 5.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        reconnect_before_s: float = 23 * 3600,
        ws_client_factory: SocketFactory | None = None,
        symbols: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        close_timeout_s: float = 2.0,
        recover: Callable[[Snapshot], Iterable[object]] | None = None,
    ) -> None:
        """``recover`` turns a snapshot into the events a gap hid (see bot.stream.recovery);
        they are queued just before the snapshot itself."""
        self._client = client
        self._recover = recover
        self._inbound = inbound
        self._silence_timeout_s = silence_timeout_s
        self._fallback_interval_s = fallback_interval_s
        self._backoff = backoff
        self._reconnect_before_s = reconnect_before_s
        self._open_socket = ws_client_factory or open_user_socket
        self._symbols = frozenset(symbols) if symbols else None
        self._clock = clock
        self._close_timeout_s = close_timeout_s
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="user-stream-supervisor")
        self._poller: _FallbackPoller | None = None
        self._socket: Connection | None = None
        self._generation = 0
        self._listen_key: str | None = None
        self._state = "starting"
        self._connected_at: float | None = None
        self._last_activity = time.monotonic()
        self._last_message_at: float | None = None
        self._disconnect_reason: str | None = None
        self._last_disconnect: str | None = None
        self.messages = 0
        self.reconnects = 0
        self.snapshots = 0
        self.fallback_snapshots = 0

    # --- public ------------------------------------------------------------------------

    def start(self) -> None:
        self._supervisor.start()

    def keepalive(self) -> None:
        """Extend the listenKey (the scheduler calls this every 30 min)."""
        key = self._listen_key
        if key is None:
            return
        try:
            self._client.keepalive_listen_key(key)
        except NotFound:
            log.warning("listenKey keepalive: -1125, the key is gone; reconnecting with a new one")
            self._request_reconnect(self._generation, "listenKey expired (-1125 on keepalive)")
        except ExchangeError as error:
            log.warning("listenKey keepalive failed: %s", error)

    def health(self) -> StreamHealth:
        now = time.monotonic()
        with self._lock:
            poller = self._poller
            return StreamHealth(
                state=self._state,
                listen_key_set=self._listen_key is not None,
                connected_for_s=None if self._connected_at is None else now - self._connected_at,
                last_message_age_s=(
                    None if self._last_message_at is None else now - self._last_message_at
                ),
                messages=self.messages,
                reconnects=self.reconnects,
                snapshots=self.snapshots,
                fallback_running=poller is not None and poller.alive,
                fallback_snapshots=self.fallback_snapshots,
                last_disconnect=self._last_disconnect,
            )

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop intake: close the socket and the listenKey, join every thread (bounded)."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._supervisor.is_alive():
            self._supervisor.join(max(0.0, deadline - time.monotonic()))
        self._close_socket()  # in case the supervisor was stuck in a slow call
        self._stop_poller()
        key, self._listen_key = self._listen_key, None
        if key is not None:
            try:
                self._client.close_listen_key(key)
            except ExchangeError as error:
                log.warning("closing the listenKey failed: %s", error)
        with self._lock:
            self._state = "stopped"
        stopped = not self._supervisor.is_alive()
        if not stopped:
            log.error("user stream supervisor did not stop within %.1f s", timeout)
        return stopped

    # --- supervisor --------------------------------------------------------------------

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._connect()
            except (ExchangeError, ConnectionError, OSError) as error:
                failures += 1
                self._went_down(f"connect failed: {error}")
                self._sleep_backoff(failures)
                continue
            if self._take_snapshot("reconnect" if self.reconnects else "connect"):
                self._stop_poller()
            else:
                self._start_poller()  # it ends itself after its first snapshot while connected
            reason = self._wait_until_disconnected()
            connected_for = time.monotonic() - (self._connected_at or time.monotonic())
            self._close_socket()
            if self._stopping.is_set():
                break
            self._went_down(reason)
            failures = 1 if connected_for >= self._backoff[1] else failures + 1
            if reason != "planned reconnect":
                self._sleep_backoff(failures)

    def _connect(self) -> None:
        key = self._client.new_listen_key()  # the same key (extended) while it is valid
        if self._stopping.is_set():  # stop() came (and may have given up) during the POST
            self._client.close_listen_key(key)
            raise ConnectionError("stopping: listenKey closed again")
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._listen_key = key
            self._disconnect_reason = None
            self._wake.clear()
        connection = self._open_socket(
            self._client.user_stream_url(key),
            on_message=lambda text: self._on_message(generation, text),
            on_activity=self._on_activity,
            on_disconnect=lambda reason: self._request_reconnect(generation, reason),
            timeout_s=self._silence_timeout_s,
        )
        with self._lock:
            self._socket = connection
            self._state = "connected"
            self._connected_at = time.monotonic()
            self._last_activity = time.monotonic()
        if self._generation > 1:
            self.reconnects += 1
        log.info("user-data stream connected (connection %d)", generation)

    def _wait_until_disconnected(self) -> str:
        """Block until the connection must end; returns why."""
        connected_at = self._connected_at or time.monotonic()
        while True:
            now = time.monotonic()
            if self._stopping.is_set():
                return "stopping"
            if self._disconnect_reason is not None:
                return self._disconnect_reason
            if now - self._last_activity > self._silence_timeout_s:
                return f"silent for more than {self._silence_timeout_s:g} s"
            if now - connected_at >= self._reconnect_before_s:
                return "planned reconnect"
            self._wake.wait(min(self._silence_timeout_s / 4, 1.0))

    def _went_down(self, reason: str) -> None:
        log.warning("user-data stream down: %s", reason)
        with self._lock:
            self._state = "reconnecting"
            self._connected_at = None
            self._last_disconnect = reason
        self._start_poller()

    def _sleep_backoff(self, failures: int) -> None:
        first, cap = self._backoff
        delay = min(cap, first * 2 ** max(0, failures - 1))
        self._stopping.wait(random.uniform(delay / 2, delay))

    def _close_socket(self) -> None:
        with self._lock:
            connection, self._socket = self._socket, None
        if connection is not None and not connection.close(self._close_timeout_s):
            log.error("user-data websocket reader did not end within %.1f s", self._close_timeout_s)

    # --- callbacks (SDK reader thread) ------------------------------------------------

    def _on_activity(self) -> None:
        self._last_activity = time.monotonic()

    def _on_message(self, generation: int, text: str) -> None:
        now = self._clock()
        self._inbound.put(RawMessage(text, int(now * 1000)))
        self.messages += 1
        self._last_message_at = time.monotonic()
        if is_listen_key_expired(text):
            self._request_reconnect(generation, "listenKeyExpired event")

    def _request_reconnect(self, generation: int, reason: str) -> None:
        with self._lock:
            if generation != self._generation or self._disconnect_reason is not None:
                return  # a stale connection's last words, or already ending
            self._disconnect_reason = reason
        self._wake.set()

    # --- snapshots -----------------------------------------------------------------------

    def _take_snapshot(self, why: str) -> bool:
        try:
            snapshot = take_snapshot(self._client, self._symbols, self._clock)
        except (ExchangeError, OSError) as error:
            log.warning("REST snapshot after %s failed: %s", why, error)
            return False
        self._publish(snapshot)
        self.snapshots += 1
        return True

    def _start_poller(self) -> None:
        with self._lock:
            if self._stopping.is_set() or (self._poller is not None and self._poller.alive):
                return
            self._poller = _FallbackPoller(self, self._fallback_interval_s)
            self._poller.start()

    def _stop_poller(self) -> None:
        with self._lock:
            poller, self._poller = self._poller, None
        if poller is not None:
            poller.stop()

    def _fallback_poll(self) -> None:
        for attempt in Retrying(
            stop=stop_after_attempt(3),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type((ExchangeError, OSError)),
            sleep=self._pause,
            reraise=True,
        ):
            with attempt:
                snapshot = take_snapshot(self._client, self._symbols, self._clock)
        self._publish(snapshot)
        self.fallback_snapshots += 1

    def _pause(self, seconds: float) -> None:
        """The retry back-off: cut short by ``stop()``."""
        self._stopping.wait(seconds)

    def _publish(self, snapshot: Snapshot) -> None:
        if self._recover is not None:
            try:
                for event in self._recover(snapshot):
                    self._inbound.put(event)
            except (ExchangeError, OSError) as error:
                log.warning(
                    "recovering missed exits failed (the snapshot still applies): %s", error
                )
        self._inbound.put(snapshot)


class _FallbackPoller:
    """REST snapshots at a fixed interval while the websocket is down."""

    def __init__(self, stream: UserStream, interval_s: float) -> None:
        self._stream = stream
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="user-stream-fallback")

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        log.info("REST fallback poller running every %g s", self._interval_s)
        while not self._stop.wait(self._interval_s):
            try:
                self._stream._fallback_poll()
            except (ExchangeError, OSError) as error:
                log.warning("fallback REST snapshot failed: %s", error)
                continue
            if self._stream.health().healthy:
                break  # connected, and this snapshot was taken after the connect
        log.info("REST fallback poller stopped")


def take_snapshot(
    client: StreamClient, symbols: frozenset[str] | None, clock: Callable[[], float] = time.time
) -> Snapshot:
    """One REST snapshot. With ``symbols``, order lists are fetched per symbol (weight 1
    each instead of 40). ``taken_at_ms`` is read before the calls, so anything the OMS
    learnt after that instant counts as newer than the snapshot."""
    taken_at_ms = int(clock() * 1000)
    positions = client.position_risk()
    if symbols is None:
        orders = client.open_orders()
        algos = client.open_algo_orders()
    else:
        orders = [o for s in sorted(symbols) for o in client.open_orders(s)]
        algos = [a for s in sorted(symbols) for a in client.open_algo_orders(s)]
        positions = [p for p in positions if p.symbol in symbols]
    return Snapshot.from_rest(
        positions, orders, algos, client.usdc_balance(), taken_at_ms, symbols=symbols
    )
