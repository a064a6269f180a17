"""The engine without a socket: a ``requests`` transport adapter answering through the
simulator's gateway.

Mounted on a ``requests.Session`` (the SDK's) for the engine's URL, a request is built,
signed and sent by the SDK exactly as over HTTP, then checked (weight, key, signature,
timestamp), executed, logged and answered by the same ``Gateway`` the HTTP server uses.
What HTTP would do to the client is kept: a request hook's DROP is a connection error,
an answer delayed past the client's read timeout is a read timeout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from bot.sim.gateway import Gateway


class InProcessAdapter(BaseAdapter):
    """Answers every request of the session prefix it is mounted on from ``gateway``."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self._gateway = gateway

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        split = urlsplit(request.url or "")
        body = request.body or ""
        raw_body = body.decode() if isinstance(body, bytes) else str(body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer = self._gateway.handle(
            request.method or "GET", split.path, split.query, raw_body, headers
        )
        if answer.drop:
            raise requests.ConnectionError("connection dropped by the engine", request=request)
        if answer.delay_s:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            if read_timeout is not None and answer.delay_s > read_timeout:
                time.sleep(read_timeout)
                raise requests.ReadTimeout("the engine did not answer in time", request=request)
            time.sleep(answer.delay_s)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.body
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if answer.status == 200 else ""
        return response

    def close(self) -> None:
        """Nothing to release: no socket was opened."""
