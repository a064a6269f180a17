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

from bot.client_ids import Leg, make_client_id
from bot.exchange.orders import market_order_params, stop_loss_params, take_profit_params
from bot.exchange.rules import SymbolRules
from bot.strategy.base import Signal

ENTRY_SIDE = {"LONG": "BUY", "SHORT": "SELL"}
EXIT_SIDE = {"LONG": "SELL", "SHORT": "BUY"}


@dataclass(frozen=True)
class ExitSettings:
    """Execution parameters from config (``execution:`` section)."""

    working_type: str = "MARK_PRICE"  # config word: MARK_PRICE | LAST_PRICE
    tp_order_style: str = "TAKE_PROFIT_MARKET"  # TAKE_PROFIT | TAKE_PROFIT_MARKET
    price_protect: bool = True
    use_close_position: bool = False


@dataclass(frozen=True)
class Exits:
    stop_loss: dict[str, str]
    take_profit: dict[str, str]
    stop_price: Decimal
    take_profit_price: Decimal


@dataclass(frozen=True)
class Bracket:
    entry: dict[str, str]
    stop_loss: dict[str, str]
    take_profit: dict[str, str]
    stop_price: Decimal
    take_profit_price: Decimal


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


def plan_exits(
    signal: Signal,
    qty: Decimal,
    entry_price: Decimal,
    rules: SymbolRules,
    settings: ExitSettings,
    *,
    prefix: str,
) -> Exits:
    """SL and TP algo-order params for a filled quantity at the actual entry price."""
    stop, target = exit_prices(
        signal.side, entry_price, signal.stop_distance, signal.take_profit_distance, rules
    )
    side = EXIT_SIDE[signal.side]
    # closePosition is only allowed on STOP_MARKET/TAKE_PROFIT_MARKET; a TAKE_PROFIT
    # limit exit always carries the filled quantity, reduce-only.
    tp_close = settings.use_close_position and settings.tp_order_style == "TAKE_PROFIT_MARKET"
    stop_loss = stop_loss_params(
        signal.symbol,
        side,
        stop,
        make_client_id(signal.symbol, signal.candle_open_ms, Leg.STOP_LOSS, prefix=prefix),
        qty=None if settings.use_close_position else qty,
        close_position=settings.use_close_position,
        working_type=settings.working_type,
        price_protect=settings.price_protect,
    )
    take_profit = take_profit_params(
        signal.symbol,
        side,
        target,
        make_client_id(signal.symbol, signal.candle_open_ms, Leg.TAKE_PROFIT, prefix=prefix),
        style=settings.tp_order_style,
        price=target if settings.tp_order_style == "TAKE_PROFIT" else None,
        qty=None if tp_close else qty,
        close_position=tp_close,
        working_type=settings.working_type,
        price_protect=settings.price_protect,
    )
    return Exits(stop_loss, take_profit, stop, target)


def plan_bracket(
    signal: Signal,
    qty: Decimal,
    entry_price_estimate: Decimal,
    rules: SymbolRules,
    *,
    working_type: str,
    tp_order_style: str,
    price_protect: bool,
    use_close_position: bool,
    prefix: str,
) -> Bracket:
    """Entry plus exits priced from the estimated entry; after the fill the order
    manager re-plans the exits (``plan_exits``) from the real fill price and quantity."""
    settings = ExitSettings(working_type, tp_order_style, price_protect, use_close_position)
    exits = plan_exits(signal, qty, entry_price_estimate, rules, settings, prefix=prefix)
    entry = market_order_params(
        signal.symbol,
        ENTRY_SIDE[signal.side],
        qty,
        make_client_id(signal.symbol, signal.candle_open_ms, Leg.ENTRY, prefix=prefix),
    )
    return Bracket(
        entry, exits.stop_loss, exits.take_profit, exits.stop_price, exits.take_profit_price
    )
