"""One user-data websocket connection on the SDK's reader thread, made safe to own.

The SDK (``binance-futures-connector`` 4.2.0) connects in its constructor with no
timeout, never reconnects, reports a dropped connection through ``on_error`` (not
``on_close``), blocks forever on a half-open socket and its ``stop()`` can hang
(EXCHANGE-FACTS §6). This wrapper gives the stream supervisor (``bot.stream``) a
connection that:

- connects and reads with a socket timeout, so silence longer than ``timeout_s``
  ends the connection instead of blocking it forever;
- reports every end of the connection exactly once through ``on_disconnect``
  (error, close frame, timeout), and never for a close we asked for;
- closes within a bounded time: the socket is shut down under the reader thread,
  which is then joined with a timeout, and the socket is closed.

``BinanceWebsocketClient`` is used, not ``UMFuturesWebsocketClient``: it takes the
URL as is (the latter appends ``/ws``, wrong for ``/private/ws/<listenKey>``).

The socket skips websocket-client's UTF-8 check: it runs in pure Python on every
frame (88 µs a message, which capped socket → OMS ingest near 8k messages/s), and
the strict decode below refuses the same frames in C.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import websocket
from binance.websocket.binance_socket_manager import BinanceSocketManager
from binance.websocket.websocket_client import BinanceWebsocketClient

log = logging.getLogger(__name__)
# The SDK's reader logs every close frame at WARNING, our own stop included; the
# stream supervisor reports real disconnects itself, so keep only the SDK's errors.
sdk_log = logging.getLogger(f"{__name__}.sdk")
sdk_log.setLevel(logging.ERROR)

# websocket.setdefaulttimeout is process-wide; it is changed only for the instant the
# SDK creates its socket (the timeout then stays on that socket), under this lock.
_DEFAULT_TIMEOUT_LOCK = threading.Lock()


class _Reader(BinanceSocketManager):  # type: ignore[misc]  # the SDK has no types
    """The SDK's reader thread, on a socket without the per-frame UTF-8 check.

    A text frame that is not UTF-8 is handed on as the ``repr`` of its bytes: never
    JSON, so the OMS counts it malformed and audits what came, and the connection
    goes on (the SDK's loop would die on the decode, silently)."""

    def create_ws_connection(self) -> None:
        self.ws = websocket.create_connection(
            self.stream_url, skip_utf8_validation=True, **self._proxy_params
        )
        self._callback(self.on_open)

    def read_data(self) -> None:
        """The SDK's loop (errors, close, ping/pong) with a strict decode of its own."""
        while True:
            try:
                op_code, frame = self.ws.recv_data_frame(True)
            except Exception as error:  # the SDK reports every read failure, then ends
                self._handle_exception(error)
                return
            if op_code == websocket.ABNF.OPCODE_CLOSE:
                self._callback(self.on_close)
                return
            if op_code == websocket.ABNF.OPCODE_PING:
                self._callback(self.on_ping, frame.data)
                self.ws.pong("")
            elif op_code == websocket.ABNF.OPCODE_PONG:
                self._callback(self.on_pong)
            elif op_code == websocket.ABNF.OPCODE_TEXT:
                try:
                    text = frame.data.decode("utf-8")
                except UnicodeDecodeError:
                    text = repr(frame.data)
                self._callback(self.on_message, text)
            else:
                self._callback(self.on_message, frame.data)


class _Client(BinanceWebsocketClient):  # type: ignore[misc]
    def _initialize_socket(self, stream_url: str, *handlers: object) -> BinanceSocketManager:
        on_message, on_open, on_close, on_error, on_ping, on_pong, logger, proxies = handlers
        return _Reader(
            stream_url,
            on_message=on_message,
            on_open=on_open,
            on_close=on_close,
            on_error=on_error,
            on_ping=on_ping,
            on_pong=on_pong,
            logger=logger,
            proxies=proxies,
        )


class UserSocket:
    """A connected user-data socket; create with :func:`open_user_socket`."""

    def __init__(
        self,
        on_message: Callable[[str], None],
        on_activity: Callable[[], None],
        on_disconnect: Callable[[str], None],
    ) -> None:
        self._on_message = on_message
        self._on_activity = on_activity
        self._on_disconnect = on_disconnect
        self._ended = threading.Event()  # reported (or closed by us): report nothing more
        self._client: BinanceWebsocketClient | None = None

    def _connect(self, url: str, timeout_s: float, name: str) -> None:
        with _DEFAULT_TIMEOUT_LOCK:
            previous = websocket.getdefaulttimeout()
            websocket.setdefaulttimeout(timeout_s)
            try:
                self._client = _Client(
                    stream_url=url,
                    on_message=self._message,
                    on_error=self._error,
                    on_close=self._close_frame,
                    on_ping=self._ping,
                    logger=sdk_log,
                )
            finally:
                websocket.setdefaulttimeout(previous)
        self._client.socket_manager.name = name

    def close(self, timeout_s: float = 2.0) -> bool:
        """Close without waiting on the server; True if the reader thread ended."""
        self._ended.set()
        if self._client is None:
            return True
        manager = self._client.socket_manager
        ws = manager.ws
        try:
            if ws.connected:
                ws.send_close()  # polite close frame; the socket timeout bounds it
        except (websocket.WebSocketException, OSError):
            pass
        ws.abort()  # wakes the reader blocked in recv
        if manager.is_alive() and manager is not threading.current_thread():
            manager.join(timeout_s)
        ws.shutdown()
        return not manager.is_alive()

    def _report(self, reason: str) -> None:
        if not self._ended.is_set():
            self._ended.set()
            self._on_disconnect(reason)

    def _message(self, _manager: object, text: str) -> None:
        self._on_activity()
        self._on_message(text)

    def _ping(self, _manager: object, _data: bytes) -> None:
        self._on_activity()

    def _error(self, _manager: object, error: Exception) -> None:
        self._report(f"{type(error).__name__}: {error}")

    def _close_frame(self, _manager: object) -> None:
        self._report("server closed the connection")


def open_user_socket(
    url: str,
    *,
    on_message: Callable[[str], None],
    on_activity: Callable[[], None],
    on_disconnect: Callable[[str], None],
    timeout_s: float,
    name: str = "user-ws-reader",
) -> UserSocket:
    """Connect (raising on failure) and start reading on a named SDK thread.

    ``on_message`` gets each text frame; ``on_activity`` any frame incl. pings;
    ``on_disconnect`` the reason, once, when the connection ends by itself.
    """
    user_socket = UserSocket(on_message, on_activity, on_disconnect)
    try:
        user_socket._connect(url, timeout_s, name)
    except (websocket.WebSocketException, OSError) as error:
        raise ConnectionError(f"user-data websocket connect failed: {error}") from error
    return user_socket
