"""The one writer of ``alarm`` audit records: something an operator must act on.

The App, the OMS and the order desk each raise alarms; they all go through
:func:`raise_alarm`, so every ``alarm`` record has one shape that readers (alerts,
status, tests) can rely on: ``{kind, reason, symbol?, client_id?, ...details}``.
``kind`` is a stable name for what happened (``stop_not_placed``, ``stuck_trigger``,
``forced_close``, ``ip_banned``, ...); ``reason`` is the one line an operator reads.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.logs import FILE_ONLY

log = logging.getLogger(__name__)

# alarms whose raiser already printed its own console line: the log file only
FILE_ONLY_KINDS = frozenset({"rate_limited"})


class Audit(Protocol):
    def append(self, kind: str, data: dict[str, Any], *, sync: bool = False) -> object: ...


def alarm_record(
    kind: str, reason: str, *, symbol: str | None = None, client_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The record's data: the fixed fields first, absent ones left out, then details."""
    record: dict[str, Any] = {"kind": kind, "reason": reason}
    if symbol:
        record["symbol"] = symbol
    if client_id:
        record["client_id"] = client_id
    return {**record, **{key: value for key, value in extra.items() if key not in record}}


def raise_alarm(
    audit: Audit,
    kind: str,
    reason: str,
    *,
    symbol: str | None = None,
    client_id: str | None = None,
    **extra: Any,
) -> None:
    """Log CRITICAL (one line) and append the ``alarm`` record, fsynced."""
    where = " ".join(part for part in (symbol, client_id) if part)
    quiet = FILE_ONLY if kind in FILE_ONLY_KINDS else None
    log.critical("ALARM %s%s: %s", kind, f" {where}" if where else "", reason, extra=quiet)
    record = alarm_record(kind, reason, symbol=symbol, client_id=client_id, **extra)
    audit.append("alarm", record, sync=True)
