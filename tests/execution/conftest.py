"""A bot without threads: simulator, read-only client, OMS on a temp store, audit journal.

Events are applied synchronously with ``drain()`` instead of the OMS worker thread, so
each test decides exactly when the OMS sees what the exchange (or paper) reported.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from bot.audit import AuditJournal
from bot.exchange.client import ExchangeClient
from bot.exchange.user_data import parse_user_data
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.execution.bracket import ExitSettings
from bot.execution.orders import OrderManager, OrderSettings
from bot.execution.plans import PlanBook
from bot.oms.events import RawMessage
from bot.oms.oms import Oms
from bot.oms.store import Store
from bot.risk.guard import RiskGuard, RiskLimits
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.audit_reader import audit_records

LIMITS = RiskLimits(
    daily_loss_limit=Decimal("500"),
    max_sl_streak=3,
    sl_streak_cooldown_min=60,
    cooldown_until_next_utc_day=False,
    max_open_positions=3,
    max_notional_per_symbol=Decimal("20000"),
    max_total_notional=Decimal("50000"),
    max_leverage=20,
)


def order_settings(**exits) -> OrderSettings:
    return OrderSettings(
        risk_pct=Decimal("1"),
        max_notional=Decimal("5000"),
        leverage=5,
        exits=ExitSettings(**exits),
        tag="ufbd",
        fill_polls=2,
        fill_poll_interval_s=0,
    )


@dataclass
class Bot:
    sim: Simulator
    client: ExchangeClient
    oms: Oms
    audit: AuditJournal
    inbound: queue.Queue
    audit_dir: Path
    plans: PlanBook

    def drain(self) -> int:
        """Apply every queued user-data payload (what the OMS worker thread would do)."""
        applied = 0
        while True:
            try:
                item = self.inbound.get_nowait()
            except queue.Empty:
                return applied
            assert isinstance(item, RawMessage)
            self.oms.apply(parse_user_data(item.payload, item.received_at_ms))
            applied += 1

    def manager(self, executor, settings: OrderSettings, **kwargs) -> OrderManager:
        return OrderManager(
            executor,
            RiskGuard(LIMITS),
            self.audit,
            self.oms.snapshot,
            self.client.symbol_rules,
            settings,
            self.plans,
            sleep=lambda _s: None,
            **kwargs,
        )

    def audit_records(self, kind: str) -> list[dict]:
        return audit_records(self.audit_dir, kind)


@pytest.fixture
def bot(sim: Simulator, tmp_path: Path) -> Iterator[Bot]:
    venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
    store = Store.open(tmp_path / "state.db")
    with (
        ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, read_only=True) as client,
        AuditJournal(tmp_path / "audit") as audit,
    ):
        oms = Oms(store, audit, tag="ufbd")
        harness = Bot(
            sim,
            client,
            oms,
            audit,
            queue.Queue(),
            tmp_path / "audit",
            PlanBook(oms.snapshot, oms.apply),
        )
        try:
            yield harness
        finally:
            store.close()
