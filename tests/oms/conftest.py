from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.audit import AuditJournal, journal_files
from bot.oms.oms import Oms
from bot.oms.store import Store

NOW = datetime(2025, 10, 9, 12, 0, tzinfo=UTC)


def audit_records(directory: Path, kind: str | None = None) -> list[dict]:
    records = [
        json.loads(line)
        for path in journal_files(directory)
        for line in path.read_text().splitlines()
    ]
    return [r for r in records if kind is None or r["kind"] == kind]


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def audit(audit_dir: Path) -> Iterator[AuditJournal]:
    with AuditJournal(audit_dir) as journal:
        yield journal


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "state.db") as opened:
        yield opened


@pytest.fixture
def oms(store: Store, audit: AuditJournal) -> Oms:
    return Oms(store, audit, clock=lambda: NOW)
