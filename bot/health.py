"""The service's health file: written by the service, read by ``main.py status``.

A module of its own so that ``status`` (a read-only command that works beside the
service) needs neither the SDK nor the scheduler to find it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.files import write_atomic

HEALTH_FILE = "health.json"


def health_path(state_dir: Path) -> Path:
    return state_dir / HEALTH_FILE


def write_health(state_dir: Path, record: dict[str, Any]) -> None:
    """Replace the health record (no directory fsync: it is rewritten every 30 s)."""
    write_atomic(health_path(state_dir), json.dumps(record), sync_directory=False)


def read_health(state_dir: Path) -> dict[str, Any] | None:
    """The last record, or None when no service is running (or it left garbage)."""
    try:
        record = json.loads(health_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
