from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.audit import AuditJournal
from bot.oms.oms import Oms
from bot.oms.store import Store

NOW = datetime(2025, 10, 9, 12, 0, tzinfo=UTC)


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
