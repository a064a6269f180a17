"""Read an audit journal's records in order, as a test asserts on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.audit import journal_files


def audit_records(directory: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Every record of the journal in ``directory`` (all its files), or those of ``kind``."""
    records = [
        json.loads(line)
        for path in journal_files(directory)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    ]
    return [r for r in records if kind is None or r["kind"] == kind]
