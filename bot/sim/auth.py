"""Request authentication exactly as Binance checks it (EXCHANGE-FACTS §7).

The signature covers the raw query string plus the raw body, byte for byte, with
`signature` the last parameter; a client that re-encodes or reorders after signing fails
here as it would in production.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from bot.sim import errors

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_AHEAD_MS = 1_000


class Security(Enum):
    NONE = "NONE"  # no key needed (market data)
    USER_STREAM = "USER_STREAM"  # API key header, no signature
    SIGNED = "SIGNED"  # TRADE / USER_DATA: key, signature and timestamp


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check(
    security: Security,
    *,
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: dict[str, str],
    expected_key: str,
    secret: str,
    server_time_ms: int,
) -> None:
    """Raise the SimError Binance would answer, or return when the request is authentic."""
    if security is Security.NONE:
        return
    if api_key != expected_key:
        raise errors.invalid_api_key()
    if security is Security.USER_STREAM:
        return
    total = raw_query + raw_body
    head, sep, signature = total.rpartition("&signature=")
    if not sep:
        if total.startswith("signature="):
            head, signature = "", total[len("signature=") :]
        else:
            raise errors.mandatory("signature")
    if "&" in signature or not hmac.compare_digest(signature.lower(), sign(secret, head)):
        raise errors.invalid_signature()
    timestamp = params.get("timestamp")
    if not timestamp or not timestamp.isdigit():
        raise errors.mandatory("timestamp")
    recv_window = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
    if not recv_window.isdigit():
        raise errors.illegal_value("recvWindow")
    if int(recv_window) > MAX_RECV_WINDOW_MS:
        raise errors.bad_recv_window()
    ts = int(timestamp)
    if ts >= server_time_ms + MAX_AHEAD_MS:
        raise errors.timestamp_ahead()
    if server_time_ms - ts > int(recv_window):
        raise errors.timestamp_outside_window()
