"""Our exception types for exchange failures, and the codes that classify them.

Callers decide on these, never on SDK exceptions or raw HTTP codes, so swapping
the SDK touches this package alone.
"""

from __future__ import annotations

BENIGN = frozenset({-4046, -4059})  # "no need to change" margin type / position mode: success
MARGIN_TYPE_HELD_CODES = frozenset({-4047, -4048})  # open orders / a position: not changeable now
UNKNOWN_OUTCOME_CODES = frozenset(
    {-1006, -1007}
)  # Binance: execution status unknown, not a failure
NOT_FOUND_CODES = frozenset({-2011, -2013, -1125})  # unknown order (cancel / query), listenKey
AUTH_CODES = frozenset(
    {-2014, -2015, -1022, -2008}
)  # key format, key/IP/permission, signature, key id
TIMESTAMP_CODE = -1021
DUPLICATE_CLIENT_ID_CODE = -4116
RATE_LIMIT_CODES = frozenset({-1003, -1015})


class ExchangeError(Exception):
    """Base of every error this package raises."""


class Rejected(ExchangeError):
    """Binance refused the request; nothing happened. ``code`` is Binance's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Binance rejected the request: {code} {message}")
        self.code = code
        self.message = message


class NotFound(Rejected):
    """The order / algo order does not exist (-2013, -2011, algo not found)."""


class RateLimited(ExchangeError):
    """429: back off for ``retry_after_s`` before the next request."""

    def __init__(self, retry_after_s: float, message: str = "rate limited (429)") -> None:
        super().__init__(f"{message}; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class IpBanned(ExchangeError):
    """418: the IP is banned. Stop trading; never retried in a loop."""

    def __init__(self, retry_after_s: float, message: str = "IP banned (418)") -> None:
        super().__init__(f"{message}; ban lasts {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class UnknownOutcome(ExchangeError):
    """The request may or may not have been executed (timeout, 5xx, -1006/-1007, or an
    order / cancel reply that is not a well-formed acknowledgement of that request)."""


class Transient(ExchangeError):
    """Nothing was executed and a later try may succeed (connection refused, 5xx on a read)."""


class AuthError(ExchangeError):
    """Fatal: the key, secret, IP whitelist or venue is wrong. Retrying cannot help."""


class ReadOnlyViolation(ExchangeError):
    """A write (order, cancel, account setting) was attempted by a read-only (dry-run) client."""


class SymbolNotTradable(ExchangeError):
    """A configured symbol is not a trading USDC-margined perpetual (config error)."""


class MalformedReply(ExchangeError):
    """A reply that is not the shape Binance documents: not JSON, not an object, an error
    body on a 200, a missing field or a number that does not parse.

    On a read it means the value is unusable; on an order or cancel it means the outcome
    is unknown (the client resolves it by the client id before anything else).
    """
