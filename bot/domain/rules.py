"""A symbol's trading rules as Decimals, and the pre-send gate: pure domain logic.

Binance rejects an order whose price or quantity has more precision than the
symbol allows (-1111), is not a multiple of the tick/step (-4014/-4023), is too
small (-4004, -4164 MIN_NOTIONAL) or too far from the mark (PERCENT_PRICE).
Rounding here and checking before sending means the bot learns about such a
problem from a clear local reason instead of a rejected request. Built from the
wire by :func:`bot.exchange.rules.rules_from_exchange_info`; sizing, brackets and
RiskGuard import it from here, never from the I/O package.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal


def _step_round(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round to a multiple of ``step`` and give it the step's exponent (no '1E+1' forms)."""
    if step <= 0:
        return value
    units = (value / step).to_integral_value(rounding=rounding)
    exponent = step.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # "n"/"N"/"F": NaN or infinity
        raise ValueError(f"step {step} is not finite")
    return (units * step).quantize(Decimal(1).scaleb(min(0, exponent)))


@dataclass(frozen=True)
class SymbolRules:
    """The filters of one symbol, parsed once from exchangeInfo."""

    symbol: str
    margin_asset: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    multiplier_up: Decimal
    multiplier_down: Decimal

    def round_price(self, price: Decimal, *, rounding: str = ROUND_HALF_UP) -> Decimal:
        """Round to the tick. Default is nearest (half up); a stop trigger may ask for
        ROUND_DOWN/ROUND_UP so that rounding never moves it to the riskier side."""
        return _step_round(Decimal(price), self.tick_size, rounding)

    def round_qty(self, qty: Decimal, *, market: bool) -> Decimal:
        """Round down to the step (MARKET_LOT_SIZE's for market orders): never more than asked."""
        step = self.market_step_size if market else self.step_size
        return _step_round(Decimal(qty), step, ROUND_DOWN)

    def violation(
        self,
        *,
        qty: Decimal,
        price: Decimal | None,
        mark_price: Decimal,
        market: bool,
        reduce_only: bool,
        side: str | None = None,
    ) -> str | None:
        """None when Binance would accept these values; else the reason, naming the filter.

        ``price`` is None for market orders (the notional then uses ``mark_price``).
        MIN_NOTIONAL is waived for reduce-only / closePosition exits so a dust
        position can always be closed. PERCENT_PRICE is checked against ``side``
        when given, else against both bounds.
        """
        reason = self._lot_reason(qty, market) or self._price_reason(price, mark_price, side)
        notional = qty * (mark_price if price is None else price)
        if reason is None and not reduce_only and notional < self.min_notional:
            reason = f"notional {notional} is below MIN_NOTIONAL {self.min_notional}"
        return None if reason is None else f"{self.symbol}: {reason}"

    def _lot_reason(self, qty: Decimal, market: bool) -> str | None:
        lot = "MARKET_LOT_SIZE" if market else "LOT_SIZE"
        step, min_qty, max_qty = (
            (self.market_step_size, self.market_min_qty, self.market_max_qty)
            if market
            else (self.step_size, self.min_qty, self.max_qty)
        )
        if qty % step != 0:
            return f"quantity {qty} is not a multiple of {lot} stepSize {step} (precision)"
        if qty < min_qty:
            return f"quantity {qty} is below {lot} minQty {min_qty}"
        if qty > max_qty:
            return f"quantity {qty} is above {lot} maxQty {max_qty}"
        return None

    def _price_reason(self, price: Decimal | None, mark: Decimal, side: str | None) -> str | None:
        if price is None:
            return None
        if price % self.tick_size != 0:
            return f"price {price} is not a multiple of PRICE_FILTER tickSize {self.tick_size}"
        if price < self.min_price or (self.max_price > 0 and price > self.max_price):
            return f"price {price} is outside PRICE_FILTER [{self.min_price}, {self.max_price}]"
        upper, lower = mark * self.multiplier_up, mark * self.multiplier_down
        if side != "SELL" and price > upper:
            return f"price {price} is above PERCENT_PRICE limit {upper} (mark {mark})"
        if side != "BUY" and price < lower:
            return f"price {price} is below PERCENT_PRICE limit {lower} (mark {mark})"
        return None
