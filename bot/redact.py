"""Masking of secrets in any text that leaves the process (logs, audit records).

The SDK logs full signed URLs at DEBUG (``...&signature=<hex>``) and listenKeys
travel in URLs and payloads, so redaction works on patterns as well as on the
exact values the bot knows (API key, secret, listenKeys learned at run time).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"
_PATTERNS = (
    re.compile(r"(signature=)[0-9A-Za-z%+/=]+"),
    re.compile(r"(listenKey=)[0-9A-Za-z]+"),
    re.compile(r"""(["']listenKey["']\s*:\s*["'])[0-9A-Za-z]+"""),
    re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[0-9A-Za-z-]+", re.IGNORECASE),
    re.compile(r"(/ws/)[0-9A-Za-z]{20,}"),
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
