"""Account sync: what the bot keeps in step with the exchange account, cheaply.

Two things change the account outside the order flow and are expensive to read:
the settings (one-way mode, margin type, leverage: weight 1 + 2 per symbol) and the
income history (weight 30). Settings are applied once per UTC day and settings
combination; today's PnL is rebuilt from the income history only when it may be
wrong (see :meth:`AccountSync.income_is_due`). Both markers live in the OMS's
metadata, written through its queue like every other state change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from bot.clock import ExchangeClock
from bot.config import BotConfig
from bot.domain.enums import IncomeType
from bot.domain.records import Income
from bot.oms.commands import Command, SeedDayPnl, SetMeta
from bot.oms.events import income_key
from bot.oms.state import USDC, OmsView

log = logging.getLogger(__name__)

ACCOUNT_SETUP_KEY = "account_setup"  # OMS meta: settings applied today
INCOME_SYNCED_KEY = "income_synced_ms"  # OMS meta: last read of the income history
INCOME_RESYNC_S = 3600
INCOME_TYPES = {
    IncomeType.REALIZED_PNL: "realised",
    IncomeType.COMMISSION: "commission",
    IncomeType.FUNDING_FEE: "funding",
}


def day_pnl_part(row: Income) -> str | None:
    """The part of the USDC day PnL ``row`` counts in (``realised``, ``commission``,
    ``funding``), or None: another income type, or another asset (a USDT-M trade, a fee
    paid in BNB): the daily loss limit is in USDC."""
    return INCOME_TYPES.get(row.income_type) if row.asset == USDC else None


class AccountVenue(Protocol):
    def setup_account(self, symbols: Any, *, leverage: int, margin_type: str) -> list[str]: ...
    def income(self, start_time_ms: int) -> list[Income]: ...


def position_amounts(view: OmsView) -> Mapping[str, Decimal]:
    return {symbol: position.amount for symbol, position in view.positions.items()}


class AccountSync:
    def __init__(
        self,
        config: BotConfig,
        venue: AccountVenue,
        view: Callable[[], OmsView],
        submit: Callable[..., None],
        clock: ExchangeClock,
    ) -> None:
        """``submit(*commands)`` stores commands through the OMS thread."""
        self._config = config
        self._venue = venue
        self._view = view
        self._submit = submit
        self._clock = clock

    def setup_account(self) -> None:
        """One-way mode, margin type and leverage: once per UTC day and settings, not on
        every cron run."""
        execution = self._config.execution
        wanted = json.dumps(
            [
                self._config.exchange.venue,
                sorted(self._config.symbols),
                execution.leverage,
                execution.margin_type,
                str(self._clock.today()),
            ]
        )
        if self._view().meta.get(ACCOUNT_SETUP_KEY) == wanted:
            return
        held = self._venue.setup_account(
            self._config.symbols, leverage=execution.leverage, margin_type=execution.margin_type
        )
        for symbol in held:
            log.warning(
                "%s: margin type not set to %s: Binance does not change it while a position "
                "or open orders exist; tried again on the next run",
                symbol,
                execution.margin_type,
            )
        if not held:  # a held symbol is tried again next run
            self._submit(SetMeta(ACCOUNT_SETUP_KEY, wanted))

    def income_is_due(self, *, positions_before: Mapping[str, Decimal]) -> bool:
        """Whether today's income history must be read again.

        Always when the store has no record of today (first run of the day, a lost or
        fresh state dir), when a position changed while nobody watched (liquidation,
        ADL, a manual trade: PnL the bot saw no fill for), or when the last read is
        older than ``INCOME_RESYNC_S`` (funding fees, every 8 h). Otherwise the fills
        the OMS applied, including exits recovered after a gap, already count."""
        view = self._view()
        if self._clock.today() not in view.day_pnls:
            return True
        if positions_before != position_amounts(view):
            return True
        synced = view.meta.get(INCOME_SYNCED_KEY)
        return synced is None or self._clock.now_ms() - int(synced) > INCOME_RESYNC_S * 1000

    def seed_day_pnl(self) -> None:
        """Rebuild today's PnL from the exchange's income history (merged with the
        store), so a lost or fresh state dir never lifts the daily loss limit. Only USDC
        rows: a USDT-M trade or a BNB-paid fee on the same account is another currency."""
        now = self._clock.now()
        day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        totals = dict.fromkeys(INCOME_TYPES.values(), Decimal(0))
        counted: set[str] = set()
        for row in self._venue.income(int(day_start.timestamp() * 1000)):
            name = day_pnl_part(row)
            if name is not None:
                totals[name] += row.amount
                key = income_key(row)
                if key is not None:
                    counted.add(key)
        commands: list[Command] = [
            SeedDayPnl(now.date(), **totals, counted=frozenset(counted)),
            SetMeta(INCOME_SYNCED_KEY, str(self._clock.now_ms())),
        ]
        self._submit(*commands)
