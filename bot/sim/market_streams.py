"""Market streams: their names, the root that serves them, their cadence and payloads.

Names are Binance's (`<symbol>@kline_<interval>`, `<symbol>@markPrice[@1s]`,
`<symbol>@ticker`, `<symbol>@bookTicker`; symbols lower case). Since the 2026-03-06 split
`bookTicker` (and depth) live on `/public`, the others on `/market`; a stream asked for on
the wrong root, or a name the simulator does not serve, is accepted and stays silent, as
Binance's wrong-root subscription "fails silently". Payload field names follow Binance's
docs and validate in the successor SDK's stream models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.sim import quotes
from bot.sim.market import INTERVAL_MS, KlineRow
from bot.sim.venue import Json

if TYPE_CHECKING:
    from bot.sim.exchange import Exchange

_NAME = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?:(?P<kline>kline_(?P<interval>\w+))|(?P<mark>markPrice(?:@1s)?)"
    r"|(?P<ticker>ticker)|(?P<book>bookTicker))$"
)
# Update speeds from Binance's stream pages (bookTicker is "real-time": every sim tick).
PERIOD_S = {"kline": 0.25, "markPrice": 3.0, "markPrice@1s": 1.0, "ticker": 2.0, "bookTicker": 0.25}
ROOT = {"kline": "market", "markPrice": "market", "ticker": "market", "bookTicker": "public"}


@dataclass(frozen=True)
class MarketStream:
    name: str
    symbol: str  # upper case, as in exchangeInfo
    kind: str  # kline | markPrice | ticker | bookTicker
    interval: str = ""
    speed: str = ""  # "markPrice@1s" when the 1 s mark stream was asked for

    @property
    def root(self) -> str:
        return ROOT[self.kind]

    @property
    def period_s(self) -> float:
        return PERIOD_S[self.speed or self.kind]


def parse(name: str, symbols: set[str]) -> MarketStream | None:
    """The stream a name denotes, or None (unknown name or symbol: silence)."""
    match = _NAME.match(name)
    if not match or match["symbol"].upper() not in symbols:
        return None
    symbol = match["symbol"].upper()
    if match["kline"]:
        if match["interval"] not in INTERVAL_MS:
            return None
        return MarketStream(name, symbol, "kline", interval=match["interval"])
    if match["mark"]:
        return MarketStream(name, symbol, "markPrice", speed=match["mark"])
    return MarketStream(name, symbol, "ticker" if match["ticker"] else "bookTicker")


class MarketFeed:
    """Builds the payloads of due streams; called by the hub's dispatcher under the lock.

    A kline stream also sends the closing update (`x: true`) of a candle when the next one
    opens, as Binance does, so a client that acts on closed candles sees each one once.
    """

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self._next_due: dict[str, float] = {}
        self._kline_open: dict[str, int] = {}

    def due(self, names: set[str], root: str, clock_s: float) -> dict[str, list[Json]]:
        out: dict[str, list[Json]] = {}
        for name in names:
            stream = parse(name, set(self.exchange.specs))
            if stream is None or stream.root != root:
                continue
            key = f"{root}|{name}"
            if self._next_due.get(key, 0.0) > clock_s:
                continue
            self._next_due[key] = clock_s + stream.period_s
            out[name] = self.payloads(stream)
        return out

    def payloads(self, stream: MarketStream) -> list[Json]:
        now = self.exchange.now_ms()
        if stream.kind == "kline":
            return self._klines(stream, now)
        if stream.kind == "markPrice":
            return [self.mark_price(stream.symbol, now)]
        if stream.kind == "ticker":
            return [self.ticker(stream.symbol, now)]
        return [self.book_ticker(stream.symbol, now)]

    def _klines(self, stream: MarketStream, now: int) -> list[Json]:
        market = self.exchange.market
        step = INTERVAL_MS[stream.interval]
        current = now - now % step
        frames = []
        previous = self._kline_open.get(stream.name)
        if previous is not None and previous < current:
            row = market.klines(stream.symbol, stream.interval, 1, start_ms=previous)[0]
            frames.append(kline_event(stream.symbol, stream.interval, row, now, closed=True))
        self._kline_open[stream.name] = current
        row = market.klines(stream.symbol, stream.interval, 1)[-1]
        frames.append(kline_event(stream.symbol, stream.interval, row, now, closed=False))
        return frames

    def mark_price(self, symbol: str, now: int) -> Json:
        premium = self.exchange.premium(symbol)
        return {
            "e": "markPriceUpdate",
            "E": now,
            "s": symbol,
            "p": premium["markPrice"],
            "i": premium["indexPrice"],
            "P": premium["estimatedSettlePrice"],
            "r": premium["lastFundingRate"],
            "T": premium["nextFundingTime"],
        }

    def ticker(self, symbol: str, now: int) -> Json:
        t = quotes.day_stats(self.exchange.market, symbol, now)
        return {
            "e": "24hrTicker",
            "E": now,
            "s": symbol,
            "p": f"{t['change']:f}",
            "P": f"{t['percent']:f}",
            "w": f"{t['weighted']:f}",
            "c": f"{t['last']:f}",
            "Q": f"{t['last_qty']:f}",
            "o": f"{t['open']:f}",
            "h": f"{t['high']:f}",
            "l": f"{t['low']:f}",
            "v": f"{t['volume']:f}",
            "q": f"{t['quote']:f}",
            "O": t["open_time"],
            "C": t["close_time"],
            "F": t["first_id"],
            "L": t["last_id"],
            "n": t["count"],
        }

    def book_ticker(self, symbol: str, now: int) -> Json:
        bids, asks = quotes.book(self.exchange.market, symbol, now, 1)
        return {
            "e": "bookTicker",
            "u": now,
            "E": now,
            "T": now,
            "s": symbol,
            "b": bids[0][0],
            "B": bids[0][1],
            "a": asks[0][0],
            "A": asks[0][1],
        }


def kline_event(symbol: str, interval: str, row: KlineRow, now: int, *, closed: bool) -> Json:
    """A `kline` event from a REST kline row (same numbers, Binance's stream field names)."""
    trades = int(row[8])
    return {
        "e": "kline",
        "E": now,
        "s": symbol,
        "k": {
            "t": row[0],
            "T": row[6],
            "s": symbol,
            "i": interval,
            "f": max(0, now // 1000 - trades),
            "L": now // 1000,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": trades,
            "x": closed,
            "q": row[7],
            "V": row[9],
            "Q": row[10],
            "B": "0",
        },
    }
