"""The service's ``/metrics`` and ``/healthz`` on one loopback port, one owned thread.

A plain ``wsgiref`` server, one request at a time on its one thread (a scrape takes
milliseconds; a client that stalls is cut off after ``REQUEST_TIMEOUT_S``), so
nothing is left behind at stop: :meth:`MetricsServer.stop` ends ``serve_forever``,
closes the socket and joins the thread. ``/metrics`` is ``prometheus_client``'s own
WSGI app over the bot's registry; ``/healthz`` is 200 ``ok`` or 503 with one line
saying why (``ServiceHealth.problem``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
StartResponse = Callable[[str, list[tuple[str, str]]], object]


class _QuietHandler(WSGIRequestHandler):
    """Requests go to the log at DEBUG, not to stderr; a stalled client times out."""

    timeout = REQUEST_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics http: " + format, *args)


class _QuietServer(WSGIServer):
    """A request that fails outside the app (a client that stalls past the timeout or
    resets) is one line in the log file: ``socketserver`` would print its traceback on
    the service's console."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        log.info("metrics http: request from %s failed: %r", client_address[0], error)


class _Server4(_QuietServer):
    address_family = socket.AF_INET


class _Server6(_QuietServer):
    address_family = socket.AF_INET6


class MetricsServer:
    """Serves ``registry`` and the health answer on ``host:port`` (0: any free port;
    :attr:`port` is the one bound)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        problem: Callable[[], str | None],
        *,
        host: str,
        port: int,
    ) -> None:
        self._metrics_app = make_wsgi_app(registry)
        self._problem = problem
        server_class = _Server6 if ipaddress.ip_address(host).version == 6 else _Server4
        try:
            self._server = make_server(
                host, port, self._route, server_class=server_class, handler_class=_QuietHandler
            )
        except OSError as error:  # the operator's one line: which address, and why
            raise OSError(
                error.errno, f"metrics: cannot listen on {host}:{port}: {error.strerror}"
            ) from None
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http")

    def start(self) -> None:
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics and /healthz", self.host, self.port)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop serving, close the socket, join; False if the thread did not end in time."""
        if self._thread.is_alive():
            self._server.shutdown()  # returns once serve_forever has returned
            self._thread.join(timeout)
        self._server.server_close()
        if self._thread.is_alive():
            log.error("metrics server did not stop within %.1f s", timeout)
            return False
        return True

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body: Iterable[bytes] = self._metrics_app(environ, start_response)
            return body
        if path == "/healthz":
            return self._healthz(start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics or /healthz\n"]

    def _healthz(self, start_response: StartResponse) -> list[bytes]:
        try:
            problem = self._problem()
        except Exception as error:  # an answer is owed even when the check itself fails
            log.warning("health check failed", exc_info=True)
            problem = f"health check failed: {type(error).__name__}"
        status = "200 OK" if problem is None else "503 Service Unavailable"
        text = "ok" if problem is None else " ".join(problem.split())
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{text}\n".encode()]
