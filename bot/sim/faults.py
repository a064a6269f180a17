"""Fault injection: the next N requests matching a method/path misbehave on purpose.

Faults are the failures that cost real bots money (hummingbot#6033: a 503 treated as a
failure while the order filled), so each one is explicit about whether the request was
executed before the client saw the failure.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.sim.venue import Json

# fault name -> executed before answering?
FAULTS = {
    "503_after_execute": True,
    "delay_after_execute": True,
    "429": False,
    "-1021": False,
    "-1007": True,  # default: executed, answered HTTP 408 -1007 (status unknown); see inject()
    "raw": True,  # answered with options status (200), body (text), content_type; execute=
}


@dataclass
class Fault:
    name: str
    method: str | None
    path: str | None
    remaining: int
    options: Json = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path == path
        )

    @property
    def executes(self) -> bool:
        return bool(self.options.get("execute", FAULTS[self.name]))

    def raw_answer(self) -> tuple[int, bytes, str]:
        """(HTTP status, body bytes, content type) of a "raw" fault."""
        body = self.options.get("body", "")
        return (
            int(self.options.get("status", 200)),
            body.encode() if isinstance(body, str) else bytes(body),
            str(self.options.get("content_type", "application/json")),
        )


class FaultPlan:
    """Armed faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self, name: str, method: str | None, path: str | None, count: int, options: Json
    ) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULTS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(Fault(name, method, path, count, dict(options)))

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted as used; None for a normal answer."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
