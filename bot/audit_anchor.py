"""What anchors the audit journal outside its own directory, and the start-up check.

An attacker who can write the state dir can rewrite every record, recompute every
hash and rewrite ``HEAD``. Two things they cannot rewrite from there:

- the audit key, ``BOT_AUDIT_KEY`` in ``.env`` or the environment (never in the
  state dir, never derived or persisted by the bot): with it every record carries
  a MAC no one without the key can make;
- the head (seq and hash) the runtime writes to the rotating log at every start and
  stop, once that log is shipped elsewhere (syslog, a log collector): it shows a
  truncation back to an earlier record, which a MAC alone cannot.

``python main.py audit archive`` ends a chain: the log then says
``audit chain started``, and only the heads logged after that line belong to the
journal in ``audit/``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bot import audit_segments
from bot.audit import HEAD_FILE, AuditJournal, HeadClaim, Verification, verify

KEY_ENV = "BOT_AUDIT_KEY"
CHAIN_STARTED = "audit chain started"
# a new chain (after ``audit archive``) or a logged head; the log's lines hold no newline
_ANCHOR_LINE = re.compile(rb"audit (?:chain started|head seq=(\d+) hash=([0-9a-f]{64}))")

# Its own logger at INFO, so the anchor is written whatever logging.level says.
head_log = logging.getLogger("bot.audit.head")
head_log.setLevel(logging.INFO)


class AuditBroken(RuntimeError):
    """The journal failed verification: no command that appends to it may run."""


def load_audit_key(
    env_file: Path = Path(".env"), environ: Mapping[str, str] = os.environ
) -> str | None:
    """``BOT_AUDIT_KEY`` from the environment, else from ``.env``; None when unset."""
    if environ.get(KEY_ENV):
        return environ[KEY_ENV]
    if env_file.exists():
        return dotenv_values(env_file).get(KEY_ENV) or None
    return None


def log_head(journal: AuditJournal, when: str) -> None:
    seq, digest = journal.head
    head_log.info("audit head seq=%d hash=%s (%s)", seq, digest, when)


def log_files(log_file: Path) -> list[Path]:
    """The rotating log's files, oldest first (``bot.log.5`` … ``bot.log.1``, ``bot.log``)."""
    rotated = []
    for path in log_file.parent.glob(f"{log_file.name}.*"):
        suffix = path.name[len(log_file.name) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), path))
    return [path for _, path in sorted(rotated, reverse=True)] + (
        [log_file] if log_file.exists() else []
    )


def head_claims(log_file: Path) -> list[HeadClaim]:
    """The heads logged since the current chain started (bytes, so garbage is skipped).

    Part of every start, and the logs hold up to ``backups + 1`` full files: one
    ``find`` per candidate and newlines counted in C, not a Python step per line
    (60 MB of logs: 0.44 s a line at a time, ~0.1 s so)."""
    claims: list[HeadClaim] = []
    for path in log_files(log_file):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        number, at, found = 1, 0, data.find(b"audit ")
        while found >= 0:
            if match := _ANCHOR_LINE.match(data, found):
                number += data.count(b"\n", at, found)
                at = found
                if match[1] is None:
                    claims = []
                else:
                    place = f"{path.name}:{number}"
                    claims.append(HeadClaim(int(match[1]), match[2].decode(), place))
            found = data.find(b"audit ", found + 1)
    return claims


def check_journal(
    audit_dir: Path, key: str | None, log_file: Path | None, *, live_only: bool = False
) -> Verification:
    """Verify the journal against the key and the heads in the log (if there is one).
    ``live_only`` is the start-up check: the live segments and the newest seal (see
    :func:`bot.audit.verify`), so its cost does not grow with the history."""
    heads = head_claims(log_file) if log_file is not None else []
    return verify(audit_dir, key=key.encode() if key else None, heads=heads, live_only=live_only)


def describe(result: Verification) -> str:
    """One line naming the break and where it is."""
    return f"audit journal BROKEN at {result.place} (seq {result.bad_seq}): {result.reason}"


def dated_dir(parent: Path, now: datetime) -> Path:
    """A new, not yet existing ``parent/<UTC stamp>`` (a suffix if the second is taken)."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate, number = parent / stamp, 1
    while candidate.exists():
        number += 1
        candidate = parent / f"{stamp}-{number}"
    return candidate


def last_head(audit_dir: Path) -> dict[str, Any]:
    """What the journal about to be archived ends with, read without trusting it:
    the last record that parses (its seq and hash) and HEAD's text."""
    head: dict[str, Any] = {"seq": None, "hash": None, "head_file": None}
    head_file = audit_dir / HEAD_FILE
    if head_file.exists():
        head["head_file"] = head_file.read_bytes()[:200].decode("utf-8", "replace")
    for path in reversed(audit_segments.chain_segments(audit_dir)):
        try:
            lines, _ = audit_segments.read_segment(path)
        except (OSError, EOFError, zlib.error):  # gzip.BadGzipFile is an OSError
            continue
        for line in reversed(lines):
            try:
                record = json.loads(line.decode("utf-8"))
                head["seq"], head["hash"] = int(record["seq"]), str(record["hash"])
                return head
            except (ValueError, KeyError, TypeError):
                continue
    return head


def move_aside(audit_dir: Path, archive_root: Path, now: datetime) -> Path:
    """Rename the whole journal directory to ``archive_root/<UTC stamp>`` (files intact)."""
    archive_root.mkdir(parents=True, exist_ok=True)
    target = dated_dir(archive_root, now)
    os.replace(audit_dir, target)
    return target
