"""Bracket plans: what the bot meant to do with a position, persisted before the entry.

The stop and target of a trade are decided before its entry is sent. If the
process dies between the entry and its exits, or an exit's outcome stays unknown,
any later process must finish the job *as planned* — not with a generic fallback
stop. So the plan (entry id, side, distances, the planned prices and exit ids) is
committed to the store (through the OMS thread) before the entry leaves, and recorded in the
audit journal's fsynced ``order_send`` chain right after. One plan per symbol (the
bot holds one position per symbol); a newer plan replaces the older one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Protocol

from bot.domain.enums import Side
from bot.domain.rules import SymbolRules
from bot.execution.bracket import exit_prices
from bot.oms.commands import SetMeta

PLAN_KEY = "plan:{symbol}"


class MetaView(Protocol):
    @property
    def meta(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class BracketPlan:
    """One trade's plan. ``side`` is LONG or SHORT; prices are on the symbol's tick."""

    symbol: str
    side: str
    entry_client_id: str
    stop_client_id: str
    take_profit_client_id: str
    qty: Decimal
    stop_distance: Decimal
    take_profit_distance: Decimal
    stop_price: Decimal  # from the price the entry was sized at; re-priced from the fill
    take_profit_price: Decimal
    created_ms: int
    filled_price: Decimal | None = None  # set once the entry's fill is known

    @property
    def exit_side(self) -> Side:
        return Side.SELL if self.side == "LONG" else Side.BUY

    def holds(self, amount: Decimal) -> bool:
        """Whether a position of this signed amount is on the plan's side."""
        return (amount > 0) == (self.side == "LONG") and amount != 0

    def filled_at(self, price: Decimal, rules: SymbolRules) -> BracketPlan:
        """The plan re-priced from the entry's real fill (raises ValueError when an exit
        would fall outside the symbol's PRICE_FILTER)."""
        stop, target = exit_prices(
            self.side, price, self.stop_distance, self.take_profit_distance, rules
        )
        return replace(self, stop_price=stop, take_profit_price=target, filled_price=price)

    def to_json(self) -> str:
        return json.dumps({k: _text(v) for k, v in asdict(self).items()})

    @classmethod
    def from_json(cls, text: str) -> BracketPlan:
        raw = json.loads(text)
        filled = raw.get("filled_price")
        return cls(
            symbol=raw["symbol"],
            side=raw["side"],
            entry_client_id=raw["entry_client_id"],
            stop_client_id=raw["stop_client_id"],
            take_profit_client_id=raw["take_profit_client_id"],
            qty=Decimal(raw["qty"]),
            stop_distance=Decimal(raw["stop_distance"]),
            take_profit_distance=Decimal(raw["take_profit_distance"]),
            stop_price=Decimal(raw["stop_price"]),
            take_profit_price=Decimal(raw["take_profit_price"]),
            created_ms=raw["created_ms"],
            filled_price=None if filled is None else Decimal(filled),
        )


def _text(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


class PlanBook:
    """The newest plan per symbol: OMS metadata, written by the OMS thread and stored
    with its batch; :meth:`record` returns once it is committed (``submit`` raises
    :class:`~bot.oms.commands.OmsUnavailable` otherwise)."""

    def __init__(self, view: Callable[[], MetaView], submit: Callable[[SetMeta], None]) -> None:
        self._view = view
        self._submit = submit

    def record(self, plan: BracketPlan) -> None:
        self._submit(SetMeta(PLAN_KEY.format(symbol=plan.symbol), plan.to_json()))

    def get(self, symbol: str) -> BracketPlan | None:
        text = self._view().meta.get(PLAN_KEY.format(symbol=symbol))
        return None if text is None else BracketPlan.from_json(text)


def fallback_stop(
    amount: Decimal, entry_price: Decimal, pct: Decimal, rules: SymbolRules
) -> Decimal:
    """A stop for a position the bot never planned: ``pct`` percent from its entry."""
    distance = entry_price * pct / Decimal(100)
    if amount > 0:
        return rules.round_price(entry_price - distance, rounding=ROUND_DOWN)
    return rules.round_price(entry_price + distance, rounding=ROUND_UP)
