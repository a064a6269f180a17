"""The kill switch: a file in the state dir, set by ``emergency-stop``, cleared by ``resume``.

A file rather than a row in ``state.db`` because it must survive the loss of the
store and be readable by every process (``status`` reads it while the service
runs; every order any process sends checks it) without going through the single
writer of trading state.

It is also how ``emergency-stop`` reaches a running service, which holds the
state-dir lock and so the only right to send orders: the command engages the switch
with a :class:`StopRequest`; the service (watching every second) cancels, flattens
if asked, and writes an acknowledgement file naming the request, which the command
waits for.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.files import write_atomic

if TYPE_CHECKING:
    from bot.audit import AuditJournal

KILL_SWITCH_FILE = "KILL_SWITCH"
ACK_FILE = "KILL_SWITCH.ack"


@dataclass(frozen=True)
class StopRequest:
    """An operator's emergency stop for the running service to carry out."""

    id: str
    flatten: bool


@dataclass(frozen=True)
class Acknowledgement:
    """What the service did for a request: its report lines; ``ok`` False if it failed."""

    lines: tuple[str, ...]
    ok: bool


class KillSwitch:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / KILL_SWITCH_FILE
        self.ack_path = Path(state_dir) / ACK_FILE

    @property
    def engaged(self) -> bool:
        return self.path.exists()

    def reason(self) -> str | None:
        if not self.path.exists():
            return None
        record = _read_json(self.path)
        if record is None:
            return "kill switch file is unreadable (treated as engaged)"
        reason = record.get("reason")
        return (
            reason
            if isinstance(reason, str)
            else "kill switch file names no reason (treated as engaged)"
        )

    def engage(self, reason: str, *, request: StopRequest | None = None) -> None:
        record: dict[str, object] = {"reason": reason, "since": datetime.now(UTC).isoformat()}
        if request is not None:
            record["request"] = {"id": request.id, "flatten": request.flatten}
        _write_json(self.path, record)

    def clear(self) -> bool:
        """Returns whether it was engaged."""
        self.ack_path.unlink(missing_ok=True)
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    # --- emergency stop beside a running service -----------------------------------------

    def request_stop(self, *, flatten: bool) -> StopRequest:
        """Engage the switch (no new entry from now on, whoever sends it) with a request."""
        request = StopRequest(secrets.token_hex(8), flatten)
        self.engage("emergency-stop" + (" --flatten" if flatten else ""), request=request)
        return request

    def pending_request(self) -> StopRequest | None:
        """The request in the switch file not acknowledged yet, if any."""
        record = _read_json(self.path) if self.path.exists() else None
        request = record.get("request") if record else None
        if not isinstance(request, dict) or not isinstance(request.get("id"), str):
            return None
        ack = _read_json(self.ack_path) if self.ack_path.exists() else None
        if ack is not None and ack.get("id") == request["id"]:
            return None
        return StopRequest(request["id"], request.get("flatten") is True)

    def acknowledge(self, request: StopRequest, lines: list[str], *, ok: bool = True) -> None:
        record = {"id": request.id, "lines": lines, "ok": ok, "at": datetime.now(UTC).isoformat()}
        _write_json(self.ack_path, record)

    def acknowledgement(self, request: StopRequest) -> Acknowledgement | None:
        ack = _read_json(self.ack_path) if self.ack_path.exists() else None
        if ack is None or ack.get("id") != request.id:
            return None
        lines = ack.get("lines")
        if not isinstance(lines, list):
            return Acknowledgement(("(the acknowledgement lists no actions)",), False)
        return Acknowledgement(tuple(str(line) for line in lines), ack.get("ok") is True)


def stop_entries(switch: KillSwitch, audit: AuditJournal, reason: str) -> bool:
    """Engage the switch and nothing else: open positions keep their orders and stops.
    False (and the file left as it is, so a pending stop request is not overwritten)
    when it was engaged already."""
    if switch.engaged:
        return False
    switch.engage(reason)
    audit.append("kill_switch", {"engaged": True, "flatten": False, "reason": reason}, sync=True)
    return True


def resume(switch: KillSwitch, audit: AuditJournal) -> bool:
    """Clear the switch (``main.py resume``, Telegram ``/resume``); whether it was engaged."""
    was_on = switch.clear()
    audit.append("kill_switch", {"engaged": False, "was_engaged": was_on}, sync=True)
    return was_on


def _read_json(path: Path) -> dict[str, object] | None:
    """A small JSON object written by another process; None if missing, unreadable or not
    an object (writes are atomic, so a torn file means someone else wrote it)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_json(path: Path, record: dict[str, object]) -> None:
    write_atomic(path, json.dumps(record))
