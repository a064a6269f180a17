"""TRAILING_STOP_MARKET algo orders: their parameters and the trail itself.

Binance rules (New-Algo-Order, changelog): `callbackRate` is a percent within
[0.1, 20] (the ceiling since 2026-10-23); `activatePrice` is optional (without it the
trail starts at placement, from the current price); `triggerPrice` is not taken (-1106);
an activation price already reached would trigger at once (-2021). Once active, a SELL
trail follows the highest price since activation and fires when the price falls
`callbackRate` % below it; a BUY trail mirrors that from the lowest price.

Unconfirmed: the code for a callbackRate out of range (we answer -1130, the generic
"invalid value"), and whether a trail without `activatePrice` pushes `ia:false` first
(we push one NEW with `ia:true`).
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim import errors
from bot.sim.account import ZERO, AlgoOrder
from bot.sim.symbols import SymbolSpec
from bot.sim.validation import check_price, decimal_param, optional_decimal_param

MIN_CALLBACK_RATE = Decimal("0.1")
MAX_CALLBACK_RATE = Decimal("20")  # since 2026-10-23 (was 10)


def trailing_params(
    spec: SymbolSpec, params: dict[str, str], side: str, price: Decimal
) -> tuple[Decimal, Decimal]:
    """(activate price or 0, callback rate), validated as Binance does."""
    if params.get("triggerPrice"):
        raise errors.not_required("triggerPrice")
    rate = decimal_param(params, "callbackRate")
    if not MIN_CALLBACK_RATE <= rate <= MAX_CALLBACK_RATE:
        raise errors.illegal_value("callbackRate")
    activate = optional_decimal_param(params, "activatePrice")
    if activate is None:
        return ZERO, rate
    activate = check_price(spec, activate)
    if (activate <= price) if side == "SELL" else (activate >= price):
        raise errors.would_immediately_trigger()
    return activate, rate


def activates(algo: AlgoOrder, price: Decimal) -> bool:
    """Whether an inactive trail starts at this price."""
    return price >= algo.activate_price if algo.side == "SELL" else price <= algo.activate_price


def follow(algo: AlgoOrder, price: Decimal) -> bool:
    """Move the anchor with the price; True when the price is back by the callback."""
    back = algo.callback_rate / 100
    if algo.side == "SELL":
        algo.extreme = max(algo.extreme, price)
        return price <= algo.extreme * (1 - back)
    algo.extreme = min(algo.extreme, price)
    return price >= algo.extreme * (1 + back)
