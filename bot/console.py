"""Numbers as an operator reads them: prices at the symbol's tick, quantities at its
step, USDC amounts to the cent, never in exponent form.

Binance sends prices with 8 decimals (``57746.00000000``) and Decimal arithmetic keeps
every digit (``280.1336380078382496014804098``): correct for trading, unreadable on a
console. Only text goes through here; the values the bot trades with stay exact.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from bot.domain.rules import SymbolRules

CENT = Decimal("0.01")


def _at(value: Decimal, step: Decimal, rounding: str) -> str:
    exponent = step.normalize().as_tuple().exponent
    places = Decimal(1).scaleb(min(0, exponent if isinstance(exponent, int) else 0))
    return f"{Decimal(value).quantize(places, rounding=rounding):f}"


def plain(value: Decimal) -> str:
    """The exact value without trailing zeros or exponent (``57813.60000000`` → ``57813.6``),
    for numbers with no symbol at hand."""
    return f"{Decimal(value).normalize():f}"


def at_step(value: Decimal, step: Decimal | None) -> str:
    """``value`` at the decimals of ``step`` (a tick or lot step), to the nearest; exact
    (``plain``) when there is no step."""
    if step is None or step <= 0:
        return plain(value)
    return _at(value, step, ROUND_HALF_EVEN)


def price(value: Decimal, rules: SymbolRules) -> str:
    """A price (or a price distance) at the tick's decimals, to the nearest."""
    return _at(value, rules.tick_size, ROUND_HALF_EVEN)


def qty(value: Decimal, rules: SymbolRules) -> str:
    """A quantity at the step's decimals, rounded down as orders are."""
    return _at(value, rules.step_size, ROUND_DOWN)


def usdc(value: Decimal, rounding: str = ROUND_HALF_EVEN) -> str:
    """An amount of USDC to the cent; ``rounding`` keeps a comparison in the same
    sentence true (a notional over a cap rounds up, one under a minimum rounds down)."""
    return f"{Decimal(value).quantize(CENT, rounding=rounding):f}"
