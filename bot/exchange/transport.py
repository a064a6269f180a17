"""One HTTP request to Binance, done safely: the only module that touches the SDK.

It adds what ``binance-futures-connector`` 4.2.0 lacks: a timeout on every
request, the server-time offset in signed requests (and one retry after
-1021), weight accounting from ``X-MBX-USED-WEIGHT-1M`` with a slow-down
before the budget is spent, ``Retry-After`` after a 429, a hard stop after a
418, refusal of writes in read-only (dry-run) mode, and mapping of every SDK /
``requests`` failure to our own exception types (``errors.py``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import TypedDict, TypeVar

import requests
from binance.error import ClientError, ServerError
from binance.error import Error as SdkError
from binance.um_futures import UMFutures
from requests.adapters import BaseAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.exchange import replies
from bot.exchange.errors import (
    AUTH_CODES,
    NOT_FOUND_CODES,
    RATE_LIMIT_CODES,
    TIMESTAMP_CODE,
    UNKNOWN_OUTCOME_CODES,
    AuthError,
    ExchangeError,
    IpBanned,
    MalformedReply,
    NotFound,
    RateLimited,
    ReadOnlyViolation,
    Rejected,
    Transient,
    UnknownOutcome,
)

log = logging.getLogger(__name__)

WEIGHT_LIMIT_1M = 2400  # REQUEST_WEIGHT per IP per minute
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
T = TypeVar("T")
RequestObserver = Callable[[str, str, float], None]  # method, path, seconds (answered or not)


class Auth(Enum):
    """What a request needs: nothing, the API key header (USER_STREAM), or a signature."""

    PUBLIC = "public"
    KEY = "key"
    SIGNED = "signed"


class SdkReply(TypedDict):
    """What the SDK returns with ``show_header=True``: the response headers and the
    decoded JSON body (untrusted: ``replies`` checks its shape)."""

    header: Mapping[str, str]
    data: object


class _SignedUMFutures(UMFutures):  # type: ignore[misc]  # the binance SDK ships no types
    """UMFutures whose signed requests carry the server-time offset.

    The SDK stamps requests with the local clock and mutates the caller's dict;
    this copy never touches the caller's dict, so a resend is signed afresh.
    """

    def __init__(
        self,
        key: str,
        secret: str,
        *,
        base_url: str,
        timeout: float,
        wall_s: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            key=key, secret=secret, base_url=base_url, timeout=timeout, show_header=True
        )
        self.offset_ms = 0
        self.on_request: RequestObserver | None = None
        self.wall_s = wall_s

    def send_request(
        self,
        http_method: str,
        url_path: str,
        payload: Mapping[str, object] | None = None,
        special: bool = False,
    ) -> SdkReply:
        """Every request (public, keyed, signed) passes here: timed for ``on_request``,
        by the path alone (its parameters travel apart, so the label set stays small)."""
        started = time.perf_counter()
        try:
            reply: SdkReply = super().send_request(http_method, url_path, payload, special)
            return reply
        finally:
            self._observed(http_method, url_path, time.perf_counter() - started)

    def _observed(self, method: str, path: str, seconds: float) -> None:
        """A failing observer must never change what the request returned or raised."""
        observer = self.on_request
        if observer is None:
            return
        try:
            observer(method, path, seconds)
        except Exception:
            log.exception("request observer failed on %s %s", method, path)

    def sign_request(
        self,
        http_method: str,
        url_path: str,
        payload: Mapping[str, object] | None = None,
        special: bool = False,
    ) -> SdkReply:
        signed = {**(payload or {}), "timestamp": int(self.wall_s() * 1000) + self.offset_ms}
        signed["signature"] = self._get_sign(self._prepare_params(signed, special))
        reply: SdkReply = self.send_request(http_method, url_path, signed, special)
        return reply


def wire_params(params: Mapping[str, object] | None) -> dict[str, object]:
    """A fresh dict of wire values: Decimals as plain strings; floats and bools refused.

    The SDK would send a float as ``1e-05`` (-1111) and ``True`` as ``"True"``.
    """
    wire: dict[str, object] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool | float):
            raise TypeError(
                f"parameter {name}={value!r}: send a Decimal or a string, never a float/bool"
            )
        wire[name] = f"{value:f}" if isinstance(value, Decimal) else value
    return wire


def _code_of(text: str) -> int | None:
    """Binance's error code from a raw 5xx body (the SDK leaves ServerError.message as text)."""
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``Retry-After``; None when absent or not a finite, non-negative number."""
    try:
        seconds = float(headers["Retry-After"]) if headers and "Retry-After" in headers else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


class Transport:
    """Sends requests through the SDK and enforces the rules above. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout_s: float,
        recv_window_ms: int,
        weight_budget_share: float,
        read_only: bool,
        on_alarm: Callable[[str, dict[str, object]], None] | None,
        sleep: Callable[[float], None],
        attempts: int = 4,
        adapter: BaseAdapter | None = None,
        on_request: RequestObserver | None = None,
        wall_s: Callable[[], float] = time.time,
    ) -> None:
        """``wall_s``: the local clock (epoch seconds) that signs requests; a backtest's
        is the engine's clock, the only clock of a replay."""
        self._sdk = _SignedUMFutures(
            api_key, api_secret, base_url=base_url, timeout=timeout_s, wall_s=wall_s
        )
        self._sdk.on_request = on_request  # metrics: latency per endpoint
        if adapter is not None:  # the venue in this process: answered without a socket
            self._sdk.session.mount(f"{base_url}/", adapter)
            # not a network: no proxy or netrc from the environment (requests reads them
            # on every request otherwise)
            self._sdk.session.trust_env = False
        self._wall_s = wall_s
        self._base_url = base_url
        self._recv_window_ms = recv_window_ms
        self._budget = int(WEIGHT_LIMIT_1M * weight_budget_share)
        self.read_only = read_only
        self._on_alarm = on_alarm
        self._sleep = sleep
        self._attempts = attempts
        self._lock = threading.Lock()
        self._pause_until = 0.0  # monotonic; set by a 429's Retry-After
        self._banned_until = 0.0  # monotonic; set by a 418
        self.used_weight_1m = 0
        self.weight_spent = 0
        self.writes_sent = 0  # signed non-GET requests that left the process

    # --- public -----------------------------------------------------------------

    @property
    def offset_ms(self) -> int:
        return self._sdk.offset_ms

    @offset_ms.setter
    def offset_ms(self, value: int) -> None:
        self._sdk.offset_ms = value

    def request(
        self, method: str, path: str, params: Mapping[str, object] | None = None, *, auth: Auth
    ) -> object:
        """Send once (plus one resend after -1021 and a time resync). Raises ``ExchangeError``s."""
        write = auth is Auth.SIGNED and method != "GET"
        if write and self.read_only:
            raise ReadOnlyViolation(f"read-only (dry-run) client refused to send {method} {path}")
        payload = wire_params(params)
        if auth is Auth.SIGNED:
            payload.setdefault("recvWindow", self._recv_window_ms)
        if write:
            self.writes_sent += 1
        try:
            return self._send(method, path, payload, auth, write)
        except Rejected as rejected:
            if rejected.code != TIMESTAMP_CODE:
                raise
        # -1021 means refused, not executed: resync and resend once, even a write.
        log.warning("%s %s: -1021 timestamp outside recvWindow; resyncing time", method, path)
        self.sync_time()
        return self._send(method, path, payload, auth, write)

    def retrying(
        self,
        call: Callable[[], T],
        *,
        retry_on: tuple[type[ExchangeError], ...] = (Transient, RateLimited),
    ) -> T:
        """Run ``call`` with bounded retries on ``retry_on`` (exponential back-off + jitter).

        A 429's ``Retry-After`` is honoured by the pause before the next request, so
        the back-off adds nothing to it. Only for calls that are safe to repeat.
        """
        backoff = wait_exponential_jitter(multiplier=0.2, max=5, jitter=0.2)

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome is not None else None
            return 0.0 if isinstance(failure, RateLimited) else backoff(state)

        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait,
            retry=retry_if_exception_type(retry_on),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(call)

    def sync_time(self) -> int:
        """Measure the server-time offset (ms) and use it for every later signed request."""
        before = self._wall_s() * 1000
        reply = self.request("GET", "/fapi/v1/time", auth=Auth.PUBLIC)
        server = replies.integer(replies.obj(reply, "time"), "serverTime", "time")
        after = self._wall_s() * 1000
        self.offset_ms = int(server - (before + after) / 2)
        return self.offset_ms

    def close(self) -> None:
        self._sdk.session.close()

    # --- one request ----------------------------------------------------------------

    def _send(
        self, method: str, path: str, payload: dict[str, object], auth: Auth, write: bool
    ) -> object:
        self._before_request(method, path)
        response: SdkReply
        try:
            if auth is Auth.SIGNED:
                response = self._sdk.sign_request(method, path, payload)
            elif auth is Auth.KEY:
                response = self._sdk.limit_request(method, path, payload)
            else:
                response = self._sdk.send_request(method, path, payload)
        except ClientError as error:
            self._note_weight(error.header)
            raise self._client_error(error, method, path, write) from None
        except ServerError as error:
            raise self._server_error(error, method, path, write) from None
        except requests.ConnectTimeout as error:
            raise Transient(
                f"{method} {path}: could not connect ({type(error).__name__})"
            ) from None
        except requests.RequestException as error:
            reason = f"{method} {path}: {type(error).__name__} (no response)"
            raise (UnknownOutcome(reason) if write else Transient(reason)) from None
        except SdkError as error:
            raise ExchangeError(f"{method} {path}: SDK refused the parameters: {error}") from None
        except (KeyError, TypeError) as error:
            # The SDK reads a 4xx JSON body as {"code", "msg"}; anything else breaks it.
            reason = f"{method} {path}: unreadable error reply ({type(error).__name__} {error})"
            raise (UnknownOutcome(reason) if write else MalformedReply(reason)) from None
        self._note_weight(response["header"])
        return response["data"]

    def _before_request(self, method: str, path: str) -> None:
        """Refuse during an IP ban; wait out a 429 pause; slow down near the weight budget."""
        now = time.monotonic()
        with self._lock:
            banned_for = self._banned_until - now
            pause = max(self._pause_until - now, 0.0)
            self._pause_until = 0.0
            if pause == 0 and self.used_weight_1m >= self._budget:
                pause = self._seconds_to_next_minute()
                log.warning(
                    "used weight %s/%s reached the budget %s; pausing %.1f s before %s %s",
                    self.used_weight_1m,
                    WEIGHT_LIMIT_1M,
                    self._budget,
                    pause,
                    method,
                    path,
                )
                self.used_weight_1m = 0
        if banned_for > 0:
            raise IpBanned(banned_for, f"{method} {path} not sent: IP ban in force")
        if pause > 0:
            self._sleep(pause)

    def _seconds_to_next_minute(self) -> float:
        server_ms = self._wall_s() * 1000 + self.offset_ms
        return max(1.0, 60 - (server_ms / 1000) % 60)

    def _note_weight(self, headers: Mapping[str, str] | None) -> None:
        value = (headers or {}).get(WEIGHT_HEADER)
        if value is None:
            return
        try:
            used = int(value)
        except ValueError:
            log.warning("ignoring unreadable %s header %r", WEIGHT_HEADER, value)
            return
        with self._lock:
            # A drop means a new minute started: everything used so far is this request's.
            self.weight_spent += used - self.used_weight_1m if used >= self.used_weight_1m else used
            self.used_weight_1m = used

    # --- error mapping ----------------------------------------------------------------

    def _client_error(
        self, error: ClientError, method: str, path: str, write: bool
    ) -> ExchangeError:
        status, code, message = error.status_code, error.error_code, str(error.error_message)
        where = f"{method} {path}"
        if status == 418:
            retry_after = _retry_after_s(error.header) or 120.0
            with self._lock:
                self._banned_until = time.monotonic() + retry_after
            detail = {
                "reason": f"{where}: IP banned by Binance (418) for {retry_after:.0f} s: {message}",
                "path": path,
                "retry_after_s": retry_after,
                "code": code,
                "message": message,
            }
            log.error("%s: IP banned by Binance (418) for %.0f s: %s", where, retry_after, message)
            if self._on_alarm is not None:
                self._on_alarm("ip_banned", detail)
            return IpBanned(retry_after, f"{where}: IP banned (418): {message}")
        if status == 429 or code in RATE_LIMIT_CODES:
            retry_after = _retry_after_s(error.header) or self._seconds_to_next_minute()
            with self._lock:
                self._pause_until = max(self._pause_until, time.monotonic() + retry_after)
            log.warning("%s: rate limited (429, %s); waiting %.1f s", where, code, retry_after)
            if self._on_alarm is not None:  # audited: the request budget was overrun
                reason = f"{where}: rate limited by Binance ({status}, {code}); paused {retry_after:.0f} s"
                self._on_alarm("rate_limited", {"reason": reason, "path": path, "code": code})
            return RateLimited(retry_after, f"{where}: rate limited ({code} {message})")
        if code in AUTH_CODES or status == 401:
            return AuthError(
                f"{where}: Binance refused the credentials ({code} {message}). Check the API key and"
                f" secret, the key's IP whitelist and permissions, and that the key belongs to"
                f" {self._base_url} (a testnet key does not work on live, nor the reverse)."
            )
        if code in UNKNOWN_OUTCOME_CODES or status == 408:
            reason = f"{where}: execution status unknown ({status} {code} {message})"
            return UnknownOutcome(reason) if write else Transient(reason)
        if code in NOT_FOUND_CODES:
            return NotFound(code, message)
        # A 4xx without a Binance body (e.g. a 403 from the WAF) keeps its HTTP status as -code.
        return Rejected(code if code is not None else -status, message)

    def _server_error(
        self, error: ServerError, method: str, path: str, write: bool
    ) -> ExchangeError:
        code = _code_of(error.message)
        reason = f"{method} {path}: server error {error.status_code} {code or ''}".rstrip()
        # Binance: a 5xx (or -1006/-1007) means the order may exist. Not a failure.
        return UnknownOutcome(reason) if write else Transient(reason)
