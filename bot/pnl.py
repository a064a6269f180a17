"""Daily PnL from the exchange's income history: ``main.py pnl`` and ``status``'s today.

The exchange is the truth: realised PnL, fees and funding of each UTC day are summed
from ``/fapi/v1/income`` (the types and names ``bot.account_sync`` seeds today's PnL
from, so ``status`` and the daily loss limit agree), never from the local store, which
misses what happened outside the bot. Only the bot's margin asset (USDC) counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from bot.account_sync import INCOME_TYPES
from bot.domain.records import Income

MAX_DAYS = 90  # Binance keeps three months of income history
USDC = "USDC"
ZERO = Decimal(0)


class IncomeSource(Protocol):
    def income(self, start_time_ms: int) -> list[Income]: ...


@dataclass(frozen=True)
class DayIncome:
    """One UTC day's realised PnL, fees (``commission``, negative) and funding."""

    day: date
    realised: Decimal = ZERO
    commission: Decimal = ZERO
    funding: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.realised + self.commission + self.funding


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def daily_income(source: IncomeSource, days: int, now: datetime) -> list[DayIncome]:
    """The last ``days`` UTC days (today included), oldest first; every day listed,
    an empty one as zeros. ``source.income`` pages through Binance's limits."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS} (Binance keeps 3 months of income)")
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start_ms = int(day_start(first).timestamp() * 1000)
    return summed(source.income(start_ms), [first + timedelta(days=i) for i in range(days)])


def summed(rows: Iterable[Income], days: list[date]) -> list[DayIncome]:
    totals = {day: dict.fromkeys(INCOME_TYPES.values(), ZERO) for day in days}
    for row in rows:
        name = INCOME_TYPES.get(row.income_type)
        day = datetime.fromtimestamp(row.time_ms / 1000, UTC).date()
        if name is None or row.asset != USDC or day not in totals:
            continue
        totals[day][name] += row.amount
    return [DayIncome(day, **totals[day]) for day in days]
