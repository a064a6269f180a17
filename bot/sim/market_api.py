"""Market-data and fee endpoints beyond prices: 24 h ticker, depth, funding history, fees.

A mixin of `Exchange`, called with the exchange lock held. Shapes and parameter checks
follow Binance's docs and the successor SDK's response models.
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim import errors, quotes
from bot.sim.venue import Json, Venue

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
FUNDING_INTERVAL_MS = 8 * 3_600_000
FUNDING_RATE = Decimal("0.00010000")


class MarketDataApi(Venue):
    def ticker_24hr(self, params: dict[str, str]) -> Json | list[Json]:
        symbol = params.get("symbol")
        symbols = [self.spec(symbol).symbol] if symbol else list(self.specs)
        now = self.now_ms()
        rows = [self._ticker_row(s, now) for s in symbols]
        return rows[0] if symbol else rows

    def _ticker_row(self, symbol: str, now: int) -> Json:
        t = quotes.day_stats(self.market, symbol, now)
        return {
            "symbol": symbol,
            "priceChange": f"{t['change']:f}",
            "priceChangePercent": f"{t['percent']:f}",
            "weightedAvgPrice": f"{t['weighted']:f}",
            "lastPrice": f"{t['last']:f}",
            "lastQty": f"{t['last_qty']:f}",
            "openPrice": f"{t['open']:f}",
            "highPrice": f"{t['high']:f}",
            "lowPrice": f"{t['low']:f}",
            "volume": f"{t['volume']:f}",
            "quoteVolume": f"{t['quote']:f}",
            "openTime": t["open_time"],
            "closeTime": t["close_time"],
            "firstId": t["first_id"],
            "lastId": t["last_id"],
            "count": t["count"],
        }

    def depth(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        limit = depth_limit(params)
        now = self.now_ms()
        bids, asks = quotes.book(self.market, symbol, now, limit)
        return {"lastUpdateId": now, "E": now, "T": now, "bids": bids, "asks": asks}

    def funding_rate_history(self, params: dict[str, str]) -> list[Json]:
        """Settled funding of the past funding times (8 h grid), ascending.

        Without a window Binance returns the most recent 200 (limit default 100, max 1000);
        with one, `startTime` + `limit`.
        """
        symbol = params.get("symbol")
        symbols = [self.spec(symbol).symbol] if symbol else list(self.specs)
        limit = _limit(params, default=100, maximum=1000)
        now = self.now_ms()
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        last_time = now - now % FUNDING_INTERVAL_MS
        if end is not None:
            last_time = min(last_time, end - end % FUNDING_INTERVAL_MS)
        if start is not None:
            first = start + (-start % FUNDING_INTERVAL_MS)
            times = list(range(first, last_time + 1, FUNDING_INTERVAL_MS))[:limit]
        else:
            count = limit if (end is not None or params.get("limit")) else 200
            times = [last_time - i * FUNDING_INTERVAL_MS for i in range(min(count, 1000))][::-1]
        return [
            {
                "symbol": s,
                "fundingRate": f"{FUNDING_RATE:f}",
                "fundingTime": t,
                "markPrice": f"{self.market.mark(s, t):f}",
            }
            for t in times
            for s in symbols
        ]

    def commission_rate(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        return {
            "symbol": symbol,
            "makerCommissionRate": f"{self.fees.maker:f}",
            "takerCommissionRate": f"{self.fees.taker:f}",
            "rpiCommissionRate": "0",
        }


def depth_limit(params: dict[str, str]) -> int:
    raw = params.get("limit") or "500"
    if not raw.isdigit() or int(raw) not in DEPTH_LIMITS:
        raise errors.illegal_value("limit")
    return int(raw)


def _limit(params: dict[str, str], *, default: int, maximum: int) -> int:
    value = _opt_int(params, "limit")
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise errors.illegal_value("limit")
    return value


def _opt_int(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.lstrip("-").isdigit():
        raise errors.illegal_value(name)
    return int(raw)
