"""Position size from risk per trade: lose at most ``risk_pct`` % of the balance at the stop.

The size is only ever made smaller (capped by max notional and maxQty, rounded
DOWN to the market step). When the result is below minQty or MIN_NOTIONAL the
trade is refused, never enlarged: enlarging it would risk more than configured.
A refusal's figures are printed at the symbol's precision (``bot.console``): it is
read by an operator, not traded on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from bot import console
from bot.domain.rules import SymbolRules

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Refusal:
    reason: str


def size_entry(
    balance: Decimal,
    risk_pct: Decimal,
    stop_distance: Decimal,
    price: Decimal,
    rules: SymbolRules,
    max_notional: Decimal,
) -> Decimal | Refusal:
    """Quantity for a MARKET entry, or a Refusal with the numbers.

    ``risk_pct`` is a percentage (``Decimal("1")`` = 1 % of ``balance``), ``price``
    the expected entry price (mark or last), ``stop_distance`` in price units.
    """
    for name, value in (("balance", balance), ("stop distance", stop_distance), ("price", price)):
        if value <= 0:
            return Refusal(f"{rules.symbol}: cannot size with {name} {value}")
    if risk_pct <= 0 or max_notional <= 0:
        return Refusal(
            f"{rules.symbol}: cannot size with risk {risk_pct}% and max notional {max_notional}"
        )
    risk_amount = balance * risk_pct / HUNDRED
    by_risk = risk_amount / stop_distance
    by_notional = max_notional / price
    wanted = min(by_risk, by_notional, rules.market_max_qty)
    qty = rules.round_qty(wanted, market=True)
    basis = (
        f"risk {risk_pct}% of {console.usdc(balance)} USDC = {console.usdc(risk_amount)} "
        f"over stop {console.price(stop_distance, rules)} → {console.qty(by_risk, rules)}, "
        f"notional cap {max_notional} USDC → {console.qty(by_notional, rules)}"
    )
    if qty < rules.market_min_qty:
        return Refusal(
            f"{rules.symbol}: size {qty} is below minQty {rules.market_min_qty} ({basis}); "
            "refused rather than enlarged"
        )
    notional = qty * price
    if notional < rules.min_notional:
        return Refusal(
            f"{rules.symbol}: notional {console.usdc(notional, ROUND_DOWN)} USDC is below MIN_NOTIONAL "
            f"{rules.min_notional} ({basis}); refused rather than enlarged"
        )
    return qty
