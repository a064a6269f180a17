"""Account endpoints: balances, positions, leverage, margin type, position mode, history.

A mixin of `Exchange`, called with the exchange lock held. USDC accounting as on Binance:
the `/fapi/v3/account` top-level totals describe USDT only; USDC lives in `assets[]`.
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim import brackets, errors, views
from bot.sim.account import ZERO, Income, Position, unrealised
from bot.sim.validation import bool_param
from bot.sim.venue import Json, Venue

D8 = Decimal("0.00000001")


def q8(value: Decimal) -> str:
    return f"{value.quantize(D8):f}"


INCOME_DEFAULT_SPAN_MS = 7 * 86_400_000  # no startTime/endTime: the last 7 days


class AccountApi(Venue):
    def asset_of(self, symbol: str) -> str:
        return self.specs[symbol].margin_asset

    def _position_margin(self, p: Position) -> Decimal:
        return abs(p.amount) * self.market.mark(p.symbol) / self.account.leverage_of(p.symbol)

    def _order_margin(self, asset: str) -> Decimal:
        total = ZERO
        for o in self.account.orders.values():
            if o.is_open and not o.reduce_only and self.asset_of(o.symbol) == asset:
                total += (
                    (o.orig_qty - o.executed_qty) * o.price / self.account.leverage_of(o.symbol)
                )
        return total

    def _asset_totals(self, asset: str) -> dict[str, Decimal]:
        positions = [
            p
            for p in self.account.positions.values()
            if p.amount and self.asset_of(p.symbol) == asset
        ]
        upnl = sum((unrealised(p, self.market.mark(p.symbol)) for p in positions), ZERO)
        position_im = sum((self._position_margin(p) for p in positions), ZERO)
        order_im = self._order_margin(asset)
        wallet = self.account.wallet.get(asset, ZERO)
        available = wallet + upnl - position_im - order_im
        return {
            "maint": sum((self.maint_margin(p) for p in positions), ZERO),
            "cross": self.cross_wallet(asset),
            "wallet": wallet,
            "upnl": upnl,
            "position_im": position_im,
            "order_im": order_im,
            "available": available,
        }

    def available_balance(self, asset: str) -> Decimal:
        return self._asset_totals(asset)["available"]

    def _isolated_wallet(self, p: Position) -> Decimal:
        if self.account.margin_type_of(p.symbol) != "isolated" or not p.amount:
            return ZERO
        return (abs(p.amount) * p.entry_price / self.account.leverage_of(p.symbol)).quantize(D8)

    def account_update_event(
        self,
        reason: str,
        symbol: str | None,
        asset: str,
        change: Decimal = ZERO,
        funding_symbol: str | None = None,
    ) -> Json:
        """ACCOUNT_UPDATE with the asset's balance (`bc` = `change`) and, when `symbol` is
        given, that symbol's positions; `funding_symbol` becomes `a.S`."""
        positions = []
        if symbol is not None:
            for p in self.account.positions_of(symbol):
                positions.append(
                    views.position_entry(
                        p,
                        p.side,
                        self.market.mark(symbol),
                        self.account.margin_type_of(symbol),
                        self._isolated_wallet(p),
                    )
                )
        wallet = self.account.wallet.get(asset, ZERO)
        balances = [views.balance_entry(asset, wallet, change, self.cross_wallet(asset))]
        return views.account_update(reason, self.now_ms(), balances, positions, funding_symbol)

    # --- REST views --------------------------------------------------------------------
    def position_risk(self, params: dict[str, str]) -> list[Json]:
        symbol = params.get("symbol")
        if symbol:
            self.spec(symbol)
        open_symbols = {o.symbol for o in self.account.orders.values() if o.is_open}
        rows = []
        for p in self.account.positions.values():
            if symbol not in (None, p.symbol):
                continue
            if p.amount == 0 and p.symbol not in open_symbols:
                continue  # v3: only symbols with a position or open orders
            rows.append(self.position_row(p))
        return rows

    def position_row(self, p: Position) -> Json:
        mark = self.market.mark(p.symbol)
        im = self._position_margin(p)
        return {
            "symbol": p.symbol,
            "positionSide": p.side,
            "positionAmt": f"{p.amount:f}",
            "entryPrice": f"{p.entry_price:f}",
            "breakEvenPrice": f"{p.entry_price:f}",
            "markPrice": f"{mark:f}",
            "unRealizedProfit": q8(unrealised(p, mark)),
            "liquidationPrice": f"{self.liquidation_price(p):f}",
            "isolatedMargin": q8(self._isolated_wallet(p)),
            "notional": q8(p.amount * mark),
            "marginAsset": self.asset_of(p.symbol),
            "isolatedWallet": q8(self._isolated_wallet(p)),
            "initialMargin": q8(im),
            "maintMargin": q8(self.maint_margin(p)),
            "positionInitialMargin": q8(im),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": p.update_time,
        }

    def _asset_row(self, asset: str) -> Json:
        t = self._asset_totals(asset)
        return {
            "asset": asset,
            "walletBalance": q8(t["wallet"]),
            "unrealizedProfit": q8(t["upnl"]),
            "marginBalance": q8(t["wallet"] + t["upnl"]),
            "maintMargin": q8(t["maint"]),
            "initialMargin": q8(t["position_im"] + t["order_im"]),
            "positionInitialMargin": q8(t["position_im"]),
            "openOrderInitialMargin": q8(t["order_im"]),
            "crossWalletBalance": q8(t["cross"]),
            "crossUnPnl": q8(t["upnl"]),
            "availableBalance": q8(t["available"]),
            "maxWithdrawAmount": q8(max(ZERO, min(t["available"], t["wallet"]))),
            "updateTime": self.now_ms(),
        }

    def account_info(self, params: dict[str, str]) -> Json:
        assets = sorted(set(self.account.wallet) | {"USDT", "USDC"})
        usdt = self._asset_totals("USDT")
        return {
            "totalInitialMargin": q8(usdt["position_im"] + usdt["order_im"]),
            "totalMaintMargin": q8(usdt["maint"]),
            "totalWalletBalance": q8(usdt["wallet"]),
            "totalUnrealizedProfit": q8(usdt["upnl"]),
            "totalMarginBalance": q8(usdt["wallet"] + usdt["upnl"]),
            "totalPositionInitialMargin": q8(usdt["position_im"]),
            "totalOpenOrderInitialMargin": q8(usdt["order_im"]),
            "totalCrossWalletBalance": q8(usdt["cross"]),
            "totalCrossUnPnl": q8(usdt["upnl"]),
            "availableBalance": q8(usdt["available"]),
            "maxWithdrawAmount": q8(max(ZERO, usdt["available"])),
            "assets": [self._asset_row(a) for a in assets],
            "positions": [
                {
                    "symbol": p.symbol,
                    "positionSide": p.side,
                    "positionAmt": f"{p.amount:f}",
                    "unrealizedProfit": q8(unrealised(p, self.market.mark(p.symbol))),
                    "isolatedMargin": q8(self._isolated_wallet(p)),
                    "notional": q8(p.amount * self.market.mark(p.symbol)),
                    "isolatedWallet": q8(self._isolated_wallet(p)),
                    "initialMargin": q8(self._position_margin(p)),
                    "maintMargin": q8(self.maint_margin(p)),
                    "updateTime": p.update_time,
                }
                for p in self.account.positions.values()
                if p.amount
            ],
        }

    def balances(self, params: dict[str, str]) -> list[Json]:
        rows = []
        for asset in sorted(set(self.account.wallet) | {"USDT", "USDC"}):
            t = self._asset_totals(asset)
            rows.append(
                {
                    "accountAlias": "SgsR",
                    "asset": asset,
                    "balance": q8(t["wallet"]),
                    "crossWalletBalance": q8(t["cross"]),
                    "crossUnPnl": q8(t["upnl"]),
                    "availableBalance": q8(t["available"]),
                    "maxWithdrawAmount": q8(max(ZERO, t["available"])),
                    "marginAvailable": True,
                    "updateTime": self.now_ms(),
                }
            )
        return rows

    # --- configuration -----------------------------------------------------------------
    def change_leverage(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        raw = params.get("leverage")
        if not raw:
            raise errors.mandatory("leverage")
        if not raw.isdigit() or not 1 <= int(raw) <= brackets.max_leverage(symbol):
            raise errors.leverage_invalid()
        cap = brackets.max_notional(symbol, int(raw))
        held = sum((abs(self.notional(p)) for p in self.account.positions_of(symbol)), ZERO)
        if held > cap:
            raise errors.position_over_leverage_cap()
        self.account.leverage[symbol] = int(raw)
        now = self.now_ms()
        self.outbox.append(
            {"e": "ACCOUNT_CONFIG_UPDATE", "E": now, "T": now, "ac": {"s": symbol, "l": int(raw)}}
        )
        return {"leverage": int(raw), "maxNotionalValue": f"{cap:f}", "symbol": symbol}

    def change_margin_type(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        raw = params.get("marginType")
        if not raw:
            raise errors.mandatory("marginType")
        wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(raw.upper())
        if wanted is None:
            raise errors.illegal_value("marginType")
        if wanted == self.account.margin_type_of(symbol):
            raise errors.no_need_margin_type()
        if any(o.is_open and o.symbol == symbol for o in self.account.orders.values()):
            raise errors.margin_type_blocked_by_orders()
        if any(p.amount for p in self.account.positions_of(symbol)):
            raise errors.margin_type_blocked_by_position()
        self.account.margin_type[symbol] = wanted
        return {"code": 200, "msg": "success"}

    def symbol_config(self, params: dict[str, str]) -> list[Json]:
        symbol = params.get("symbol")
        symbols = [self.spec(symbol).symbol] if symbol else list(self.specs)
        return [
            {
                "symbol": s,
                "marginType": "ISOLATED"
                if self.account.margin_type_of(s) == "isolated"
                else "CROSSED",
                "isAutoAddMargin": False,
                "leverage": self.account.leverage_of(s),
                "maxNotionalValue": f"{brackets.max_notional(s, self.account.leverage_of(s)):f}",
            }
            for s in symbols
        ]

    def leverage_brackets(self, params: dict[str, str]) -> list[Json]:
        """GET /fapi/v1/leverageBracket: a list, also when one symbol is asked for (the
        docs show a bare object then; live answers and ccxt use the list)."""
        symbol = params.get("symbol")
        symbols = [self.spec(symbol).symbol] if symbol else list(self.specs)
        return [brackets.bracket_view(s) for s in symbols]

    def account_config(self, params: dict[str, str]) -> Json:
        """GET /fapi/v1/accountConfig. The simulator has no multi-assets mode (no endpoint
        switches it on), and its one key may trade and withdraw, as a careless live key may."""
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": self.account.dual_side,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            "updateTime": 0,
        }

    def get_position_mode(self, params: dict[str, str]) -> Json:
        return {"dualSidePosition": self.account.dual_side}

    def change_position_mode(self, params: dict[str, str]) -> Json:
        wanted = bool_param(params, "dualSidePosition")
        if wanted is None:
            raise errors.mandatory("dualSidePosition")
        if wanted == self.account.dual_side:
            raise errors.no_need_position_side()
        if any(p.amount for p in self.account.positions.values()) or any(
            o.is_open for o in self.account.orders.values()
        ):
            raise errors.position_mode_blocked()
        self.account.dual_side = wanted
        return {"code": 200, "msg": "success"}

    # --- history -----------------------------------------------------------------------
    def income_history(self, params: dict[str, str]) -> list[Json]:
        symbol, kind = params.get("symbol"), params.get("incomeType")
        start, end = params.get("startTime"), params.get("endTime")
        if not start and not end:  # Binance: "the recent 7-day data will be returned"
            start = str(self.now_ms() - INCOME_DEFAULT_SPAN_MS)
        limit = min(int(params.get("limit") or 100), 1000)
        rows = sorted(  # Binance answers in time order; a row may be booked late
            (
                i
                for i in self.account.income
                if symbol in (None, "", i.symbol)
                and kind in (None, "", i.income_type)
                and (not start or i.time >= int(start))
                and (not end or i.time <= int(end))
            ),
            key=lambda i: i.time,
        )
        rows = rows[:limit] if params.get("startTime") else rows[-limit:]
        return [
            {
                "symbol": i.symbol,
                "incomeType": i.income_type,
                "income": q8(i.income),
                "asset": i.asset,
                "info": i.info or i.income_type,
                "time": i.time,
                "tranId": i.tran_id,
                "tradeId": i.trade_id,
            }
            for i in rows
        ]

    def user_trades(self, params: dict[str, str]) -> list[Json]:
        symbol = self.spec(params.get("symbol")).symbol
        order_id = params.get("orderId")
        limit = min(int(params.get("limit") or 500), 1000)
        rows = [
            t
            for t in self.account.trades
            if t.symbol == symbol and order_id in (None, "", str(t.order_id))
        ]
        asset = self.asset_of(symbol)
        return [
            {
                "buyer": t.side == "BUY",
                "commission": q8(t.commission),
                "commissionAsset": asset,
                "id": t.id,
                "maker": t.maker,
                "orderId": t.order_id,
                "price": f"{t.price:f}",
                "qty": f"{t.qty:f}",
                "quoteQty": f"{t.price * t.qty:f}",
                "realizedPnl": q8(t.realized_pnl),
                "side": t.side,
                "positionSide": "BOTH",
                "symbol": t.symbol,
                "time": t.time,
            }
            for t in rows[-limit:]
        ]

    def add_income(
        self, symbol: str, income_type: str, amount: Decimal, time_ms: int | None = None
    ) -> None:
        """Book an income line and its wallet effect (e.g. FUNDING_FEE), as Binance does."""
        asset = self.asset_of(symbol)
        now = self.now_ms() if time_ms is None else time_ms
        self.account.income.append(
            Income(self.account.take_id("tran"), symbol, income_type, amount, asset, now)
        )
        self.account.wallet[asset] = self.account.wallet.get(asset, ZERO) + amount
        funding = income_type == "FUNDING_FEE"
        event = self.account_update_event(
            "FUNDING_FEE" if funding else "ADJUSTMENT",
            None,
            asset,
            change=amount,
            funding_symbol=symbol if funding else None,
        )
        event["T"] = now  # the transaction time is the income row's time
        self.outbox.append(event)
