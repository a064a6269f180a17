"""Derived market data: the 24 h rolling statistics and a synthetic order book.

Both follow the seeded price path (`bot.sim.market`), so REST (`/fapi/v1/ticker/24hr`,
`/fapi/v1/depth`) and the streams (`@ticker`, `@bookTicker`) agree with the last price
the matching engine fills at. The book is one tick wide around the last price: a market
BUY fills at the last price, never better than the best ask shown here.
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim.market import MINUTE_MS, Market, _unit

DAY_MS = 24 * 60 * MINUTE_MS


def day_stats(market: Market, symbol: str, now: int) -> dict[str, object]:
    """Binance's 24 h rolling window, from hourly candles of the same price path."""
    candles = market.klines(symbol, "1h", 25, start_ms=now - DAY_MS)
    last = market.last(symbol, now)
    open_price = market.last(symbol, now - DAY_MS)
    high = max([Decimal(c[2]) for c in candles] + [open_price, last])
    low = min([Decimal(c[3]) for c in candles] + [open_price, last])
    volume = sum((Decimal(c[5]) for c in candles), Decimal(0))
    quote = sum((Decimal(c[7]) for c in candles), Decimal(0))
    count = sum(int(c[8]) for c in candles)
    weighted = (quote / volume).quantize(Decimal("0.00001")) if volume else last
    change = last - open_price
    percent = (change / open_price * 100).quantize(Decimal("0.001"))
    last_id = now // 1000
    return {
        "open": open_price,
        "high": high,
        "low": low,
        "last": last,
        "volume": volume,
        "quote": quote,
        "weighted": weighted,
        "change": change,
        "percent": percent,
        "open_time": now - DAY_MS,
        "close_time": now,
        "first_id": last_id - count + 1,
        "last_id": last_id,
        "count": count,
        "last_qty": _size(market, symbol, "lastqty", now // MINUTE_MS),
    }


def book(
    market: Market, symbol: str, now: int, levels: int
) -> tuple[list[list[str]], list[list[str]]]:
    """(bids, asks) as [[price, qty], ...] strings: best bid = last, best ask = last + tick."""
    last = market.last(symbol, now)
    tick = market.specs[symbol].tick_size
    minute = now // MINUTE_MS
    bids = [
        [f"{last - i * tick:f}", f"{_size(market, symbol, f'b{i}', minute):f}"]
        for i in range(levels)
    ]
    asks = [
        [f"{last + (i + 1) * tick:f}", f"{_size(market, symbol, f'a{i}', minute):f}"]
        for i in range(levels)
    ]
    return bids, asks


def _size(market: Market, symbol: str, key: str, minute: int) -> Decimal:
    """A reproducible resting size, a multiple of the symbol's step."""
    step = market.specs[symbol].step_size
    steps = 1 + int(abs(_unit(market.seed, symbol, key, minute)) * 5000)
    return steps * step
