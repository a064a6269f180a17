"""Daily PnL from the exchange's income history: ``main.py pnl`` and ``status``'s today.

The exchange is the truth: realised PnL, fees and funding of each UTC day are summed
from ``/fapi/v1/income`` (the types and names ``bot.account_sync`` seeds today's PnL
from, so ``status`` and the daily loss limit agree), never from the local store, which
misses what happened outside the bot. Only the bot's margin asset (USDC) counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from bot.account_sync import INCOME_TYPES, day_pnl_part
from bot.config import BotConfig
from bot.domain.records import Income
from bot.readers import ExchangeReader, engine_in_process, stored_view
from bot.runtime import state_dir_for

MAX_DAYS = 90  # Binance keeps three months of income history
ZERO = Decimal(0)
MONEY = Decimal("0.0001")  # USDC amounts for people: 4 decimals, trailing zeros dropped


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
        name = day_pnl_part(row)
        day = datetime.fromtimestamp(row.time_ms / 1000, UTC).date()
        if name is None or day not in totals:
            continue
        totals[day][name] += row.amount
    return [DayIncome(day, **totals[day]) for day in days]


def read_pnl(config: BotConfig, *, days: int, dry_run: bool, as_json: bool) -> str:
    """``main.py pnl --days N``: the daily table from the exchange's income history (the
    store's days where the venue runs inside the bot's process)."""
    now = datetime.now(UTC)
    state_dir = state_dir_for(config, dry_run=dry_run)
    if dry_run or engine_in_process(config):
        view = stored_view(state_dir)
        stored = {} if view is None else view.day_pnls
        first = now.date() - timedelta(days=days - 1)
        table = []
        for day in (first + timedelta(days=i) for i in range(days)):
            record = stored.get(day)
            table.append(
                DayIncome(day, record.realised, record.commission, record.funding)
                if record
                else DayIncome(day)
            )
        source = "cached: the venue runs inside the bot's process"
    else:
        with ExchangeReader(config, state_dir) as client:
            table = daily_income(client, days, now)
        source = "exchange income history"
    if as_json:
        rows = [{**asdict(d), "net": d.net} for d in table]
        return json.dumps({"source": source, "days": rows}, default=json_value, indent=2)
    header = f"{'day (UTC)':<10} {'realised':>12} {'fees':>12} {'funding':>12} {'net':>12}"
    lines = [f"daily PnL in USDC, {source}", header]
    for d in table:
        cells = (money(v) for v in (d.realised, d.commission, d.funding, d.net))
        lines.append(f"{d.day.isoformat():<10} " + " ".join(f"{c:>12}" for c in cells))
    total = DayIncome(
        now.date(),
        sum((d.realised for d in table), ZERO),
        sum((d.commission for d in table), ZERO),
        sum((d.funding for d in table), ZERO),
    )
    cells = (money(v) for v in (total.realised, total.commission, total.funding, total.net))
    lines.append(f"{'total':<10} " + " ".join(f"{c:>12}" for c in cells))
    return "\n".join(lines)


def money(value: Decimal) -> str:
    return f"{value.quantize(MONEY).normalize():f}"


def json_value(value: object) -> object:
    """``json.dumps``'s ``default``: Decimals as exact strings, times ISO 8601 UTC."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
