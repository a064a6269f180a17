"""Paper account arithmetic: one-way positions, realised PnL, fees and the USDC wallet.

Computed the way Binance does it: the entry price is the quantity-weighted
average while a position grows; a reduction realises (exit - entry) x closed qty
(sign by side) and leaves the entry price unchanged; a fill that crosses zero
closes the old side and opens the rest at the fill price. Commission is charged
on every fill and is a separate wallet change.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class PaperPosition:
    amount: Decimal = ZERO  # signed: short < 0
    entry_price: Decimal = ZERO


@dataclass(frozen=True)
class FillResult:
    position: PaperPosition
    realised_pnl: Decimal
    commission: Decimal  # positive cost


class PaperBook:
    """Mutable paper account; the PaperExecutor owns it and serialises access."""

    def __init__(self, wallet: Decimal) -> None:
        self.wallet = wallet
        self.positions: dict[str, PaperPosition] = {}

    def position(self, symbol: str) -> PaperPosition:
        return self.positions.get(symbol, PaperPosition())

    def fill(
        self, symbol: str, side: str, qty: Decimal, price: Decimal, fee_rate: Decimal
    ) -> FillResult:
        old = self.position(symbol)
        signed = qty if side == "BUY" else -qty
        new_amount = old.amount + signed
        realised = ZERO
        if old.amount == 0 or (old.amount > 0) == (signed > 0):
            entry = (abs(old.amount) * old.entry_price + qty * price) / abs(new_amount)
        else:
            closed = min(qty, abs(old.amount))
            direction = Decimal(1) if old.amount > 0 else Decimal(-1)
            realised = (price - old.entry_price) * closed * direction
            if new_amount == 0:
                entry = ZERO
            elif (new_amount > 0) == (old.amount > 0):
                entry = old.entry_price
            else:
                entry = price  # crossed zero: the remainder opens at the fill price
        commission = qty * price * fee_rate
        self.wallet += realised - commission
        position = PaperPosition(new_amount, entry.normalize() if entry else ZERO)
        self.positions[symbol] = position
        return FillResult(position, realised, commission)

    def unrealised(self, symbol: str, mark: Decimal) -> Decimal:
        p = self.position(symbol)
        return (mark - p.entry_price) * p.amount if p.amount else ZERO
