"""The risk counters the OMS keeps from fills: day PnL and the stop-loss streak.

Realised PnL and commission count on the UTC day of the trade time, funding from
``ACCOUNT_UPDATE`` FUNDING_FEE on the day of its transaction time; the streak counts
consecutive stop-loss exits since the last take-profit exit. The ledger only counts:
:class:`bot.oms.oms.Oms` decides that a fill or funding payment is new (its
processed ids) and which leg an order is, and calls in with the OMS lock held.
Changes are staged in the store and committed with the OMS batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from bot.client_ids import Leg
from bot.oms.events import AccountUpdate, OrderTradeUpdate
from bot.oms.state import USDC, DayPnl, OrderState, RiskCounters
from bot.oms.store import Store

log = logging.getLogger(__name__)


class Audit(Protocol):
    def append(self, kind: str, data: dict[str, Any], *, sync: bool = False) -> object: ...


def _day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


class RiskLedger:
    """Day PnL per UTC day and the stop-loss streak; ``on_change`` is called whenever
    either changes, so the OMS can drop its cached view."""

    def __init__(
        self,
        store: Store,
        audit: Audit,
        day_pnls: Iterable[DayPnl],
        counters: RiskCounters,
        on_change: Callable[[], None],
    ) -> None:
        self._store = store
        self._audit = audit
        self._on_change = on_change
        self.day_pnls = {p.day: p for p in day_pnls}
        self.counters = counters

    def record_fill(self, event: OrderTradeUpdate) -> None:
        """Count a new fill: day PnL and commission, audit record. The day PnL is in
        USDC: a fill of a USDT-margined symbol on the same account (its PnL in USDT)
        is audited but not counted."""
        realised, commission = event.realised_pnl, Decimal(0)
        if not event.symbol.endswith(USDC):  # USDⓈ-M: the quote is the margin asset
            realised = Decimal(0)
            log.warning(
                "%s %s: a fill of another margin asset is not counted in the USDC day PnL",
                event.symbol,
                event.client_order_id,
            )
        elif event.commission_asset in (USDC, ""):
            commission = -event.commission
        elif event.commission:
            log.warning(
                "%s %s: commission %s paid in %s is not counted in the USDC day PnL",
                event.symbol,
                event.client_order_id,
                event.commission,
                event.commission_asset,
            )
        day = _day_of(event.trade_time_ms)
        self._add_day_pnl(day, realised=realised, commission=commission)
        kind = f"{event.forced_close}_fill" if event.forced_close else "fill"
        self._audit.append(
            kind,
            {
                "symbol": event.symbol,
                "client_order_id": event.client_order_id,
                "order_id": event.order_id,
                "trade_id": event.trade_id,
                "side": event.side,
                "qty": event.last_qty,
                "price": event.last_price,
                "realised_pnl": event.realised_pnl,
                "commission": event.commission,
                "commission_asset": event.commission_asset,
                "trade_time_ms": event.trade_time_ms,
                "counted": realised + commission,  # what this fill added to the day PnL
                "day_pnl": self.day_pnls[day].total,
            },
        )

    def record_funding(self, event: AccountUpdate, amount: Decimal) -> None:
        """Count a new funding payment on the day of its transaction time."""
        day = _day_of(event.transaction_time_ms or event.event_time_ms)
        self._add_day_pnl(day, funding=amount)
        self._audit.append(
            "funding",
            {
                "symbol": event.funding_symbol,
                "amount": amount,
                "day_pnl": self.day_pnls[day].total,
            },
        )

    def count_exit(self, order: OrderState, leg: Leg) -> None:
        """Count a filled order's exit in the SL streak, by its first fill time. An
        exit older than the last exit of the other leg changes nothing: the streak
        counts in trade time, whatever order the fills arrive in."""
        at = order.first_fill_ms
        if at is None:  # never filled: no exit to count
            return
        counters = self.counters
        if leg is Leg.STOP_LOSS and at >= (counters.last_tp_exit_ms or 0):
            counters = RiskCounters(
                sl_streak=counters.sl_streak + 1,
                last_sl_exit_ms=max(at, counters.last_sl_exit_ms or 0),
                last_tp_exit_ms=counters.last_tp_exit_ms,
            )
        elif leg is Leg.TAKE_PROFIT and at >= (counters.last_sl_exit_ms or 0):
            counters = RiskCounters(
                0, counters.last_sl_exit_ms, max(at, counters.last_tp_exit_ms or 0)
            )
        else:
            return
        self.counters = counters
        self._store.put_counters(counters)
        self._on_change()
        self._audit.append(
            "sl_streak",
            {
                "symbol": order.symbol,
                "client_order_id": order.client_order_id,
                "leg": leg,
                "sl_streak": counters.sl_streak,
            },
        )

    def seed_day_pnl(
        self, day: date, realised: Decimal, commission: Decimal, funding: Decimal
    ) -> DayPnl:
        """See :class:`bot.oms.commands.SeedDayPnl`: the larger loss wins, whole;
        stored with the OMS batch that applies the command."""
        exchange = DayPnl(day, realised, commission, funding)
        local = self.day_pnls.get(day)
        if local is None or exchange.total < local.total:
            self._put_day_pnl(exchange)
            self._audit.append(
                "day_pnl_seeded",
                {
                    "day": day,
                    "total": exchange.total,
                    "previous": local.total if local else None,
                },
            )
        return self.day_pnls[day]

    def _put_day_pnl(self, pnl: DayPnl) -> None:
        self.day_pnls[pnl.day] = pnl
        self._store.put_day_pnl(pnl)
        self._on_change()

    def _add_day_pnl(
        self,
        day: date,
        *,
        realised: Decimal = Decimal(0),
        commission: Decimal = Decimal(0),
        funding: Decimal = Decimal(0),
    ) -> None:
        current = self.day_pnls.get(day) or DayPnl(day)
        self._put_day_pnl(
            DayPnl(
                day,
                current.realised + realised,
                current.commission + commission,
                current.funding + funding,
            )
        )
