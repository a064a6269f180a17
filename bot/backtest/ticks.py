"""How one historical candle moves an exchange engine's market: the one stepping shared by
the backtest's driver and the parity check's stepped simulator, so both venues see the
same ticks, matches and funding rates.

A candle replays as four ticks, open → first extreme → second extreme → close
(``tick_path``); on the way from one tick to the next the price stops at every resting
trigger or limit price it crosses, so a stop crossed inside a bar fills at its trigger
and one gapped through (the jump to the open) at the open. Funding rates due at the
candle's close are in force when the engine settles them there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from bot.backtest.data import Bar
from bot.backtest.feed import CandleFeed
from bot.sim.exchange import Exchange
from bot.sim.funding import FUNDING_INTERVAL_MS

TICK_ORDERS = ("ohlc", "adaptive")


class SteppedVenue(Protocol):
    """An engine whose clock the caller moves: the backtest's, or the stepped simulator."""

    exchange: Exchange

    def set_time(self, at_ms: int) -> None: ...
    def run_market(self) -> None: ...


def tick_path(bar: Bar, order: str) -> list[Decimal]:
    """The candle's ticks: ``ohlc`` high first; ``adaptive`` the extreme nearer the open."""
    high_first = order == "ohlc" or (bar.high - bar.open) <= (bar.open - bar.low)
    middle = [bar.high, bar.low] if high_first else [bar.low, bar.high]
    return [bar.open, *middle, bar.close]


def step_candle(
    venue: SteppedVenue,
    feed: CandleFeed,
    candles: Mapping[str, Bar],
    funding: Mapping[str, Mapping[int, Decimal]],
    tick_order: str,
) -> int:
    """Replay one candle per symbol (all with the same open); returns its close (ms),
    where the venue's clock then stands, matched."""
    step = feed.step_ms
    open_ms = next(iter(candles.values())).open_ms
    paths = {symbol: tick_path(bar, tick_order) for symbol, bar in candles.items()}
    for k in range(4):
        venue.set_time(open_ms + k * step // 4)
        for symbol, path in paths.items():
            _move(venue, feed, symbol, path[k], jump=k == 0)
    close_ms = open_ms + step
    exchange = venue.exchange
    if close_ms % FUNDING_INTERVAL_MS == 0:  # the rate is in force when the time comes
        with exchange.lock:
            for symbol in candles:
                rate = funding.get(symbol, {}).get(close_ms, Decimal(0))
                exchange.funding_rates[symbol] = rate
    venue.set_time(close_ms)
    venue.run_market()
    return close_ms


def _move(
    venue: SteppedVenue, feed: CandleFeed, symbol: str, target: Decimal, *, jump: bool
) -> None:
    """To ``target``, matching at every resting price crossed on the way (none on a jump)."""
    exchange = venue.exchange
    with exchange.lock:
        if not _exposed(exchange):  # no tick can fill or liquidate: the close matches
            feed.set_price(symbol, target)
            return
        current = feed.last(symbol, 0)
        premium = feed.premium(symbol, exchange.clock.now_ms())
        while not jump and current != target:
            rising = target > current
            crossed = [
                price
                for price in _resting_prices(exchange, symbol, premium)
                if (current < price < target if rising else target < price < current)
            ]
            if not crossed:
                break
            current = min(crossed) if rising else max(crossed)
            feed.set_price(symbol, current)
            venue.run_market()
        feed.set_price(symbol, target)
        venue.run_market()


def _exposed(exchange: Exchange) -> bool:
    """An order or algo order rests, or a position is held (the engine lock held)."""
    account = exchange.account
    return bool(
        account.open_orders()
        or account.open_algo_orders()
        or any(p.amount for p in account.positions.values())
    )


def _resting_prices(exchange: Exchange, symbol: str, premium: Decimal) -> list[Decimal]:
    """The last prices at which open stops trigger (a mark-price trigger less the mark's
    ``premium`` over the last price) and prices of resting LIMIT orders of ``symbol``."""
    account = exchange.account
    prices = [
        a.trigger_price - (premium if a.working_type == "MARK_PRICE" else 0)
        for a in account.open_algo_orders()
        if a.symbol == symbol and a.order_type != "TRAILING_STOP_MARKET"
    ]
    prices += [o.price for o in account.open_orders() if o.symbol == symbol and o.type == "LIMIT"]
    return prices
