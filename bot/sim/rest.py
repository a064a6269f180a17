"""HTTP/1.1 server on 127.0.0.1 for the Binance REST API and the `/_sim/` control API.

Keep-alive (HTTP/1.1) matters: the SDK's requests.Session reuses one connection, and a
server that closes after every answer would measure a different (slower) venue. Every
accepted connection is tracked, so `stop()` can close them and join their threads: no
thread or socket outlives the simulator.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bot.sim.gateway import Gateway, Response
from bot.sim.venue import Json

_Request = socket.socket | tuple[bytes, socket.socket]  # socketserver's (UDP: a tuple)
ControlHandler = Callable[[str, str, Json], tuple[int, object]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, handler_cls: type) -> None:
        super().__init__(("127.0.0.1", port), handler_cls)
        self.conn_lock = threading.Lock()
        self.live: dict[_Request, threading.Thread] = {}
        self.stopping = threading.Event()

    def process_request(self, request: _Request, client_address: Any) -> None:
        # one named thread per connection
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"sim-rest-conn-{client_address[1]}",
            daemon=True,
        )
        with self.conn_lock:
            self.live[request] = thread
        thread.start()

    def process_request_thread(self, request: _Request, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.live.pop(request, None)


class RestServer:
    """Owns the HTTP server thread and the connection threads it spawns."""

    def __init__(self, gateway: Gateway, control: ControlHandler, port: int = 0) -> None:
        handler_cls = type("SimHandler", (_Handler,), {"gateway": gateway, "control": control})
        self._server = _Server(port, handler_cls)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sim-rest-server",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._thread.join(timeout=5)
        with self._server.conn_lock:
            live = list(self._server.live.items())
        for request, _ in live:
            conn = request if isinstance(request, socket.socket) else request[1]
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in live:
            thread.join(timeout=5)
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sim"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is dropped, as real servers do
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server
    gateway: Gateway
    control: ControlHandler

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode() if length else ""
        if split.path.startswith("/_sim/"):
            self._control(split.path[len("/_sim/") :], split.query, raw_body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.gateway.handle(self.command, split.path, split.query, raw_body, headers)
        if response.drop:  # a request hook cut the connection: the client gets no answer
            self.close_connection = True
            return
        if response.delay_s and self.server.stopping.wait(response.delay_s):
            self.close_connection = True
            return
        self._write(response)

    def _control(self, name: str, query: str, raw_body: str) -> None:
        try:
            payload = json.loads(raw_body) if raw_body else {}
            status, result = self.control(self.command, name, payload)
        except (ValueError, TypeError, KeyError) as exc:
            status, result = 400, {"error": str(exc)}
        self._write(
            Response(status, json.dumps(result).encode(), [("Content-Type", "application/json")])
        )

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
