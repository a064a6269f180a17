"""Sealed audit segments: compressed, verifiable alone and across segments, retired by
age with a record, checked at start-up only where the journal is still live, and a
crash at any step of sealing is finished by the next start."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.audit import AuditJournal, journal_files, verify
from bot.audit_segments import chain_segments, sealed_segments

ROOT = Path(__file__).resolve().parents[2]
DAY1 = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def write_segments(directory: Path, count: int = 4, per_segment: int = 3, key=None) -> None:
    """``count`` sealed segments of ``per_segment`` records, one per UTC day, then a live one."""
    clock = Clock(DAY1 - timedelta(days=count))
    with AuditJournal(directory, clock=clock, key=key) as journal:
        for day in range(count + 1):
            for n in range(per_segment):
                journal.append("fill", {"day": day, "n": n, "qty": "0.010"}, sync=True)
            clock.now += timedelta(days=1)


def records_of(path: Path) -> list[dict]:
    text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [json.loads(line) for line in text.splitlines()]


def all_records(directory: Path) -> list[dict]:
    return [record for path in chain_segments(directory) for record in records_of(path)]


def rewrite_sealed(path: Path, edit) -> None:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress(("\n".join(edit(lines)) + "\n").encode()))


def test_a_new_utc_day_seals_the_segment_and_the_chain_verifies_across_segments(tmp_path):
    write_segments(tmp_path, count=2)
    sealed = sealed_segments(tmp_path)
    assert sorted(p.name for p in sealed.values()) == [
        "audit-000001.jsonl.gz",
        "audit-000002.jsonl.gz",
    ]
    assert [p.name for p in journal_files(tmp_path)] == ["audit-000003.jsonl"]
    seals = [r for r in all_records(tmp_path) if r["kind"] == "seal"]
    first = records_of(sealed[1])
    assert seals[0]["data"]["segment"] == "audit-000001.jsonl.gz"
    assert seals[0]["data"]["last_hash"] == first[-1]["hash"]
    result = verify(tmp_path)
    assert result.ok, result.reason
    assert result.records == 9 + 2 and result.segments == 3
    assert verify(sealed[2]).ok  # a sealed segment verifies alone


def test_size_rotation_seals_too_and_nothing_is_lost(tmp_path):
    with AuditJournal(tmp_path, max_bytes=400) as journal:
        for n in range(20):
            journal.append("order", {"n": n})
    assert len(sealed_segments(tmp_path)) >= 3 and len(journal_files(tmp_path)) == 1
    orders = [r["data"]["n"] for r in all_records(tmp_path) if r["kind"] == "order"]
    assert orders == list(range(20))
    assert verify(tmp_path).ok


def _swap(a: Path, b: Path) -> None:
    spare = a.with_name("spare")
    a.rename(spare)
    b.rename(a)
    spare.rename(b)


def _edit_record(lines):
    record = json.loads(lines[1])
    record["data"]["qty"] = "9.999"
    lines[1] = json.dumps(record)
    return lines


@pytest.mark.parametrize(
    ("damage", "word", "place"),
    [
        (lambda d: rewrite_sealed(d / "audit-000002.jsonl.gz", _edit_record), "edited", "audit-000002.jsonl.gz:2"),
        (lambda d: (d / "audit-000002.jsonl.gz").write_bytes((d / "audit-000002.jsonl.gz").read_bytes()[:-20]), "cannot read", "audit-000002.jsonl.gz"),
        (lambda d: (d / "audit-000002.jsonl.gz").unlink(), "deleted", "audit-000003.jsonl.gz:1"),
        (lambda d: (d / "audit-000001.jsonl.gz").unlink(), "deleted", "audit-000002.jsonl.gz:1"),
        (lambda d: _swap(d / "audit-000002.jsonl.gz", d / "audit-000003.jsonl.gz"), "reordered", "audit-000002.jsonl.gz:1"),
        (lambda d: rewrite_sealed(d / "audit-000002.jsonl.gz", lambda lines: lines), "does not match its seal", "audit-000002.jsonl.gz"),
    ],
    ids=["edited", "truncated-file", "deleted-middle", "deleted-oldest", "reordered", "recompressed"],
)  # fmt: skip
def test_tampering_with_a_sealed_segment_is_reported_with_its_place(tmp_path, damage, word, place):
    write_segments(tmp_path)
    damage(tmp_path)
    result = verify(tmp_path)
    assert not result.ok
    assert word in result.reason and result.place == place, (result.reason, result.place)


def test_startup_check_walks_only_the_live_segment(tmp_path):
    write_segments(tmp_path)
    result = verify(tmp_path, live_only=True)
    assert result.ok and result.live_only
    assert result.segments == 1 and result.records == 3 + 1  # the day's records and a seal
    # an old sealed segment is left to verify-audit: start-up does not read it
    rewrite_sealed(tmp_path / "audit-000002.jsonl.gz", _edit_record)
    assert verify(tmp_path, live_only=True).ok
    assert not verify(tmp_path).ok


@pytest.mark.parametrize(
    ("damage", "word"),
    [
        (lambda d: rewrite_sealed(d / "audit-000004.jsonl.gz", lambda lines: lines), "does not match its seal"),
        (lambda d: (d / "audit-000004.jsonl.gz").unlink(), "deleted"),
        (lambda d: (d / "audit-000005.jsonl").unlink(), "deleted"),
        (lambda d: rewrite_sealed(d / "audit-000004.jsonl.gz", lambda lines: lines[:-1]), "does not match its seal"),
    ],
    ids=["newest-sealed-replaced", "newest-sealed-deleted", "live-deleted", "newest-sealed-cut"],
)  # fmt: skip
def test_startup_check_catches_tampering_with_the_newest_seal_and_the_live_part(
    tmp_path, damage, word
):
    write_segments(tmp_path)
    damage(tmp_path)
    result = verify(tmp_path, live_only=True)
    assert not result.ok and word in result.reason, result.reason


KEY = b"audit-key-kept-outside-the-state-dir"


def test_seal_records_carry_the_mac_and_a_keyed_sealed_journal_verifies(tmp_path):
    write_segments(tmp_path, count=2, key=KEY)
    seals = [r for r in all_records(tmp_path) if r["kind"] == "seal"]
    assert seals and all("mac" in r for r in seals)
    assert verify(tmp_path, key=KEY).ok and verify(tmp_path, key=KEY, live_only=True).ok
    assert not verify(tmp_path, key=b"another-key").ok


def _age(path: Path, days: int) -> None:
    stamp = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))


def test_retention_retires_old_segments_with_a_record_that_keeps_the_rest_verifiable(tmp_path):
    write_segments(tmp_path)
    _age(tmp_path / "audit-000001.jsonl.gz", 500)
    _age(tmp_path / "audit-000002.jsonl.gz", 450)
    kept_first = records_of(tmp_path / "audit-000003.jsonl.gz")[0]
    with AuditJournal(tmp_path) as journal:
        retired = journal.retire(datetime.now(UTC) - timedelta(days=400))
    assert retired == ["audit-000001.jsonl.gz", "audit-000002.jsonl.gz"]
    assert min(sealed_segments(tmp_path)) == 3  # (the live day rotated too: today is later)
    [record] = [r for r in all_records(tmp_path) if r["kind"] == "retire"]
    last = record["data"]["segments"][-1]
    assert (last["last_seq"], last["last_hash"]) == (kept_first["seq"] - 1, kept_first["prev"])
    assert verify(tmp_path).ok and verify(tmp_path, live_only=True).ok
    (tmp_path / "audit-000003.jsonl.gz").unlink()  # not retired: deleted
    result = verify(tmp_path)
    assert not result.ok and "deleted" in result.reason


def test_a_journal_that_stays_open_retires_after_its_next_seal(tmp_path):
    write_segments(tmp_path, count=2)
    clock = Clock(datetime.now(UTC))
    with AuditJournal(tmp_path, clock=clock, retention=timedelta(days=400)) as journal:
        journal.append("fill", {"n": 1})
        _age(tmp_path / "audit-000001.jsonl.gz", 500)  # a service running for a year
        clock.now += timedelta(days=1)
        journal.append("fill", {"n": 2})  # a new day: seals, then retires
    assert not (tmp_path / "audit-000001.jsonl.gz").exists()
    assert [r["kind"] for r in all_records(tmp_path)].count("retire") == 1
    assert verify(tmp_path).ok


def test_a_segment_sealed_while_verify_reads_the_journal_is_read_from_its_twin(tmp_path):
    from bot.audit_segments import read_segment

    with AuditJournal(tmp_path) as journal:
        journal.append("fill", {"n": 1})
    [listed] = journal_files(tmp_path)
    lines, _ = read_segment(listed)
    with AuditJournal(tmp_path, max_bytes=1) as journal:
        journal.append("fill", {"n": 2})  # rotates: the listed file is sealed and deleted
    assert not listed.exists()
    assert read_segment(listed)[0] == lines


def test_retention_keeps_everything_younger_than_the_cut(tmp_path):
    write_segments(tmp_path, count=2)
    with AuditJournal(tmp_path) as journal:
        assert journal.retire(datetime.now(UTC) - timedelta(days=400)) == []
    assert len(sealed_segments(tmp_path)) == 2


CRASH_CHILD = """
import os, sys
from datetime import UTC, datetime, timedelta
from bot.audit import AuditJournal

directory, crash_at = sys.argv[1], int(sys.argv[2])
day = datetime(2026, 3, 1, 12, tzinfo=UTC)
journal = AuditJournal(directory, clock=lambda: day)
for n in range(3):
    journal.append("fill", {"n": n}, sync=True)
calls = [0]
def arm(name):
    real = getattr(os, name)
    def crash_or_call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == crash_at:
            os._exit(9)  # like kill -9: nothing flushed, nothing closed
        return real(*args, **kwargs)
    setattr(os, name, crash_or_call)
for name in ("fsync", "replace", "unlink", "rename"):
    arm(name)
day += timedelta(days=1)
journal.append("fill", {"n": 3}, sync=True)  # a new day: rotates and seals
os._exit(0)
"""


def test_a_crash_at_any_step_of_sealing_is_finished_by_the_next_start(tmp_path):
    """Kill the writer at each file-system call of a seal in turn; the next start
    must verify, finish the seal exactly once and keep every synced record."""
    crash_at = 0
    while True:
        crash_at += 1
        directory = tmp_path / f"crash-{crash_at}"
        child = subprocess.run(
            [sys.executable, "-c", CRASH_CHILD, str(directory), str(crash_at)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.returncode in (0, 9), child.stderr
        assert verify(directory, live_only=True).ok, crash_at  # the start-up check passes
        with AuditJournal(directory, clock=lambda: datetime(2026, 3, 2, 13, tzinfo=UTC)) as j:
            j.append("start", {})
        result = verify(directory)
        assert result.ok, (crash_at, result.reason)
        assert verify(directory, live_only=True).ok
        assert [p.name for p in chain_segments(directory)] == [
            "audit-000001.jsonl.gz",
            "audit-000002.jsonl",
        ], crash_at
        records = all_records(directory)
        fills = [r["data"]["n"] for r in records if r["kind"] == "fill"]
        assert fills[:3] == [0, 1, 2] and fills in ([0, 1, 2], [0, 1, 2, 3]), crash_at
        assert [r["data"]["segment"] for r in records if r["kind"] == "seal"] == [
            "audit-000001.jsonl.gz"
        ], crash_at
        assert not list(directory.glob("*.gz.tmp"))
        if child.returncode == 0:
            break
        shutil.rmtree(directory)
    assert crash_at >= 8  # every step was crashed at: compress, rename, seal, delete
