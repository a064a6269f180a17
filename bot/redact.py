"""Masking of secrets in any text that leaves the process (logs, audit records).

The SDK logs full signed URLs at DEBUG (``...&signature=<hex>``) and listenKeys
travel in URLs and payloads, so redaction works on patterns as well as on the
exact values the bot knows (API key, secret, the audit key, and every listenKey:
the exchange client registers each one it receives, the first and every
replacement). The SDK logs the reply that carries a new key before the client
sees it, so the patterns must cover every character a key may hold.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"
# What a listenKey may hold: Binance documents no alphabet, so the URL-safe and the
# standard base64 ones (``-_`` and ``+/=``), their percent-encoding, and ``.~``.
_KEY = r"[0-9A-Za-z_.~%+/=-]"
_PATTERNS = (
    re.compile(r"(signature=)[0-9A-Za-z%+/=]+"),
    re.compile(rf"(listenKey=){_KEY}+"),
    re.compile(rf"""(["']listenKey["']\s*:\s*["']){_KEY}+"""),
    re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[0-9A-Za-z-]+", re.IGNORECASE),
    re.compile(rf"(/ws/){_KEY}{{20,}}"),
    # websockets logs long frames with the middle elided ('{"e": ...Y_x7-"}'): the
    # tail of a key is not the key, so no exact match can catch it
    re.compile(r"(\.\.\.)[0-9A-Za-z_~%+/=-]{8,}"),
)
# One scan that finds whether any pattern occurs at all: most text holds no secret,
# and then one search replaces five substitutions.
_ANY_PATTERN = re.compile(
    "|".join(f"(?{'i' if p.flags & re.IGNORECASE else ''}:{p.pattern})" for p in _PATTERNS)
)
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


class Redactor:
    """Replaces known secret values and secret-shaped patterns with ``***``.

    Thread-safe: the stream thread registers new listenKeys while other threads log.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if secret not in self._secrets:
                # longest first, so a secret containing another is masked whole
                self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))

    def text(self, text: str) -> str:
        secrets = self._secrets
        for secret in secrets:
            if secret in text:
                break
        else:
            if _ANY_PATTERN.search(text) is None:
                return text  # the common case: nothing to mask
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{MASK}", text)
        return text
