"""Binance's rate limits: request weight per IP per minute and order counts per account.

Windows are aligned to the sim clock (a minute bucket and a 10-second bucket), like
Binance's interval counters. Past the weight limit a request gets 429 + Retry-After; a
client that keeps sending through 429s is banned with 418, as Binance bans an IP.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sim import errors

WEIGHT_LIMIT_1M = 2400
ORDER_LIMIT_10S = 300
ORDER_LIMIT_1M = 1200
BAN_AFTER_429S = 10
BAN_MS = 120_000


@dataclass
class _Window:
    size_ms: int
    start_ms: int = -1
    count: int = 0

    def current(self, now_ms: int) -> int:
        start = now_ms - now_ms % self.size_ms
        if start != self.start_ms:
            self.start_ms, self.count = start, 0
        return self.count

    def add(self, now_ms: int, amount: int) -> int:
        self.current(now_ms)
        self.count += amount
        return self.count

    def seconds_left(self, now_ms: int) -> int:
        return max(1, -(-(self.start_ms + self.size_ms - now_ms) // 1000))


class RateLimiter:
    """Counts weight and orders; raises the 429/418 answers Binance gives."""

    def __init__(self) -> None:
        self.weight = _Window(60_000)
        self.orders_10s = _Window(10_000)
        self.orders_1m = _Window(60_000)
        self.rejections = _Window(60_000)
        self.banned_until_ms = 0

    def charge_weight(self, now_ms: int, weight: int) -> None:
        if now_ms < self.banned_until_ms:
            raise errors.ip_banned(
                self.banned_until_ms, -(-(self.banned_until_ms - now_ms) // 1000)
            )
        used = self.weight.add(now_ms, weight)
        if used > WEIGHT_LIMIT_1M:
            if self.rejections.add(now_ms, 1) > BAN_AFTER_429S:
                self.banned_until_ms = now_ms + BAN_MS
                raise errors.ip_banned(self.banned_until_ms, BAN_MS // 1000)
            raise errors.too_many_requests(WEIGHT_LIMIT_1M, self.weight.seconds_left(now_ms))

    def charge_order(self, now_ms: int) -> None:
        if self.orders_10s.current(now_ms) >= ORDER_LIMIT_10S:
            raise errors.too_many_orders(ORDER_LIMIT_10S, "10 SECOND")
        if self.orders_1m.current(now_ms) >= ORDER_LIMIT_1M:
            raise errors.too_many_orders(ORDER_LIMIT_1M, "1 MINUTE")
        self.orders_10s.add(now_ms, 1)
        self.orders_1m.add(now_ms, 1)

    def used_weight(self, now_ms: int) -> int:
        return self.weight.current(now_ms)

    def order_counts(self, now_ms: int) -> tuple[int, int]:
        return self.orders_10s.current(now_ms), self.orders_1m.current(now_ms)
