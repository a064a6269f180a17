"""Read an audit journal's records in order, as a test asserts on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.audit_segments import chain_segments, read_segment


def audit_records(directory: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Every record of the journal in ``directory`` (all its segments, sealed ones
    decompressed: a run that crosses midnight UTC seals one), or those of ``kind``."""
    records = [
        json.loads(line)
        for path in chain_segments(directory)
        for line in read_segment(path)[0]
        if line
    ]
    return [r for r in records if kind is None or r["kind"] == kind]
