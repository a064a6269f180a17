"""The simulated venue: market data, account, orders, positions, algo orders, triggers.

Every public method is called with `self.lock` held by its caller (the gateway, the
control API or the market ticker), so the state has one writer at a time. Events for the
user-data stream are appended to `self.outbox` in the order they happen; the stream hub
drains it.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from bot.sim import errors
from bot.sim.account import AccountState, Fees
from bot.sim.accounts import AccountApi
from bot.sim.algo import AlgoTrading
from bot.sim.feeds import SeededFeed
from bot.sim.funding import FundingSettlement
from bot.sim.margin import MarginEngine
from bot.sim.market import INTERVAL_MS, Clock, KlineRow, Market, PriceFeed
from bot.sim.market_api import MarketDataApi
from bot.sim.stream import ListenKeys
from bot.sim.symbols import SymbolSpec, exchange_info
from bot.sim.trading import Trading
from bot.sim.venue import Json


class Exchange(Trading, AlgoTrading, AccountApi, MarketDataApi, MarginEngine, FundingSettlement):
    def __init__(
        self,
        *,
        seed: int,
        clock: Clock,
        specs: dict[str, SymbolSpec],
        listen_keys: ListenKeys,
        account: AccountState | None = None,
        feed: PriceFeed | None = None,
        fees: Fees | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.specs = specs
        self.market = Market(seed, clock, specs, feed or SeededFeed(seed, specs))
        self.fees = fees or Fees()
        self.listen_keys = listen_keys
        self.account = account or AccountState()
        self.outbox: list[Json] = []
        # Fault: a triggered algo order stays TRIGGERING with no child order (seen on
        # Binance in Oct 2026); a cancel then answers -2011.
        self.stall_triggers = False
        self.margin_calls: set[str] = set()  # positions (or cross assets) past the call ratio
        self.funding_rates: dict[str, Decimal] = {}  # set by tests; default 0.01 %

    def match(self) -> None:
        """Everything that happens because prices or time moved."""
        self.run_triggers()
        self.match_resting()
        self.run_countdowns()
        self.run_funding()
        self.run_margin_checks()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def spec(self, symbol: str | None) -> SymbolSpec:
        if not symbol:
            raise errors.mandatory("symbol")
        spec = self.specs.get(symbol)
        if spec is None:
            raise errors.invalid_symbol()
        return spec

    # --- market data -------------------------------------------------------------------
    def exchange_info(self) -> Json:
        return exchange_info(self.specs, self.now_ms())

    def klines(self, params: dict[str, str]) -> list[KlineRow]:
        spec = self.spec(params.get("symbol"))
        interval = params.get("interval")
        if not interval:
            raise errors.mandatory("interval")
        if interval not in INTERVAL_MS:
            raise errors.bad_request(-1120, "Invalid interval.")
        limit = _int_param(params, "limit")
        if limit is None:
            limit = 500
        elif not 1 <= limit <= 1500:
            raise errors.illegal_value("limit")
        return self.market.klines(
            spec.symbol,
            interval,
            limit,
            _int_param(params, "startTime"),
            _int_param(params, "endTime"),
        )

    def premium_index(self, params: dict[str, str]) -> Json | list[Json]:
        symbol = params.get("symbol")
        if symbol:
            return self.premium(self.spec(symbol).symbol)
        return [self.premium(s) for s in self.specs]

    def premium(self, symbol: str) -> Json:
        """One symbol's premiumIndex row (mark, index, funding rate, next funding time)."""
        now = self.now_ms()
        mark = self.market.mark(symbol)
        eight_h = 8 * 3_600_000
        return {
            "symbol": symbol,
            "markPrice": f"{mark:f}",
            "indexPrice": f"{mark:f}",
            "estimatedSettlePrice": f"{mark:f}",
            "lastFundingRate": f"{self.funding_rate(symbol):.8f}",
            "interestRate": "0.00010000",
            "nextFundingTime": now - now % eight_h + eight_h,
            "time": now,
        }

    def ticker_price(self, params: dict[str, str]) -> Json | list[Json]:
        now = self.now_ms()
        symbol = params.get("symbol")
        symbols = [self.spec(symbol).symbol] if symbol else list(self.specs)
        rows = [{"symbol": s, "price": f"{self.market.last(s):f}", "time": now} for s in symbols]
        return rows[0] if symbol else rows


def _int_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.illegal_value(name) from None
