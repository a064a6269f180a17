"""The request pipeline between HTTP and the exchange: weight, auth, faults, routing, log.

Kept apart from the HTTP server so the order of checks (Binance charges weight and checks
the key before the signature, the signature before the timestamp) is one readable
function, and from the exchange so the matching engine knows nothing of HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from bot.sim import auth, errors
from bot.sim.errors import SimError
from bot.sim.faults import FaultPlan
from bot.sim.hooks import RequestHooks
from bot.sim.limits import RateLimiter
from bot.sim.venue import Json


@dataclass(frozen=True)
class Route:
    security: auth.Security
    weight: int | Callable[[dict[str, str]], int]
    call: Callable[[dict[str, str]], Any]
    counts_order: bool = False

    def weight_for(self, params: dict[str, str]) -> int:
        return self.weight(params) if callable(self.weight) else self.weight


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw and answered it."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    signed: bool
    weight: int
    code: int | None = None  # Binance error code of the answer, if any


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay_s: float = 0.0
    drop: bool = False  # cut the connection instead of answering (a request hook said so)


class Gateway:
    """Turns one raw request into one response, exactly once, and logs it."""

    def __init__(
        self,
        *,
        routes: dict[tuple[str, str], Route],
        lock: threading.RLock,
        now_ms: Callable[[], int],
        api_key: str,
        api_secret: str,
        limiter: RateLimiter,
        faults: FaultPlan,
        hooks: RequestHooks,
        after_request: Callable[[bool], None],
    ) -> None:
        self.routes = routes
        self.lock = lock
        self.now_ms = now_ms
        self.api_key = api_key
        self.api_secret = api_secret
        self.limiter = limiter
        self.faults = faults
        self.hooks = hooks
        self.after_request = after_request  # called under the lock: ships events, saves state
        self._log_lock = threading.Lock()
        self.request_log: list[RequestRecord] = []

    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def log_snapshot(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self.request_log)

    def handle(
        self, method: str, path: str, raw_query: str, raw_body: str, headers: dict[str, str]
    ) -> Response:
        route = self.routes.get((method, path))
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(raw_body, keep_blank_values=True))
        if route is None:
            return Response(
                404,
                b"<html><body><h2>404 Not found</h2></body></html>",
                [("Content-Type", "text/html")],
            )
        if self.hooks.run_before(method, path, params):
            return Response(0, b"", drop=True)
        weight = route.weight_for(params)
        delay_s = 0.0
        extra: tuple[tuple[str, str], ...] = ()  # headers of an error answer
        raw: tuple[int, bytes, str] | None = None  # a "raw" fault's answer replaces the body
        with self.lock:
            now = self.now_ms()
            fault = None
            try:
                self.limiter.charge_weight(now, weight)
                fault = self.faults.take(method, path)
                if fault is not None and fault.name == "raw":
                    raw = fault.raw_answer()
                if fault is not None and not fault.executes:
                    raise _fault_error(fault.name, fault.options)
                auth.check(
                    route.security,
                    api_key=headers.get("x-mbx-apikey"),
                    raw_query=raw_query,
                    raw_body=raw_body,
                    params=params,
                    expected_key=self.api_key,
                    secret=self.api_secret,
                    server_time_ms=now,
                )
                if route.counts_order:
                    self.limiter.charge_order(now)
                status, body = 200, route.call(params)
            except SimError as exc:
                status, body, extra = exc.status, exc.body(), exc.headers
            if fault is not None and fault.executes and raw is None:
                if fault.name == "delay_after_execute":
                    delay_s = float(fault.options.get("delay_s", 30.0))
                else:
                    error = _fault_error(fault.name, fault.options)
                    status, body, extra = error.status, error.body(), error.headers
            self.after_request(method != "GET")
            out_headers = [("X-MBX-USED-WEIGHT-1M", str(self.limiter.used_weight(now)))]
            if route.counts_order:
                ten_s, one_m = self.limiter.order_counts(now)
                out_headers += [
                    ("X-MBX-ORDER-COUNT-10S", str(ten_s)),
                    ("X-MBX-ORDER-COUNT-1M", str(one_m)),
                ]
        out_headers += list(extra)
        if raw is not None:
            status, payload, content_type = raw
            code = None
        else:
            # compact, as Binance writes it: clients that match '"code":-2011' in a message work
            payload = json.dumps(body, separators=(",", ":")).encode()
            content_type = "application/json"
            code = body.get("code") if isinstance(body, dict) and status != 200 else None
        out_headers.append(("Content-Type", content_type))
        record = RequestRecord(
            method,
            path,
            params,
            dict(headers),
            status,
            route.security is auth.Security.SIGNED,
            weight,
            code,
        )
        with self._log_lock:
            self.request_log.append(record)
        drop = self.hooks.run_after(method, path, params)
        return Response(status, payload, out_headers, delay_s, drop)


def _fault_error(name: str, options: Json) -> SimError:
    if name == "raw":  # not executed; the fault's raw answer replaces this one
        return SimError(200, 0, "")
    if name == "503_after_execute":
        return errors.unknown_error_503()
    if name == "429":
        return errors.too_many_requests(2400, int(options.get("retry_after_s", 1)))
    if name == "-1021":
        return errors.timestamp_outside_window()
    if name == "-1007":
        return errors.timeout_1007(int(options.get("status", 408)))
    raise ValueError(name)
