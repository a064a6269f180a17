"""Tamper-evident audit journal: append-only JSONL with a SHA-256 hash chain.

Every decision, order, fill and error the bot makes becomes one record. Each
record carries a gap-free ``seq``, the hash of the previous record (``prev``)
and its own ``hash`` over the canonical JSON of the record without ``hash``, so
editing, deleting, inserting or reordering any record breaks the chain at a
place :func:`verify` can name. The chain continues across restarts and across
rotation (the first record of a new file links to the last of the old one).
Secrets are redacted *before* hashing, so a verified journal never needs to
contain one.

A rotated segment is sealed (compressed, with a ``seal`` record in the chain naming
its sha256 and last hash; see :mod:`bot.audit_segments`), so what start-up must
verify is only the live part after the newest seal, and retention can delete old
segments behind a ``retire`` record that anchors the chain it keeps.

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
import itertools
import json
import logging
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from bot import audit_segments as segments
from bot.files import write_atomic
from bot.redact import Redactor

log = logging.getLogger(__name__)

GENESIS = "0" * 64
FILE_PREFIX = "audit-"
FILE_SUFFIX = ".jsonl"
HEAD_FILE = "HEAD"
DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # the live segment is what start-up verifies
RECORD_FIELDS = ("seq", "ts", "kind", "data", "prev", "hash")
KEYED_RECORD_FIELDS = (*RECORD_FIELDS, "mac")
SEAL_KIND = "seal"  # a sealed segment: its name, first/last seq, last hash, sha256
RETIRE_KIND = "retire"  # sealed segments deleted by retention, each with its last seq and hash
RETIRE_BATCH = 1000  # segments retired by one start at most (the next start goes on)
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


def _next_utc_day(moment: datetime) -> datetime:
    """Midnight UTC after ``moment``: when a segment begun at ``moment`` rotates."""
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=UTC)


def _utc_stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def journal_files(directory: Path) -> list[Path]:
    """The live (not yet sealed) journal files in chain order; see also
    :func:`bot.audit_segments.chain_segments`."""
    return sorted(directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))


class AuditJournal:
    """Appends hash-chained records; safe to call from any thread.

    The live segment rotates when it reaches ``max_bytes`` and at the first record
    of a new UTC day (so retention can go by day); the segment it leaves is sealed
    at once (see :mod:`bot.audit_segments`). Opening the journal finishes any seal
    a crash interrupted."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        key: bytes | None = None,
        retention: timedelta | None = None,
    ) -> None:
        """``key`` (the audit key, kept out of the state dir) adds a MAC to every record.
        ``retention``: sealed segments older than that are retired (see :meth:`retire`)
        when the journal opens and after each seal, so a service that runs for months
        keeps to it too."""
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True)
        self._max_bytes = max_bytes
        self._redactor = redactor or Redactor()
        self._clock = clock
        self._lock = threading.Lock()
        self._mac_base = hmac.new(key, digestmod=hashlib.sha256) if key else None
        segments.remove_partials(self._directory)
        self._seq, self._head_hash = self._read_tail()
        self._file_number = self._live_number()
        self._file = self._open(self._file_number)
        self._file_first_seq, self._rotate_at = self._live_file_start()
        self._retention = retention
        self._observers: list[Callable[[dict[str, Any]], None]] = []
        self._finish_seals()
        self._apply_retention()

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
        anything written before an order is sent, so a crash cannot lose it.
        Observers see the record after it is written (see :meth:`observe`)."""
        with self._lock:
            record = self._append(kind, data, sync)
        for observer in self._observers:
            try:
                observer(record)
            except Exception:
                log.exception("audit observer failed on %s record %d", kind, record["seq"])
        return record

    def observe(self, observer: Callable[[dict[str, Any]], None]) -> None:
        """Call ``observer`` with every record appended from now on, on the appending
        thread, outside the journal's lock, with the record as written (redacted). The
        journal is the one record of what the bot did, so alerts and metrics hang here
        and never need a hook in trading code. An observer must not block (hand work to
        its own thread); one that raises is logged and never stops the append."""
        self._observers.append(observer)

    def retire(self, older_than: datetime) -> list[str]:
        """Delete the oldest sealed segments last written before ``older_than``, after
        a ``retire`` record naming each with its last seq and hash (read from the first
        record of the segment after it), which anchors the chain that is kept. Only a
        prefix of the chain is retired, never the live segment. Returns their names.
        A crash between the record and the deletes is finished by the next call."""
        with self._lock:
            return self._retire(older_than)

    def _apply_retention(self) -> None:
        if self._retention is not None:
            self._retire(self._clock() - self._retention)

    def _retire(self, older_than: datetime) -> list[str]:
        """Under the lock. The record is written without a rotation check, so
        retiring never seals (which retires) from inside itself."""
        chain = segments.chain_segments(self._directory, oldest=RETIRE_BATCH + 1)
        cutoff = older_than.timestamp()
        retired: list[tuple[Path, dict[str, Any]]] = []
        for path, following in itertools.pairwise(chain):
            if not path.name.endswith(segments.SEALED_SUFFIX):
                break
            if path.stat().st_mtime >= cutoff:
                break
            try:
                first = json.loads(segments.first_line(following))
                seq, prev = int(first["seq"]), str(first["prev"])
            except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError):
                break  # unreadable: leave it for verify-audit to report
            retired.append((path, {"segment": path.name, "last_seq": seq - 1, "last_hash": prev}))
        if not retired:
            return []
        entries = [entry for _, entry in retired]
        self._write(
            RETIRE_KIND, {"segments": entries, "older_than": older_than}, self._clock(), True
        )
        for path, _ in retired:
            path.unlink(missing_ok=True)
        segments.fsync_directory(self._directory)
        log.info("audit: %d sealed segments written before %s retired", len(retired), older_than)
        return [path.name for path, _ in retired]

    def _append(self, kind: str, data: dict[str, Any], sync: bool) -> dict[str, Any]:
        now = self._clock()
        if self._file_first_seq is not None and (
            self._file.tell() >= self._max_bytes or now >= self._rotate_at
        ):
            self._rotate()
        return self._write(kind, data, now, sync)

    def _write(self, kind: str, data: dict[str, Any], now: datetime, sync: bool) -> dict[str, Any]:
        record = {
            "seq": self._seq + 1,
            "ts": _utc_stamp(now),
            "kind": kind,
            "data": self._safe(data),
            "prev": self._head_hash,
        }
        line = _hash_and_serialise(record, self._mac_base)
        self._file.write(line)
        self._file.flush()
        self._seq, self._head_hash = record["seq"], record["hash"]
        if self._file_first_seq is None:
            self._file_first_seq, self._rotate_at = self._seq, _next_utc_day(now)
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
        return (self._directory / segments.raw_name(number)).open("a", encoding="utf-8")

    def _rotate(self) -> None:
        """Close the live segment, open the next and seal the one just closed."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        closed = self._directory / segments.raw_name(self._file_number)
        first_seq = self._file_first_seq
        self._file_number += 1
        self._file = self._open(self._file_number)
        self._file_first_seq = None
        self._seal(closed, first_seq or self._seq, self._seq, self._head_hash)
        self._apply_retention()

    def _seal(self, raw: Path, first_seq: int, last_seq: int, last_hash: str) -> None:
        """Compress ``raw``, record the seal in the live chain (fsynced), then delete
        ``raw``: until the seal is recorded the raw file is the authority."""
        packed = segments.compress(raw)
        data = {
            "segment": packed.name,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "last_hash": last_hash,
            "sha256": segments.file_sha256(packed),
            "bytes": packed.stat().st_size,
        }
        self._write(SEAL_KIND, data, self._clock(), True)
        raw.unlink()
        segments.fsync_directory(self._directory)

    def _finish_seals(self) -> None:
        """Seal every raw segment before the live one: what a crash left mid-seal.
        A segment whose seal is already recorded only has its raw file deleted."""
        pending = sorted(n for n in segments.raw_segments(self._directory) if n < self._file_number)
        if not pending:
            return
        recorded = self._recorded_seals()
        for number in pending:
            raw = self._directory / segments.raw_name(number)
            lines = raw.read_bytes().splitlines()
            if segments.sealed_name(number) in recorded or not lines:
                raw.unlink()
                segments.fsync_directory(self._directory)
                continue
            first, last = json.loads(lines[0]), json.loads(lines[-1])
            self._seal(raw, int(first["seq"]), int(last["seq"]), str(last["hash"]))

    def _recorded_seals(self) -> set[str]:
        """Names of the segments sealed by records in the raw (live) files."""
        names = set()
        for path in segments.raw_segments(self._directory).values():
            for line in path.read_bytes().splitlines():
                if b'"kind":"seal"' in line:
                    record = json.loads(line)
                    if record.get("kind") == SEAL_KIND:
                        names.add(str(record["data"]["segment"]))
        return names

    def _write_head(self) -> None:
        # contents fsynced (never a zero-length HEAD after a crash); a lost rename only
        # leaves the previous HEAD, which may lag the journal by design
        head = json.dumps({"seq": self._seq, "hash": self._head_hash})
        write_atomic(self._directory / HEAD_FILE, head, sync_directory=False)

    def _live_number(self) -> int:
        """The live segment: the newest raw file, or a new one after the newest sealed."""
        newest_raw, newest_sealed = segments.newest_numbers(self._directory)
        return newest_raw if newest_raw >= max(newest_sealed, 1) else newest_sealed + 1

    def _live_file_start(self) -> tuple[int | None, datetime]:
        """The live segment's first seq and when it rotates (the UTC day after its first
        record), or (None, any) while it is empty."""
        line = segments.first_line(self._directory / segments.raw_name(self._file_number))
        if not line:
            return None, datetime.max.replace(tzinfo=UTC)
        try:
            first = json.loads(line)
            stamp = datetime.fromisoformat(str(first["ts"]).replace("Z", "+00:00"))
            return int(first["seq"]), _next_utc_day(stamp)
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditCorrupted(
                f"first record of the live segment is unreadable ({exc}); "
                "run 'python main.py verify-audit' before trading again"
            ) from exc

    def _newest_first(self) -> Iterator[Path]:
        """Segments newest first; the tail is in the last two, so the rest is listed only
        when they are empty."""
        yield from reversed(segments.chain_segments(self._directory, newest=3))
        yield from reversed(segments.chain_segments(self._directory)[:-3])

    def _read_tail(self) -> tuple[int, str]:
        for path in self._newest_first():
            try:
                lines, _ = segments.read_segment(path)
            except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
                raise AuditCorrupted(f"{path} is unreadable ({exc})") from exc
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
            return seq, digest
        return 0, GENESIS


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
    segments: int = 0  # files walked
    live_only: bool = False  # only the live segments were walked (the start-up check)

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


def _read(path: Path, after: int) -> tuple[list[bytes], str]:
    try:
        return segments.read_segment(path)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise _Broken(after + 1, f"cannot read {path.name} ({exc})", path.name) from None


def _records(files: Sequence[Path]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Yield ``(file index, place, record)`` in chain order, one file in memory at a time."""
    after = 0
    for index, path in enumerate(files):
        lines, _ = _read(path, after)
        for number, line in enumerate(lines, 1):
            place = f"{path.name}:{number}"
            record = _parse(line, place, after)
            after = record["seq"]
            yield index, place, record


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
    path: Path,
    *,
    key: bytes | None = None,
    heads: Sequence[HeadClaim] = (),
    live_only: bool = False,
) -> Verification:
    """Check a journal directory (or one segment, raw or sealed) and name the first bad
    record.

    A directory is checked across segments: every record (sealed segments
    decompressed), the chain across segment boundaries, each ``seal`` record against
    its file (sha256, first/last seq, last hash), and that the chain starts at seq 1 or
    at a segment a ``retire`` record names. With ``key`` every record must carry a
    valid MAC. ``heads`` (from the log) must each be a record of this journal.

    ``live_only`` (the start-up check) walks only the segments after the newest
    sealed one, checks that they continue exactly where its seal (in the live part)
    says it ends and that the file matches that seal's sha256; heads older than the
    live part are left to a full check. Never raises on bad input: garbage anywhere
    is reported as a break with its place.
    """
    path = Path(path)
    try:
        return _verify(path, key, heads, live_only)
    except _Broken as broken:
        return Verification(0, broken.bad_seq, broken.reason, broken.place)


def _verify(
    path: Path, key: bytes | None, heads: Sequence[HeadClaim], live_only: bool
) -> Verification:
    wanted = list(heads)
    if path.is_file():
        walk = _Walk(None, key, None, {claim.seq for claim in wanted})
        walk.run([path])
        return walk.outcome(walk.check_heads(wanted))
    head = _read_head(path / HEAD_FILE)
    if head is not None and head[0] not in {claim.seq for claim in heads}:
        wanted.append(HeadClaim(head[0], head[1], HEAD_FILE))
    files = segments.chain_segments(path)
    live_from = segments.newest_sealed_without_raw(path) if live_only else None
    if live_from is not None:
        files = [f for f in files if (segments.number_of(f) or 0) > live_from]
    walk = _Walk(path, key, live_from, {claim.seq for claim in wanted})
    walk.run(files)
    walk.check_start()
    return walk.outcome(walk.check_heads(wanted))


@dataclass
class _Walk:
    """One pass over a chain of segments; raises :class:`_Broken` at the first break.

    ``directory`` None: a single file, checked on its own (no seals, no start)."""

    directory: Path | None
    key: bytes | None
    live_from: int | None
    wanted: set[int]  # seqs of the heads to check: only their hashes are kept
    count: int = 0
    keyed: bool = False
    first: tuple[int, str, str] | None = None  # seq, prev, place of the first record
    last_seq: int = 0
    hashes: dict[int, str] = field(default_factory=dict)  # of the wanted seqs
    ranges: dict[int, list[Any]] = field(default_factory=dict)  # segment: first, last, hash
    file_hashes: dict[str, str] = field(default_factory=dict)
    missing: list[tuple[str, int, str]] = field(default_factory=list)  # sealed, not found
    retired: dict[str, tuple[int, str]] = field(default_factory=dict)
    live_anchor_found: bool = False
    files: Sequence[Path] = ()

    def run(self, files: Sequence[Path]) -> None:
        self.files = files
        mac_base = hmac.new(self.key, digestmod=hashlib.sha256) if self.key else None
        expected_seq, expected_prev = 0, GENESIS
        for index, place, record in _records(files):
            seq = record["seq"]
            if self.first is None:
                self.first = (seq, record["prev"], place)
                expected_seq, expected_prev = seq, record["prev"]
            if seq > expected_seq:
                later = self._seqs_after(place)
                why = "reordered" if expected_seq in later else "deleted"
                raise _Broken(
                    expected_seq, f"{why}: expected seq {expected_seq}, found {seq}", place
                )
            if seq < expected_seq:
                twice = sum(1 for _, _, r in _records(files) if r["seq"] == seq) > 1
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
                self.keyed = True
            if mac_base is not None:
                mac = mac_base.copy()
                mac.update(record["hash"].encode())
                if not hmac.compare_digest(mac.hexdigest(), record.get("mac", "")):
                    why = (
                        "has no MAC"
                        if "mac" not in record
                        else "has a MAC that the key did not make"
                    )
                    raise _Broken(seq, f"forged: seq {seq} {why} (BOT_AUDIT_KEY)", place)
            self._note(index, place, record)
            expected_seq, expected_prev = seq + 1, record["hash"]
            self.count += 1
        self.last_seq = expected_seq - 1

    def _seqs_after(self, place: str) -> set[int]:
        """Sequence numbers after ``place`` (only on a break: "reordered" vs "deleted")."""
        seen, later = False, set()
        for _, where, record in _records(self.files):
            if seen:
                later.add(record["seq"])
            seen = seen or where == place
        return later

    def _note(self, index: int, place: str, record: dict[str, Any]) -> None:
        """What later checks need: hashes of seqs, segment ranges, seals, retirements."""
        seq = record["seq"]
        if seq in self.wanted:
            self.hashes[seq] = record["hash"]
        number = segments.number_of(self.files[index])
        if number is not None:
            span = self.ranges.setdefault(number, [seq, seq, record["hash"]])
            span[1], span[2] = seq, record["hash"]
        if self.directory is None:
            return
        if record["kind"] == SEAL_KIND:
            self._check_seal(record, place)
        elif record["kind"] == RETIRE_KIND:
            for entry in _field(record["data"], "segments", list, place):
                if not isinstance(entry, dict):
                    raise _Broken(seq, f"retire record at {place} is malformed", place)
                name = _field(entry, "segment", str, place)
                anchor = (
                    _field(entry, "last_seq", int, place),
                    _field(entry, "last_hash", str, place),
                )
                self.retired[name] = anchor

    def _check_seal(self, record: dict[str, Any], place: str) -> None:
        assert self.directory is not None
        seq, data = record["seq"], record["data"]
        name = _field(data, "segment", str, place)
        number = segments.number_of(Path(name))
        if number is None or name != segments.sealed_name(number):
            raise _Broken(seq, f"seal record at {place} names no segment ({name!r})", place)
        claimed = [
            _field(data, "first_seq", int, place),
            _field(data, "last_seq", int, place),
            _field(data, "last_hash", str, place),
        ]
        digest = _field(data, "sha256", str, place)
        if number in self.ranges and self.ranges[number] != claimed:
            raise _Broken(
                seq,
                f"{name} does not hold what its seal at {place} says "
                f"(seq {claimed[0]}..{claimed[1]})",
                name,
            )
        if number == self.live_from:
            first = self.first
            assert first is not None
            if (first[0], first[1]) != (claimed[1] + 1, claimed[2]):
                raise _Broken(
                    first[0],
                    f"the live segments do not continue {name} where its seal at {place} ends "
                    f"(seq {claimed[1]})",
                    first[2],
                )
            self.live_anchor_found = True
        sealed = self.directory / name
        if not sealed.exists():
            self.missing.append((name, seq, place))
            return
        actual = self.file_hashes.get(name) or segments.file_sha256(sealed)
        self.file_hashes[name] = actual
        if actual != digest:
            raise _Broken(
                claimed[1], f"edited: {name} does not match its seal at {place} (sha256)", name
            )

    def check_start(self) -> None:
        """The kept chain starts at seq 1, at a segment a retire record names, or (live
        only) right after the newest sealed segment's seal; no sealed file is missing."""
        if self.live_from is not None and not self.live_anchor_found:
            name = segments.sealed_name(self.live_from)
            at = self.first[0] if self.first else 0
            why = f"no seal of {name} in the live segments (a later sealed segment is missing)"
            raise _Broken(at, f"deleted: {why}", name)
        if self.first is None:
            return
        seq, prev, place = self.first
        anchored = self.live_from is not None or (seq, prev) == (1, GENESIS)
        if not anchored and (seq - 1, prev) not in self.retired.values():
            raise _Broken(
                max(seq - 1, 1),
                f"deleted: the journal starts at seq {seq} and no retire record names "
                "the segment before it",
                place,
            )
        for name, sealed_seq, sealed_at in self.missing:
            if name not in self.retired:
                raise _Broken(
                    sealed_seq, f"deleted: {name}, sealed at {sealed_at}, is missing", name
                )

    def check_heads(self, wanted: Sequence[HeadClaim]) -> int:
        """Each claimed head is a record of this chain; claims before its first kept
        record (retired, or sealed when only the live part is walked) are skipped.
        Returns how many of the log's were checked (``HEAD`` is not counted)."""
        checked = 0
        start = self.first[0] if self.first else 1
        for claim in sorted(wanted, key=lambda c: c.seq):
            if claim.seq == 0 and claim.hash == GENESIS:
                continue
            if claim.seq > self.last_seq:
                raise _Broken(
                    self.last_seq + 1,
                    f"truncated: journal ends at seq {self.last_seq}, {claim.place} says seq {claim.seq}",
                    claim.place,
                )
            if claim.seq < start:
                continue
            if self.hashes.get(claim.seq) != claim.hash:
                raise _Broken(
                    claim.seq,
                    f"rewritten: seq {claim.seq} is not the record {claim.place} names "
                    f"(hash {claim.hash[:12]}…)",
                    claim.place,
                )
            checked += claim.place != HEAD_FILE
        return checked

    def outcome(self, checked: int) -> Verification:
        return Verification(
            self.count,
            keyed=self.keyed,
            macs_checked=self.key is not None and self.count > 0,
            heads_checked=checked,
            segments=len(self.files),
            live_only=self.live_from is not None,
        )


def _field(data: Any, name: str, kind: type, place: str) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if type(value) is not kind:
        raise _Broken(0, f"the record at {place} has no valid {name}", place)
    return value
