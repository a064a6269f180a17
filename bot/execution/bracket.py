"""The three orders of one trade: a MARKET entry, a STOP_MARKET stop loss and a take profit.

Prices are derived from distances and rounded to the tick in the direction that
never makes the trade riskier than the signal implied: the stop moves AWAY from
the entry (a tick wider, never tighter than the market can bear — a stop that is
rounded toward the entry may sit inside the spread and fire at once), the target
moves TOWARD the entry (a tick easier to reach). Both exits are reduce-only (or
closePosition) algo orders, so they can never open or grow a position.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from bot.domain.enums import Side
from bot.domain.records import AlgoOrderRequest, OrderRequest
from bot.domain.rules import SymbolRules
from bot.exchange.orders import market_order, stop_loss, take_profit

ENTRY_SIDE = {"LONG": Side.BUY, "SHORT": Side.SELL}
EXIT_SIDE = {"LONG": Side.SELL, "SHORT": Side.BUY}


@dataclass(frozen=True)
class ExitSettings:
    """Execution parameters from config (``execution:`` section)."""

    working_type: str = "MARK_PRICE"  # config word: MARK_PRICE | LAST_PRICE
    tp_order_style: str = "TAKE_PROFIT_MARKET"  # TAKE_PROFIT | TAKE_PROFIT_MARKET
    price_protect: bool = True
    use_close_position: bool = False


def exit_prices(
    side: str,
    entry_price: Decimal,
    stop_distance: Decimal,
    tp_distance: Decimal,
    rules: SymbolRules,
) -> tuple[Decimal, Decimal]:
    """(stop, target) on the tick: stop rounded away from the entry, target toward it."""
    if side == "LONG":
        stop = rules.round_price(entry_price - stop_distance, rounding=ROUND_DOWN)
        target = rules.round_price(entry_price + tp_distance, rounding=ROUND_DOWN)
    else:
        stop = rules.round_price(entry_price + stop_distance, rounding=ROUND_UP)
        target = rules.round_price(entry_price - tp_distance, rounding=ROUND_UP)
    for name, price in (("stop", stop), ("take-profit", target)):
        if price < max(rules.min_price, rules.tick_size) or (
            rules.max_price > 0 and price > rules.max_price
        ):
            raise ValueError(
                f"{rules.symbol}: {name} price {price} from entry {entry_price} is outside "
                f"PRICE_FILTER [{rules.min_price}, {rules.max_price}]"
            )
    return stop, target


def exit_orders(
    symbol: str,
    side: str,
    qty: Decimal,
    stop: Decimal,
    target: Decimal,
    stop_id: str,
    take_profit_id: str,
    settings: ExitSettings,
) -> tuple[AlgoOrderRequest, AlgoOrderRequest]:
    """(stop loss, take profit) algo orders for a ``side`` (LONG/SHORT) position of
    ``qty``: reduce-only quantity, or ``closePosition`` when configured."""
    exit_side = EXIT_SIDE[side]
    # closePosition is only allowed on STOP_MARKET/TAKE_PROFIT_MARKET; a TAKE_PROFIT
    # limit exit always carries the quantity, reduce-only.
    tp_close = settings.use_close_position and settings.tp_order_style == "TAKE_PROFIT_MARKET"
    stop_order = stop_loss(
        symbol,
        exit_side,
        stop,
        stop_id,
        qty=None if settings.use_close_position else qty,
        close_position=settings.use_close_position,
        working_type=settings.working_type,
        price_protect=settings.price_protect,
    )
    take_profit_order = take_profit(
        symbol,
        exit_side,
        target,
        take_profit_id,
        style=settings.tp_order_style,
        price=target if settings.tp_order_style == "TAKE_PROFIT" else None,
        qty=None if tp_close else qty,
        close_position=tp_close,
        working_type=settings.working_type,
        price_protect=settings.price_protect,
    )
    return stop_order, take_profit_order


def entry_order(symbol: str, side: str, qty: Decimal, client_id: str) -> OrderRequest:
    """The MARKET entry of a ``side`` (LONG/SHORT) position."""
    return market_order(symbol, ENTRY_SIDE[side], qty, client_id)
