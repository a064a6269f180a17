"""Regular orders (/fapi/v1/order and friends), fills, and the account effects of a fill.

A mixin of `Exchange`: it uses `self.account`, `self.market`, `self.outbox` and is only
called with the exchange lock held. MARKET fills at once at the last price (taker); a
LIMIT that crosses on arrival fills at the last price (taker), otherwise it rests and
fills at its own price (maker) when the last price reaches it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from bot.sim import errors, views
from bot.sim.account import ZERO, Income, Order, Trade, apply_fill
from bot.sim.validation import (
    CONDITIONAL_TYPES,
    bool_param,
    check_client_id,
    check_percent_price,
    check_position_side,
    check_price,
    check_quantity,
    check_side,
    decimal_param,
)
from bot.sim.venue import Json, Venue

FEE_DECIMALS = Decimal("0.00000001")


def new_client_id() -> str:
    return secrets.token_urlsafe(16)[:22].replace("-", "x").replace("_", "y")


class Trading(Venue):
    # --- placing -----------------------------------------------------------------------
    def new_order(self, params: dict[str, str]) -> Json:
        spec = self.spec(params.get("symbol"))
        side = check_side(params)
        order_type = params.get("type")
        if not order_type:
            raise errors.mandatory("type")
        if order_type in CONDITIONAL_TYPES:
            raise errors.switch_to_algo()
        if order_type not in ("LIMIT", "MARKET"):
            raise errors.invalid_order_type()
        position_side = check_position_side(params, self.account.dual_side)
        reduce_only = bool_param(params, "reduceOnly")
        if reduce_only is not None and self.account.dual_side:
            raise errors.not_required("reduceOnly")
        if bool_param(params, "closePosition"):
            raise errors.close_position_invalid(order_type)
        client_id = check_client_id(params.get("newClientOrderId")) or new_client_id()
        qty = decimal_param(params, "quantity")
        if order_type == "LIMIT":
            tif = params.get("timeInForce")
            if not tif:
                raise errors.mandatory("timeInForce")
            if tif not in ("GTC", "IOC", "FOK", "GTX"):
                raise errors.invalid_tif()
            price = check_price(spec, decimal_param(params, "price"))
        else:
            tif = "GTC"
            if params.get("price"):
                raise errors.not_required("price")
            price = ZERO
        qty = check_quantity(spec, qty, market=order_type == "MARKET")
        mark = self.market.mark(spec.symbol)
        if order_type == "LIMIT":
            check_percent_price(spec, side, price, mark)
        reduces = self._check_reduce_only(spec.symbol, side, position_side, bool(reduce_only))
        notional = qty * (price if order_type == "LIMIT" else mark)
        if not reduce_only and notional < spec.min_notional:
            raise errors.min_notional(f"{spec.min_notional:f}")
        if self._open_order_by_client_id(client_id) is not None:
            raise errors.duplicate_client_id()
        last = self.market.last(spec.symbol)
        crosses = order_type == "MARKET" or (price >= last if side == "BUY" else price <= last)
        if tif == "GTX" and crosses:
            raise errors.post_only_rejected()
        if not reduces:
            self._check_margin(spec.symbol, side, position_side, qty, last if crosses else price)
        now = self.now_ms()
        order = Order(
            order_id=self.account.take_id("order"),
            client_order_id=client_id,
            symbol=spec.symbol,
            side=side,
            type=order_type,
            orig_type=order_type,
            time_in_force=tif,
            orig_qty=qty,
            price=price,
            stop_price=ZERO,
            reduce_only=bool(reduce_only),
            close_position=False,
            position_side=position_side,
            working_type="CONTRACT_PRICE",
            price_protect=False,
            time=now,
            update_time=now,
        )
        self.account.orders[order.order_id] = order
        ack = views.order_view(order)
        self.outbox.append(views.order_trade_update(order, "NEW", now))
        self.execute_on_arrival(order)
        if params.get("newOrderRespType") == "RESULT":
            return views.order_view(order)
        return ack

    def execute_on_arrival(self, order: Order) -> None:
        last = self.market.last(order.symbol)
        if order.type == "MARKET":
            tick = self.specs[order.symbol].tick_size
            self.fill(order, order.orig_qty, self.fees.market_price(order.side, last, tick), False)
            return
        crosses = order.price >= last if order.side == "BUY" else order.price <= last
        if crosses:
            self.fill(order, order.orig_qty, last, maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._finish(order, "EXPIRED", "2" if order.time_in_force == "IOC" else "0")

    def _check_reduce_only(
        self, symbol: str, side: str, position_side: str, reduce_only: bool
    ) -> bool:
        """Whether the order only reduces; -2022 if it is reduce-only but would open/grow."""
        position = self.account.position(symbol, position_side)
        if position_side == "BOTH":
            reduces = position.amount != 0 and (position.amount > 0) == (side == "SELL")
        else:
            reduces = (position_side == "LONG") == (side == "SELL")
        if reduce_only and not reduces:
            raise errors.reduce_only_rejected()
        return reduces and reduce_only

    def _check_margin(
        self, symbol: str, side: str, position_side: str, qty: Decimal, price: Decimal
    ) -> None:
        """-2019 when the opening part's initial margin exceeds the available balance."""
        position = self.account.position(symbol, position_side)
        signed = qty if side == "BUY" else -qty
        opening = qty
        if position.amount and (position.amount > 0) != (signed > 0):
            opening = max(ZERO, qty - abs(position.amount))
        needed = opening * price / self.account.leverage_of(symbol)
        if needed > self.available_balance(self.asset_of(symbol)):
            raise errors.margin_insufficient()

    def _open_order_by_client_id(self, client_id: str) -> Order | None:
        for order in self.account.orders.values():
            if order.client_order_id == client_id and order.is_open:
                return order
        return None

    # --- filling -----------------------------------------------------------------------
    def fill(
        self, order: Order, qty: Decimal, price: Decimal, maker: bool, execution: str = "TRADE"
    ) -> None:
        """Fill (capping reduce-only to the position), book PnL and fees, emit events.

        `execution` is the ORDER_TRADE_UPDATE `x`: CALCULATED for a liquidation, which
        gets no TRADE_LITE (that stream carries TRADE executions only)."""
        position = self.account.position(order.symbol, order.position_side)
        if order.reduce_only:
            reducible = (
                abs(position.amount) if (position.amount > 0) == (order.side == "SELL") else ZERO
            )
            qty = min(qty, reducible)
            if qty == 0:
                self._finish(order, "EXPIRED", "4")
                return
        now = self.now_ms()
        signed = qty if order.side == "BUY" else -qty
        realised = apply_fill(position, signed, price)
        position.update_time = now
        rate = self.fees.maker if maker else self.fees.taker
        fee = (qty * price * rate).quantize(FEE_DECIMALS)
        asset = self.asset_of(order.symbol)
        self.account.wallet[asset] = self.account.wallet.get(asset, ZERO) + realised - fee
        trade = Trade(
            self.account.take_id("trade"),
            order.order_id,
            order.symbol,
            order.side,
            price,
            qty,
            realised,
            fee,
            maker,
            now,
        )
        self.account.trades.append(trade)
        if realised:
            self._income(order.symbol, "REALIZED_PNL", realised, asset, now, str(trade.id))
        self._income(order.symbol, "COMMISSION", -fee, asset, now, str(trade.id))
        order.executed_qty += qty
        order.cum_quote += qty * price
        order.update_time = now
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        if execution == "TRADE":
            self.outbox.append(views.trade_lite(order, trade, now))
        self.outbox.append(self.account_update_event("ORDER", order.symbol, asset))
        self.outbox.append(views.order_trade_update(order, execution, now, trade))
        if order.status == "PARTIALLY_FILLED" and order.type == "MARKET":
            self._finish(order, "EXPIRED", "4")  # reduce-only remainder knocked out
        elif order.status == "FILLED":
            self.on_order_done(order)
        if position.amount == 0:
            self.on_position_closed(order.symbol, order.position_side)

    def _finish(self, order: Order, status: str, reason: str = "0") -> None:
        order.status = status
        order.update_time = self.now_ms()
        self.outbox.append(
            views.order_trade_update(order, status, order.update_time, expiry_reason=reason)
        )
        self.on_order_done(order)

    def _income(
        self,
        symbol: str,
        kind: str,
        amount: Decimal,
        asset: str,
        now: int,
        trade_id: str = "",
        info: str = "",
    ) -> None:
        self.account.income.append(
            Income(self.account.take_id("tran"), symbol, kind, amount, asset, now, trade_id, info)
        )

    def on_position_closed(self, symbol: str, position_side: str) -> None:
        """Resting reduce-only orders of a closed position expire (knocked out)."""
        for order in list(self.account.orders.values()):
            if (
                order.is_open
                and order.reduce_only
                and order.symbol == symbol
                and order.position_side == position_side
            ):
                self._finish(order, "EXPIRED", "4")
        self.expire_close_position_algos(symbol, position_side)

    # --- resting orders on price moves -------------------------------------------------
    def match_resting(self) -> None:
        for order in self.account.open_orders():
            if not order.is_open or order.type != "LIMIT":
                continue
            last = self.market.last(order.symbol)
            if (order.side == "BUY" and last <= order.price) or (
                order.side == "SELL" and last >= order.price
            ):
                self.fill(order, order.orig_qty - order.executed_qty, order.price, maker=True)

    def run_countdowns(self) -> None:
        now = self.now_ms()
        for symbol, deadline in list(self.account.countdowns.items()):
            if now >= deadline:
                del self.account.countdowns[symbol]
                self._cancel_all(symbol)

    # --- querying and cancelling -------------------------------------------------------
    def find_order(self, params: dict[str, str]) -> Order | None:
        symbol = self.spec(params.get("symbol")).symbol
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise errors.bad_request(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        if order_id:
            order = self.account.orders.get(int(order_id)) if order_id.isdigit() else None
            return order if order and order.symbol == symbol else None
        matches = [
            o
            for o in self.account.orders.values()
            if o.client_order_id == client_id and o.symbol == symbol
        ]
        open_ones = [o for o in matches if o.is_open]
        found = open_ones or matches
        return found[-1] if found else None

    def query_order(self, params: dict[str, str]) -> Json:
        order = self.find_order(params)
        if order is None:
            raise errors.no_such_order()
        return views.order_view(order)

    def query_open_order(self, params: dict[str, str]) -> Json:
        order = self.find_order(params)
        if order is None or not order.is_open:
            raise errors.bad_request(-2013, "Order does not exist.")
        return views.order_view(order)

    def cancel_order(self, params: dict[str, str]) -> Json:
        order = self.find_order(params)
        if order is None or not order.is_open:
            raise errors.cancel_unknown()
        self._finish(order, "CANCELED")
        return views.order_view(order)

    def cancel_all_orders(self, params: dict[str, str]) -> Json:
        self._cancel_all(self.spec(params.get("symbol")).symbol)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _cancel_all(self, symbol: str) -> None:
        for order in list(self.account.orders.values()):
            if order.is_open and order.symbol == symbol:
                self._finish(order, "CANCELED")

    def open_orders(self, params: dict[str, str]) -> list[Json]:
        symbol = params.get("symbol")
        if symbol:
            self.spec(symbol)
        return [
            views.order_view(o)
            for o in self.account.orders.values()
            if o.is_open and symbol in (None, o.symbol)
        ]

    def all_orders(self, params: dict[str, str]) -> list[Json]:
        symbol = self.spec(params.get("symbol")).symbol
        limit = int(params.get("limit") or 500)
        rows = [o for o in self.account.orders.values() if o.symbol == symbol]
        return [views.order_view(o) for o in rows[-limit:]]

    def countdown_cancel_all(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        countdown = params.get("countdownTime")
        if countdown is None or not countdown.isdigit():
            raise errors.mandatory("countdownTime")
        if int(countdown) == 0:
            self.account.countdowns.pop(symbol, None)
        else:
            self.account.countdowns[symbol] = self.now_ms() + int(countdown)
        return {"symbol": symbol, "countdownTime": countdown}
