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
synced append and on close, and verify compares it in full (seq and hash).

Someone who can write the state dir can recompute every hash and rewrite HEAD,
so two anchors live outside the journal's directory. With a key (``BOT_AUDIT_KEY``,
never stored in the state dir) every record also carries ``mac``, an HMAC-SHA256
of its hash: a record cannot be forged, and because the hash chains over ``prev``
neither can the chain up to it. And the runtime writes the head (seq and hash) to
the rotating log at every start and stop; verify takes those lines as
:class:`HeadClaim` s and checks the journal still holds each one, which catches a
truncation back to an earlier, validly-MACed record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from bot.files import write_atomic
from bot.redact import Redactor

GENESIS = "0" * 64
FILE_PREFIX = "audit-"
FILE_SUFFIX = ".jsonl"
HEAD_FILE = "HEAD"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
RECORD_FIELDS = ("seq", "ts", "kind", "data", "prev", "hash")
KEYED_RECORD_FIELDS = (*RECORD_FIELDS, "mac")
_UNHASHED = ("hash", "mac")


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
    """SHA-256 of the record without ``hash`` and ``mac`` (the MAC signs the hash)."""
    body = {key: value for key, value in record.items() if key not in _UNHASHED}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def record_mac(key: bytes, digest: str) -> str:
    """HMAC-SHA256 of a record's hash under the audit key."""
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def _hash_and_serialise(record: dict[str, Any], mac_base: hmac.HMAC | None = None) -> str:
    """Set ``record["hash"]`` (and ``record["mac"]`` when keyed) and return the
    record's journal line, serialising the data once. Sorted keys put ``data`` first
    and ``hash`` right after it, so the hashed text and the line share their pieces;
    :func:`verify` recomputes the hash with :func:`record_hash`, which is the
    definition this must agree with. ``mac_base`` is a keyed HMAC to copy."""
    data = canonical(record["data"])
    rest = canonical({key: value for key, value in record.items() if key != "data"})
    digest = hashlib.sha256(f'{{"data":{data},{rest[1:]}'.encode()).hexdigest()
    record["hash"] = digest
    if mac_base is None:
        return f'{{"data":{data},"hash":"{digest}",{rest[1:]}\n'
    keyed = mac_base.copy()
    keyed.update(digest.encode())
    record["mac"] = mac = keyed.hexdigest()
    return f'{{"data":{data},"hash":"{digest}","mac":"{mac}",{rest[1:]}\n'


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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        key: bytes | None = None,
    ) -> None:
        """``key`` (the audit key, kept out of the state dir) adds a MAC to every record."""
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._redactor = redactor or Redactor()
        self._clock = clock
        self._lock = threading.Lock()
        self._mac_base = hmac.new(key, digestmod=hashlib.sha256) if key else None
        self._seq, self._head_hash, self._file_number = self._read_tail()
        self._file = self._open(self._file_number)

    @property
    def seq(self) -> int:
        """Sequence number of the last record written (0 before the first)."""
        return self._seq

    @property
    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record written: what the runtime logs as an anchor."""
        with self._lock:
            return self._seq, self._head_hash

    @property
    def directory(self) -> Path:
        return self._directory

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
            line = _hash_and_serialise(record, self._mac_base)
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

    def _open(self, number: int) -> TextIO:
        path = self._directory / f"{FILE_PREFIX}{number:06d}{FILE_SUFFIX}"
        return path.open("a", encoding="utf-8")

    def _rotate(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file_number += 1
        self._file = self._open(self._file_number)

    def _write_head(self) -> None:
        # contents fsynced (never a zero-length HEAD after a crash); a lost rename only
        # leaves the previous HEAD, which may lag the journal by design
        head = json.dumps({"seq": self._seq, "hash": self._head_hash})
        write_atomic(self._directory / HEAD_FILE, head, sync_directory=False)

    def _read_tail(self) -> tuple[int, str, int]:
        files = journal_files(self._directory)
        for path in reversed(files):
            lines = path.read_bytes().splitlines()
            if not lines:
                continue
            try:
                last = json.loads(lines[-1])
                seq, digest = int(last["seq"]), str(last["hash"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise AuditCorrupted(
                    f"last record of {path} is unreadable ({exc}); "
                    "run 'python main.py verify-audit' before trading again"
                ) from exc
            if record_hash(last) != digest:
                raise AuditCorrupted(f"last record of {path} (seq {seq}) does not match its hash")
            return seq, digest, int(path.name[len(FILE_PREFIX) : -len(FILE_SUFFIX)])
        return 0, GENESIS, 1


@dataclass(frozen=True)
class HeadClaim:
    """A head (seq and hash) recorded outside the journal, and where (``bot.log:12``)."""

    seq: int
    hash: str
    place: str


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`. ``place`` names the file and line (or ``HEAD``)."""

    records: int
    bad_seq: int | None = None
    reason: str | None = None
    place: str | None = None
    keyed: bool = False  # the records carry MACs
    macs_checked: bool = False  # ... and they were checked against the key
    heads_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.bad_seq is None and self.reason is None


class _Broken(Exception):
    """Internal: the first break found, raised out of the walk over the records."""

    def __init__(self, bad_seq: int, reason: str, place: str) -> None:
        super().__init__(reason)
        self.bad_seq, self.reason, self.place = bad_seq, reason, place


def _parse(line: bytes, place: str, after: int) -> dict[str, Any]:
    """One journal line as a record with fields of the right types, or :class:`_Broken`."""
    try:
        record = json.loads(line.decode("utf-8"))
        if not isinstance(record, dict):
            raise ValueError(f"a JSON {type(record).__name__}, not a record")
        if set(record) not in (set(RECORD_FIELDS), set(KEYED_RECORD_FIELDS)):
            raise ValueError("not a journal record")
        if type(record["seq"]) is not int:
            raise ValueError("seq is not an integer")
        if not all(isinstance(record[f], str) for f in ("ts", "kind", "prev", "hash")):
            raise ValueError("ts, kind, prev and hash must be strings")
        if not isinstance(record.get("mac", ""), str):
            raise ValueError("mac must be a string")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise _Broken(after + 1, f"broken JSON at {place} ({exc})", place) from None
    return record


def _records(files: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(place, record)`` in chain order; a file that cannot be read is broken."""
    after = 0
    for path in files:
        try:
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            raise _Broken(after + 1, f"cannot read {path.name} ({exc})", path.name) from None
        for number, line in enumerate(lines, 1):
            place = f"{path.name}:{number}"
            record = _parse(line, place, after)
            after = record["seq"]
            yield place, record


def _read_head(head_file: Path) -> tuple[int, str] | None:
    if not head_file.exists():
        return None
    try:
        head = json.loads(head_file.read_bytes().decode("utf-8"))
        seq, digest = head["seq"], head["hash"]
        if type(seq) is not int or not isinstance(digest, str):
            raise TypeError("seq must be an integer and hash a string")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise _Broken(0, f"HEAD is unreadable ({exc})", HEAD_FILE) from None
    return seq, digest


def verify(
    path: Path, *, key: bytes | None = None, heads: Sequence[HeadClaim] = ()
) -> Verification:
    """Check a journal directory (or one file) and name the first bad record.

    With ``key`` every record must carry a valid MAC. ``heads`` (from the log) must
    each be a record of this journal. Never raises on bad input: garbage anywhere is
    reported as a break with its place.
    """
    path = Path(path)
    try:
        return _verify(path, key, heads)
    except _Broken as broken:
        return Verification(0, broken.bad_seq, broken.reason, broken.place)


def _verify(path: Path, key: bytes | None, heads: Sequence[HeadClaim]) -> Verification:
    files = [path] if path.is_file() else journal_files(path)
    head = _read_head(path / HEAD_FILE) if path.is_dir() else None
    wanted = {claim.seq: claim for claim in heads}
    if head is not None:
        wanted.setdefault(head[0], HeadClaim(head[0], head[1], HEAD_FILE))
    found: dict[int, str] = {}
    count, keyed, mac_base = 0, False, hmac.new(key, digestmod=hashlib.sha256) if key else None
    expected_seq, expected_prev, started = 1, GENESIS, not path.is_file()
    pending = list(_records(files))
    # the records are all parsed before the chain is walked: "reordered" vs "deleted"
    # needs to know which sequence numbers come later
    for index, (place, record) in enumerate(pending):
        seq = record["seq"]
        if not started:
            expected_seq, expected_prev, started = seq, record["prev"], True
        if seq > expected_seq:
            later = {r["seq"] for _, r in pending[index + 1 :]}
            why = "reordered" if expected_seq in later else "deleted"
            raise _Broken(expected_seq, f"{why}: expected seq {expected_seq}, found {seq}", place)
        if seq < expected_seq:
            twice = sum(1 for _, r in pending if r["seq"] == seq) > 1
            why = "inserted" if twice else "reordered"
            raise _Broken(seq, f"{why}: seq {seq} appears after seq {expected_seq - 1}", place)
        if record_hash(record) != record["hash"]:
            raise _Broken(seq, "edited: the record does not match its hash", place)
        if record["prev"] != expected_prev:
            raise _Broken(
                seq - 1,
                f"edited or inserted: seq {seq} does not link to the record before it",
                place,
            )
        if "mac" in record:
            keyed = True
        if mac_base is not None:
            mac = mac_base.copy()
            mac.update(record["hash"].encode())
            if not hmac.compare_digest(mac.hexdigest(), record.get("mac", "")):
                why = "has no MAC" if "mac" not in record else "has a MAC that the key did not make"
                raise _Broken(seq, f"forged: seq {seq} {why} (BOT_AUDIT_KEY)", place)
        if seq in wanted:
            found[seq] = record["hash"]
        expected_seq, expected_prev = seq + 1, record["hash"]
        count += 1
    last = expected_seq - 1
    for claim in sorted(wanted.values(), key=lambda c: c.seq):
        if claim.seq == 0 and claim.hash == GENESIS:
            continue
        if claim.seq > last:
            raise _Broken(
                last + 1,
                f"truncated: journal ends at seq {last}, {claim.place} says seq {claim.seq}",
                claim.place,
            )
        if found.get(claim.seq) != claim.hash:
            raise _Broken(
                claim.seq,
                f"rewritten: seq {claim.seq} is not the record {claim.place} names "
                f"(hash {claim.hash[:12]}…)",
                claim.place,
            )
    macs_checked = mac_base is not None and count > 0
    return Verification(count, keyed=keyed, macs_checked=macs_checked, heads_checked=len(heads))
