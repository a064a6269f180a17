"""Tamper-evident audit journal: append-only JSONL with a SHA-256 hash chain.

Every decision, order, fill and error the bot makes becomes one record. Each
record carries a gap-free ``seq``, the hash of the previous record (``prev``)
and its own ``hash`` over the canonical JSON of the record without ``hash``, so
editing, deleting, inserting or reordering any record breaks the chain at a
place :func:`verify` can name. The chain continues across restarts and across
size-based rotation (the first record of a new file links to the last of the
old one). Secrets are redacted *before* hashing, so a verified journal never
needs to contain one.

Truncation of whole records at the end cannot be seen from the records alone:
the journal keeps a ``HEAD`` file (last seq and hash), rewritten on every
synced append and on close, and verify reports a journal shorter than its head.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from bot.redact import Redactor

GENESIS = "0" * 64
FILE_PREFIX = "audit-"
FILE_SUFFIX = ".jsonl"
HEAD_FILE = "HEAD"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
RECORD_FIELDS = ("seq", "ts", "kind", "data", "prev", "hash")


class AuditCorrupted(RuntimeError):
    """The journal's tail cannot be continued; run ``main.py verify-audit`` to see why."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date | Path | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} to the audit journal")


# Built once: json.dumps with non-default options would build a new encoder per call.
_canonical_json = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable
).encode


def canonical(record: dict[str, Any]) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8."""
    return _canonical_json(record)


def record_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def _hash_and_serialise(record: dict[str, Any]) -> str:
    """Set ``record["hash"]`` and return the record's journal line, serialising the
    data once. Sorted keys put ``data`` first and ``hash`` right after it, so the
    hashed text and the line share their pieces; :func:`verify` recomputes the hash
    with :func:`record_hash`, which is the definition this must agree with."""
    data = canonical(record["data"])
    rest = canonical({key: value for key, value in record.items() if key != "data"})
    digest = hashlib.sha256(f'{{"data":{data},{rest[1:]}'.encode()).hexdigest()
    record["hash"] = digest
    return f'{{"data":{data},"hash":"{digest}",{rest[1:]}\n'


def _utc_stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def journal_files(directory: Path) -> list[Path]:
    """Journal files in chain order (their names carry a zero-padded number)."""
    return sorted(directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))


class AuditJournal:
    """Appends hash-chained records; safe to call from any thread."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        redactor: Redactor | None = None,
        clock=lambda: datetime.now(UTC),
    ) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._redactor = redactor or Redactor()
        self._clock = clock
        self._lock = threading.Lock()
        self._seq, self._head_hash, self._file_number = self._read_tail()
        self._file = self._open(self._file_number)

    @property
    def seq(self) -> int:
        """Sequence number of the last record written (0 before the first)."""
        return self._seq

    def append(self, kind: str, data: dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
        """Write one record. ``sync=True`` fsyncs before returning: use it for
        anything written before an order is sent, so a crash cannot lose it."""
        with self._lock:
            if self._file.tell() >= self._max_bytes:
                self._rotate()
            record = {
                "seq": self._seq + 1,
                "ts": _utc_stamp(self._clock()),
                "kind": kind,
                "data": self._safe(data),
                "prev": self._head_hash,
            }
            line = _hash_and_serialise(record)
            self._file.write(line)
            self._file.flush()
            self._seq, self._head_hash = record["seq"], record["hash"]
            if sync:
                os.fsync(self._file.fileno())
                self._write_head()
            return record

    def _safe(self, value: Any) -> Any:
        """``value`` as JSON-native data with every string redacted, in one walk (what a
        JSON round trip and then redacting each string would give): Decimals and the
        other non-JSON types become their ``_jsonable`` text, redacted like any text.
        The exact-type checks come first: they are the common cases of a fill record."""
        kind = value.__class__
        if kind is str:
            return self._redactor.text(value)
        if kind is Decimal:
            return self._redactor.text(f"{value:f}")
        if kind is int or value is None:
            return value
        if isinstance(value, str):  # str subclasses, e.g. str enums
            return self._redactor.text(value)
        if isinstance(value, dict):
            return {key: self._safe(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._safe(item) for item in value]
        if isinstance(value, bool | int | float):
            return value
        return self._safe(_jsonable(value))

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._write_head()

    def __enter__(self) -> AuditJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self, number: int):
        path = self._directory / f"{FILE_PREFIX}{number:06d}{FILE_SUFFIX}"
        return path.open("a", encoding="utf-8")

    def _rotate(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file_number += 1
        self._file = self._open(self._file_number)

    def _write_head(self) -> None:
        tmp = self._directory / f"{HEAD_FILE}.tmp"
        tmp.write_text(json.dumps({"seq": self._seq, "hash": self._head_hash}), encoding="utf-8")
        os.replace(tmp, self._directory / HEAD_FILE)

    def _read_tail(self) -> tuple[int, str, int]:
        files = journal_files(self._directory)
        for path in reversed(files):
            lines = path.read_text(encoding="utf-8").splitlines()
            if not lines:
                continue
            try:
                last = json.loads(lines[-1])
                seq, digest = int(last["seq"]), str(last["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditCorrupted(
                    f"last record of {path} is unreadable ({exc}); "
                    "run 'python main.py verify-audit' before trading again"
                ) from exc
            if record_hash(last) != digest:
                raise AuditCorrupted(f"last record of {path} (seq {seq}) does not match its hash")
            return seq, digest, int(path.name[len(FILE_PREFIX) : -len(FILE_SUFFIX)])
        return 0, GENESIS, 1


@dataclass(frozen=True)
class Verification:
    records: int
    bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_seq is None and self.reason is None


def _load_records(files: list[Path]) -> tuple[list[dict[str, Any]], Verification | None]:
    records: list[dict[str, Any]] = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or set(record) != set(RECORD_FIELDS):
                    raise ValueError("not a journal record")
                int(record["seq"])
            except (ValueError, TypeError) as exc:
                after = records[-1]["seq"] if records else 0
                return records, Verification(
                    len(records), int(after) + 1, f"broken JSON at {path.name}:{number} ({exc})"
                )
            records.append(record)
    return records, None


def verify(path: Path) -> Verification:
    """Check a journal directory (or one file) and name the first bad record."""
    path = Path(path)
    files = [path] if path.is_file() else journal_files(path)
    records, broken = _load_records(files)
    if broken:
        return broken
    seen = {int(record["seq"]) for record in records}
    expected_seq, expected_prev = 1, GENESIS
    if path.is_file() and records:
        expected_seq, expected_prev = int(records[0]["seq"]), records[0]["prev"]
    for index, record in enumerate(records):
        seq = int(record["seq"])
        if seq > expected_seq:
            later = {int(r["seq"]) for r in records[index + 1 :]}
            why = "reordered" if expected_seq in later else "deleted"
            return Verification(
                index, expected_seq, f"{why}: expected seq {expected_seq}, found {seq}"
            )
        if seq < expected_seq:
            count = sum(1 for r in records if int(r["seq"]) == seq)
            why = "inserted" if count > 1 else "reordered"
            return Verification(
                index, seq, f"{why}: seq {seq} appears after seq {expected_seq - 1}"
            )
        if record_hash(record) != record["hash"]:
            return Verification(index, seq, "edited: the record does not match its hash")
        if record["prev"] != expected_prev:
            return Verification(
                index,
                seq - 1,
                f"edited or inserted: seq {seq} does not link to the record before it",
            )
        expected_seq, expected_prev = seq + 1, record["hash"]
    head_file = (path if path.is_dir() else path.parent) / HEAD_FILE
    if path.is_dir() and head_file.exists():
        head = json.loads(head_file.read_text(encoding="utf-8"))
        if int(head["seq"]) >= expected_seq and int(head["seq"]) not in seen:
            return Verification(
                len(records),
                expected_seq,
                f"truncated: journal ends at seq {expected_seq - 1}, HEAD says {head['seq']}",
            )
    return Verification(len(records))
