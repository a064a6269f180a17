"""Leverage brackets (notional tiers) per simulated symbol, as data, and their lookups.

`GET /fapi/v1/leverageBracket`, the leverage check and every maintenance-margin figure
(positionRisk, liquidation, MARGIN_CALL) read this one table, so they cannot disagree.

The tiers are Binance's published BTCUSDT/ETHUSDT perpetual tiers (notional caps,
max leverage, maintenance margin rate). Unconfirmed: the USDC symbols' own tiers are not
in the public docs; we assume they equal the USDT ones. `cum` (the maintenance amount) is
not typed in: it follows from the table as Binance defines it,
cum[n] = cum[n-1] + floor[n] × (mmr[n] - mmr[n-1]), which keeps the maintenance margin
continuous at every cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.sim.venue import Json

ZERO = Decimal(0)

# (notional cap, max leverage, maintenance margin rate), lowest tier first.
_BTC_TIERS = (
    (50_000, 125, "0.004"),
    (600_000, 100, "0.005"),
    (3_000_000, 75, "0.0065"),
    (12_000_000, 50, "0.01"),
    (70_000_000, 25, "0.02"),
    (100_000_000, 20, "0.025"),
    (230_000_000, 10, "0.05"),
    (480_000_000, 5, "0.1"),
    (600_000_000, 4, "0.125"),
    (800_000_000, 3, "0.15"),
    (1_200_000_000, 2, "0.25"),
    (1_800_000_000, 1, "0.5"),
)
_ETH_TIERS = (
    (50_000, 125, "0.004"),
    (600_000, 100, "0.005"),
    (3_000_000, 75, "0.0065"),
    (12_000_000, 50, "0.01"),
    (50_000_000, 25, "0.02"),
    (65_000_000, 20, "0.025"),
    (150_000_000, 10, "0.05"),
    (320_000_000, 5, "0.1"),
    (400_000_000, 4, "0.125"),
    (530_000_000, 3, "0.15"),
    (800_000_000, 2, "0.25"),
    (1_200_000_000, 1, "0.5"),
)
TIERS = {"BTCUSDC": _BTC_TIERS, "ETHUSDC": _ETH_TIERS, "BTCUSDT": _BTC_TIERS}


@dataclass(frozen=True)
class Bracket:
    bracket: int
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    maint_margin_ratio: Decimal
    cum: Decimal

    def maint_margin(self, notional: Decimal) -> Decimal:
        """Binance: notional × maintenance margin rate - maintenance amount."""
        return abs(notional) * self.maint_margin_ratio - self.cum


def _build(tiers: tuple[tuple[int, int, str], ...]) -> tuple[Bracket, ...]:
    out: list[Bracket] = []
    floor, cum, prev_mmr = ZERO, ZERO, ZERO
    for n, (cap, leverage, mmr) in enumerate(tiers, start=1):
        rate = Decimal(mmr)
        cum += floor * (rate - prev_mmr)
        out.append(Bracket(n, leverage, floor, Decimal(cap), rate, cum))
        floor, prev_mmr = Decimal(cap), rate
    return tuple(out)


BRACKETS: dict[str, tuple[Bracket, ...]] = {s: _build(t) for s, t in TIERS.items()}


def bracket_for(symbol: str, notional: Decimal) -> Bracket:
    """The tier an absolute notional falls in (a cap belongs to its own tier)."""
    table = BRACKETS[symbol]
    for b in table:
        if abs(notional) <= b.notional_cap:
            return b
    return table[-1]


def max_leverage(symbol: str) -> int:
    return BRACKETS[symbol][0].initial_leverage


def max_notional(symbol: str, leverage: int) -> Decimal:
    """The largest notional a position may reach at `leverage` (Binance `maxNotionalValue`)."""
    return max(b.notional_cap for b in BRACKETS[symbol] if b.initial_leverage >= leverage)


def _number(value: Decimal) -> int | float:
    """Binance sends these as JSON numbers: ints where integral (the SDK types cum as int)."""
    return int(value) if value == value.to_integral_value() else float(value)


def bracket_view(symbol: str) -> Json:
    """One entry of GET /fapi/v1/leverageBracket."""
    return {
        "symbol": symbol,
        "brackets": [
            {
                "bracket": b.bracket,
                "initialLeverage": b.initial_leverage,
                "notionalCap": _number(b.notional_cap),
                "notionalFloor": _number(b.notional_floor),
                "maintMarginRatio": _number(b.maint_margin_ratio),
                "cum": _number(b.cum),
            }
            for b in BRACKETS[symbol]
        ],
    }
