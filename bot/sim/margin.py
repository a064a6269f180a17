"""Maintenance margin, liquidation price, MARGIN_CALL and liquidation (one-way mode).

A mixin of `Exchange`, called with the exchange lock held, after every price or time
move (`match`). Figures follow Binance's USDⓈ-M formulas:

- maintenance margin = notional at mark × MMR - cum, from the position's bracket;
- liquidation price (one-way) LP = (WB - TMM1 + UPNL1 + cum - side·|q|·EP) / (|q|·MMR - side·|q|),
  WB = the isolated wallet (isolated; TMM1 = UPNL1 = 0) or the cross wallet, TMM1/UPNL1 the
  maintenance margin and unrealised PnL of the *other* cross positions of the margin asset;
- liquidation when margin balance ≤ maintenance margin (i.e. the mark crossed LP).

Choices where Binance publishes no exact rule (noted in the README):
- the bracket is the one of the notional at the current mark (as ccxt computes it);
- MARGIN_CALL is pushed once when the margin ratio (maintenance / margin balance) reaches
  80 % (Binance's recommended ceiling and default alert), again only after it fell below;
- the liquidation closes the whole position (isolated) or every cross position of the
  asset at once, after expiring their open and conditional orders; the engine's order is a
  LIMIT IOC at the bankruptcy price with client id `autoclose-<ms>`, filled at the mark
  (never worse than bankruptcy) with `x=CALCULATED`, taker fee, then the clearance fee
  (exchangeInfo `liquidationFee` × notional, capped by the margin left) as an
  INSURANCE_CLEAR income row and ACCOUNT_UPDATE.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from bot.sim import views
from bot.sim.account import ZERO, Order, Position, unrealised
from bot.sim.brackets import bracket_for
from bot.sim.venue import Json, Venue

D8 = Decimal("0.00000001")
MARGIN_CALL_RATIO = Decimal("0.8")


class MarginEngine(Venue):
    # --- figures -----------------------------------------------------------------------
    def notional(self, p: Position) -> Decimal:
        return p.amount * self.market.mark(p.symbol)

    def maint_margin(self, p: Position) -> Decimal:
        if not p.amount:
            return ZERO
        notional = self.notional(p)
        return bracket_for(p.symbol, notional).maint_margin(notional)

    def is_isolated(self, p: Position) -> bool:
        return self.account.margin_type_of(p.symbol) == "isolated"

    def open_positions(self, asset: str, *, isolated: bool) -> list[Position]:
        return [
            p
            for p in self.account.positions.values()
            if p.amount and self.asset_of(p.symbol) == asset and self.is_isolated(p) == isolated
        ]

    def cross_wallet(self, asset: str) -> Decimal:
        """Wallet balance minus the isolated positions' wallets (Binance `cw`)."""
        isolated = self.open_positions(asset, isolated=True)
        return self.account.wallet.get(asset, ZERO) - sum(
            (self._isolated_wallet(p) for p in isolated), ZERO
        )

    def _others(self, p: Position) -> list[Position]:
        if self.is_isolated(p):
            return []
        return [
            o for o in self.open_positions(self.asset_of(p.symbol), isolated=False) if o is not p
        ]

    def _margin_wallet(self, p: Position) -> Decimal:
        if self.is_isolated(p):
            return self._isolated_wallet(p)
        return self.cross_wallet(self.asset_of(p.symbol))

    def liquidation_price(self, p: Position) -> Decimal:
        """Binance's one-way formula; 0 when flat or when no price liquidates (LP ≤ 0)."""
        if not p.amount:
            return ZERO
        others = self._others(p)
        tmm = sum((self.maint_margin(o) for o in others), ZERO)
        upnl = sum((unrealised(o, self.market.mark(o.symbol)) for o in others), ZERO)
        side = 1 if p.amount > 0 else -1
        qty = abs(p.amount)
        b = bracket_for(p.symbol, self.notional(p))
        numerator = self._margin_wallet(p) - tmm + upnl + b.cum - side * qty * p.entry_price
        price = numerator / (qty * b.maint_margin_ratio - side * qty)
        return max(ZERO, price).quantize(D8)

    def _bankruptcy_price(self, p: Position) -> Decimal:
        """The price at which the position's margin balance is zero."""
        upnl = sum((unrealised(o, self.market.mark(o.symbol)) for o in self._others(p)), ZERO)
        return p.entry_price - (self._margin_wallet(p) + upnl) / p.amount

    # --- the engine --------------------------------------------------------------------
    def run_margin_checks(self) -> None:
        held = {self.asset_of(p.symbol) for p in self.account.positions.values() if p.amount}
        for asset in sorted(held):  # a flat position has nothing at risk
            for p in self.open_positions(asset, isolated=True):
                margin = self._isolated_wallet(p) + unrealised(p, self.market.mark(p.symbol))
                self._check(f"{p.symbol}|{p.side}", margin, [p], None)
            cross = self.open_positions(asset, isolated=False)
            if cross:
                wallet = self.cross_wallet(asset)
                margin = wallet + sum(
                    (unrealised(p, self.market.mark(p.symbol)) for p in cross), ZERO
                )
                self._check(f"cross|{asset}", margin, cross, wallet)

    def _check(
        self, key: str, margin: Decimal, positions: list[Position], cross_wallet: Decimal | None
    ) -> None:
        maint = sum((self.maint_margin(p) for p in positions), ZERO)
        if margin <= maint:
            self.margin_calls.discard(key)
            for p in positions:
                if p.amount:
                    self._liquidate(p)
        elif maint >= margin * MARGIN_CALL_RATIO:
            if key not in self.margin_calls:
                self.margin_calls.add(key)
                self.outbox.append(self._margin_call_event(positions, cross_wallet))
        else:
            self.margin_calls.discard(key)

    def _margin_call_event(self, positions: list[Position], cross_wallet: Decimal | None) -> Json:
        rows = []
        for p in positions:
            mark = self.market.mark(p.symbol)
            rows.append(
                {
                    "s": p.symbol,
                    "ps": p.side,
                    "pa": f"{p.amount:f}",
                    "mt": "ISOLATED" if self.is_isolated(p) else "CROSSED",
                    "iw": f"{self._isolated_wallet(p).quantize(D8):f}",
                    "mp": f"{mark:f}",
                    "up": f"{unrealised(p, mark).quantize(D8):f}",
                    "mm": f"{self.maint_margin(p).quantize(D8):f}",
                }
            )
        event: Json = {"e": "MARGIN_CALL", "E": self.now_ms()}
        if cross_wallet is not None:  # "cw": cross wallet, only for cross positions
            event["cw"] = f"{cross_wallet.quantize(D8):f}"
        event["p"] = rows
        return event

    def _expire_orders_of(self, symbol: str) -> None:
        """Open orders go first: EXPIRED with `er` 5 ("expired when the account was
        liquidated"). Conditional orders go too, as the stop orders they replaced did
        (unconfirmed for the Algo Service: we answer EXPIRED, its "cancelled by the system")."""
        for order in list(self.account.orders.values()):
            if order.is_open and order.symbol == symbol:
                self._finish(order, "EXPIRED", "5")
        for algo in list(self.account.algo_orders.values()):
            if algo.is_open and algo.symbol == symbol:
                self._set_status(algo, "EXPIRED")

    def _liquidate(self, p: Position) -> None:
        spec = self.specs[p.symbol]
        now = self.now_ms()
        self._expire_orders_of(p.symbol)
        long = p.amount > 0
        qty = abs(p.amount)
        margin_before = self._margin_wallet(p)
        bankruptcy = self._bankruptcy_price(p)
        tick = spec.tick_size
        # the engine's price: bankruptcy, on the tick grid, never worse for the trader
        order_price = (bankruptcy / tick).quantize(
            Decimal(1), ROUND_CEILING if long else ROUND_FLOOR
        ) * tick
        fill_price = (self.market.mark(p.symbol) / tick).quantize(Decimal(1), ROUND_HALF_UP) * tick
        fill_price = max(fill_price, order_price) if long else min(fill_price, order_price)
        order = Order(
            order_id=self.account.take_id("order"),
            client_order_id=f"autoclose-{now}",
            symbol=p.symbol,
            side="SELL" if long else "BUY",
            type="LIMIT",
            orig_type="LIMIT",
            time_in_force="IOC",
            orig_qty=qty,
            price=max(order_price, tick),
            stop_price=ZERO,
            reduce_only=False,
            close_position=False,
            position_side=p.side,
            working_type="CONTRACT_PRICE",
            price_protect=False,
            time=now,
            update_time=now,
        )
        self.account.orders[order.order_id] = order
        self.outbox.append(views.order_trade_update(order, "NEW", now))
        self.fill(order, qty, fill_price, maker=False, execution="CALCULATED")
        trade = self.account.trades[-1]
        left = margin_before + trade.realized_pnl - trade.commission
        if not self.is_isolated(p):
            left = self.cross_wallet(self.asset_of(p.symbol))
        fee_rate = Decimal(spec.liquidation_fee)
        fee = min((qty * fill_price * fee_rate).quantize(D8), max(ZERO, left).quantize(D8))
        if fee > 0:
            asset = self.asset_of(p.symbol)
            self.account.wallet[asset] -= fee
            self._income(p.symbol, "INSURANCE_CLEAR", -fee, asset, now)
            self.outbox.append(
                self.account_update_event("INSURANCE_CLEAR", p.symbol, asset, change=-fee)
            )
