"""Funding settlement at Binance's funding times: 00:00, 08:00 and 16:00 UTC (sim clock).

A mixin of `Exchange`, called with the exchange lock held after every price or time
move. At each funding time every open position pays (rate > 0: longs pay shorts)
`position notional at the mark × rate`, the rate being the symbol's `lastFundingRate`
published by `premiumIndex` (0.01 % unless a test sets another with
`Simulator.set_funding_rate`). Each payment is one FUNDING_FEE income row and one
ACCOUNT_UPDATE with `a.S` = the symbol, `bc` = the payment and, for an isolated position
only, that position (a cross payment pushes the balance alone), with `T` = the funding
time, the `time` of the income row: the bot counts a payment once by that pair.

A fresh account starts at the current funding period; a state file remembers the last
settled time, so a process restarted hours later settles every funding time it missed.
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim.account import ZERO
from bot.sim.venue import Venue

FUNDING_INTERVAL_MS = 8 * 3_600_000
DEFAULT_FUNDING_RATE = Decimal("0.0001")
D8 = Decimal("0.00000001")


class FundingSettlement(Venue):
    def funding_rate(self, symbol: str) -> Decimal:
        return self.funding_rates.get(symbol, DEFAULT_FUNDING_RATE)

    def run_funding(self) -> None:
        now = self.now_ms()
        due = now - now % FUNDING_INTERVAL_MS
        if not self.account.last_funding_ms:
            self.account.last_funding_ms = due
            return
        while self.account.last_funding_ms < due:
            self.account.last_funding_ms += FUNDING_INTERVAL_MS
            self._settle_funding(self.account.last_funding_ms)

    def _settle_funding(self, funding_time: int) -> None:
        for p in list(self.account.positions.values()):
            if not p.amount:
                continue
            rate = self.funding_rate(p.symbol)
            payment = -(p.amount * self.market.mark(p.symbol) * rate).quantize(D8)
            if payment == 0:
                continue
            asset = self.asset_of(p.symbol)
            self.account.wallet[asset] = self.account.wallet.get(asset, ZERO) + payment
            self._income(p.symbol, "FUNDING_FEE", payment, asset, funding_time)
            event = self.account_update_event(
                "FUNDING_FEE",
                p.symbol if self.is_isolated(p) else None,
                asset,
                change=payment,
                funding_symbol=p.symbol,
            )
            event["T"] = funding_time
            self.outbox.append(event)
