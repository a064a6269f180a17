"""A broken audit journal stops every command that appends to it, except the
emergency exit, until the operator archives it (``main.py audit archive``)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.audit import journal_files, verify

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "audit-key-from-the-environment-0123"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    config = {"schema_version": 2, "symbols": ["BTCUSDC"], "paths": {"state_dir": "var"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def run(workdir: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BOT_AUDIT_KEY"):
        env.pop(name, None)
    if key:
        env["BOT_AUDIT_KEY"] = key
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def audit_records_of(directory: Path, kind: str) -> list[dict]:
    """Records of ``kind`` in every segment, sealed ones decompressed."""
    from bot.audit_segments import chain_segments

    found = []
    for path in chain_segments(directory):
        data = path.read_bytes()
        lines = (gzip.decompress(data) if path.name.endswith(".gz") else data).splitlines()
        found += [r for r in map(json.loads, lines) if r["kind"] == kind]
    return found


def journal(workdir: Path) -> Path:
    return workdir / "var" / "audit"


def truncate(directory: Path, keep: int, *, forge_head: bool) -> None:
    path = journal_files(directory)[0]
    lines = path.read_text().splitlines()[:keep]
    path.write_text("\n".join(lines) + "\n")
    if forge_head:
        last = json.loads(lines[-1])
        (directory / "HEAD").write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))


def broken_journal(workdir: Path) -> None:
    """Two runs (six records), then the last three cut off; HEAD still says seq 6."""
    assert run(workdir, "resume").returncode == 0
    assert run(workdir, "resume").returncode == 0
    truncate(journal(workdir), 3, forge_head=False)


def test_a_run_after_a_reported_break_refuses_and_the_break_stays_visible(workdir):
    broken_journal(workdir)
    assert run(workdir, "verify-audit").returncode == 1
    refused = run(workdir, "resume")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr
    assert "BROKEN" in lines[0] and "truncated" in lines[0] and "audit archive" in lines[0]
    after = run(workdir, "verify-audit")
    assert after.returncode == 1 and "truncated" in after.stdout


def test_truncation_with_a_forged_head_is_caught_by_the_heads_in_the_log(workdir):
    assert run(workdir, "resume").returncode == 0
    assert run(workdir, "resume").returncode == 0
    truncate(journal(workdir), 3, forge_head=True)
    result = run(workdir, "verify-audit")
    assert result.returncode == 1
    assert "truncated" in result.stdout and "bot.log:" in result.stdout
    assert run(workdir, "resume").returncode == 1


def test_archive_moves_the_broken_journal_aside_and_starts_a_chain_naming_its_head(workdir):
    broken_journal(workdir)
    old_last = json.loads(journal_files(journal(workdir))[0].read_text().splitlines()[-1])
    archived = run(workdir, "audit", "archive", "--reason", "lost disk blocks")
    assert archived.returncode == 0, archived.stderr
    [archive] = (workdir / "var" / "audit-archive").iterdir()
    assert not verify(archive).ok  # kept as it was, still readable
    first = json.loads(journal_files(journal(workdir))[0].read_text().splitlines()[0])
    assert (first["seq"], first["kind"]) == (1, "chain_start")
    assert first["data"]["archived_head"]["hash"] == old_last["hash"]
    assert first["data"]["reason"] == "lost disk blocks"
    assert "truncated" in first["data"]["archived_verification"]
    assert run(workdir, "resume").returncode == 0
    assert run(workdir, "verify-audit").returncode == 0


def test_emergency_stop_on_a_broken_journal_still_runs_and_leaves_the_break(workdir):
    broken_journal(workdir)
    stopped = run(workdir, "emergency-stop", "--flatten")
    assert stopped.returncode == 0, stopped.stderr
    assert "kill switch ON" in stopped.stdout
    assert "BROKEN" in stopped.stderr and "audit archive" in stopped.stderr
    [segment] = (workdir / "var" / "audit-emergency").iterdir()
    result = verify(segment)
    assert result.ok and result.records >= 3
    assert run(workdir, "verify-audit").returncode == 1  # not papered over
    assert run(workdir, "resume").returncode == 1


def test_the_audit_key_macs_every_record_and_never_reaches_the_log(workdir):
    assert run(workdir, "resume", key=AUDIT_KEY).returncode == 0
    records = [
        json.loads(line) for line in journal_files(journal(workdir))[0].read_text().splitlines()
    ]
    assert records and all("mac" in record for record in records)
    assert AUDIT_KEY not in (workdir / "var" / "logs" / "bot.log").read_text()
    checked = run(workdir, "verify-audit", key=AUDIT_KEY)
    assert checked.returncode == 0 and "MACs checked" in checked.stdout
    without = run(workdir, "resume")
    assert without.returncode == 1 and "BOT_AUDIT_KEY" in without.stderr


def sealed_history(workdir: Path, days: int) -> Path:
    """``days`` sealed day-segments written before today, as a bot that ran then would."""
    from datetime import UTC, datetime, timedelta

    from bot.audit import AuditJournal

    directory = journal(workdir)
    start = datetime.now(UTC) - timedelta(days=days)
    for day in range(days):
        stamp = start + timedelta(days=day)
        with AuditJournal(directory, clock=lambda stamp=stamp: stamp) as history:
            history.append("fill", {"day": day}, sync=True)
    return directory


def test_start_retires_segments_past_the_retention_and_the_rest_still_verifies(workdir):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["logging"] = {"audit_retention_days": 30}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    directory = sealed_history(workdir, 3)
    old = directory / "audit-000001.jsonl.gz"
    stamp = time.time() - 40 * 86400
    os.utime(old, (stamp, stamp))
    assert run(workdir, "resume").returncode == 0
    assert not old.exists() and (directory / "audit-000002.jsonl.gz").exists()
    checked = run(workdir, "verify-audit")
    assert checked.returncode == 0, checked.stdout
    [retire] = audit_records_of(directory, "retire")
    assert retire["data"]["segments"][0]["segment"] == old.name


def test_start_checks_the_live_segment_and_verify_audit_checks_every_sealed_one(workdir):
    directory = sealed_history(workdir, 4)
    (directory / "audit-000002.jsonl.gz").unlink()
    assert run(workdir, "resume").returncode == 0  # start-up does not read old segments
    result = run(workdir, "verify-audit")
    assert result.returncode == 1
    assert "deleted" in result.stdout and "audit-000003.jsonl.gz:1" in result.stdout
    (directory / "audit-000004.jsonl.gz").unlink()  # the newest sealed one: seen at start
    refused = run(workdir, "resume")
    assert refused.returncode == 1 and "BROKEN" in refused.stderr and "deleted" in refused.stderr
