"""Algo (CONDITIONAL) orders: /fapi/v1/algoOrder & co, and their triggers.

A mixin of `Exchange`, called with the exchange lock held. Trigger rules (Binance
New-Order): STOP*: BUY fires when price ≥ trigger, SELL when ≤; TAKE_PROFIT*: the reverse.
The price is the mark for `MARK_PRICE`, the last trade for `CONTRACT_PRICE`. A trigger
emits ALGO_UPDATE TRIGGERING, then TRIGGERED with `ai` = the child order id (a string),
the child's ORDER_TRADE_UPDATEs, and ALGO_UPDATE FINISHED when the child is done. As on
Binance there is no margin check before trigger, and the child's client id is not the
clientAlgoId (link them through `ai`).
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim import errors, views
from bot.sim.account import ZERO, AlgoOrder, Order
from bot.sim.trading import new_client_id
from bot.sim.trailing import activates, follow, trailing_params
from bot.sim.validation import (
    bool_param,
    check_client_id,
    check_position_side,
    check_price,
    check_quantity,
    check_side,
    check_working_type,
    decimal_param,
)
from bot.sim.venue import Json, Venue

ALGO_TYPES = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
TRAILING = "TRAILING_STOP_MARKET"


def is_triggered(order_type: str, side: str, trigger: Decimal, price: Decimal) -> bool:
    if order_type.startswith("STOP"):
        return price >= trigger if side == "BUY" else price <= trigger
    return price <= trigger if side == "BUY" else price >= trigger


class AlgoTrading(Venue):
    def new_algo_order(self, params: dict[str, str]) -> Json:
        algo_type = params.get("algoType")
        if not algo_type:
            raise errors.mandatory("algoType")
        if algo_type != "CONDITIONAL":
            raise errors.illegal_value("algoType")
        spec = self.spec(params.get("symbol"))
        side = check_side(params)
        order_type = params.get("type")
        if not order_type:
            raise errors.mandatory("type")
        if order_type not in ALGO_TYPES:
            raise errors.invalid_order_type()
        position_side = check_position_side(params, self.account.dual_side)
        close_position = bool(bool_param(params, "closePosition"))
        reduce_only = bool_param(params, "reduceOnly")
        if close_position:
            if order_type not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise errors.close_position_invalid(order_type)
            if params.get("quantity"):
                raise errors.not_required("quantity")
            if reduce_only is not None:
                raise errors.not_required("reduceOnly")
        if reduce_only is not None and self.account.dual_side:
            raise errors.not_required("reduceOnly")
        client_id = check_client_id(params.get("clientAlgoId")) or new_client_id()
        working_type = check_working_type(params)
        now_price = self._working_price(spec.symbol, working_type)
        activate, callback = ZERO, ZERO
        if order_type == TRAILING:
            activate, callback = trailing_params(spec, params, side, now_price)
            trigger = ZERO
        else:
            trigger = check_price(spec, decimal_param(params, "triggerPrice"))
        price = ZERO
        if order_type in ("STOP", "TAKE_PROFIT"):
            price = check_price(spec, decimal_param(params, "price"))
        elif params.get("price"):
            raise errors.not_required("price")
        qty = ZERO
        if not close_position:
            qty = check_quantity(
                spec, decimal_param(params, "quantity"), market=order_type.endswith("_MARKET")
            )
            if not reduce_only and qty * (trigger or activate or now_price) < spec.min_notional:
                raise errors.min_notional(f"{spec.min_notional:f}")
        if reduce_only:
            self._check_reduce_only(spec.symbol, side, position_side, True)
        tif = params.get("timeInForce") or "GTC"
        if tif not in ("GTC", "IOC", "FOK"):
            raise errors.invalid_tif()
        if any(
            a.client_algo_id == client_id and a.is_open for a in self.account.algo_orders.values()
        ):
            raise errors.duplicate_client_id()
        if order_type != TRAILING and is_triggered(order_type, side, trigger, now_price):
            raise errors.would_immediately_trigger()
        now = self.now_ms()
        algo = AlgoOrder(
            algo_id=self.account.take_id("algo"),
            client_algo_id=client_id,
            symbol=spec.symbol,
            side=side,
            order_type=order_type,
            position_side=position_side,
            time_in_force=tif,
            quantity=qty,
            trigger_price=trigger,
            price=price,
            working_type=working_type,
            close_position=close_position,
            price_protect=bool(bool_param(params, "priceProtect")),
            reduce_only=bool(reduce_only),
            create_time=now,
            update_time=now,
            activate_price=activate,
            callback_rate=callback,
            activated=order_type == TRAILING and not activate,
            extreme=now_price,
        )
        self.account.algo_orders[algo.algo_id] = algo
        self.outbox.append(views.algo_update(algo, now))
        return views.algo_view(algo)

    def _working_price(self, symbol: str, working_type: str) -> Decimal:
        if working_type == "MARK_PRICE":
            return self.market.mark(symbol)
        return self.market.last(symbol)

    # --- triggering --------------------------------------------------------------------
    def run_triggers(self) -> None:
        for algo in self.account.open_algo_orders():
            if algo.is_open and algo.order_type == TRAILING:
                if self._trail(algo):
                    self._trigger(algo)
            elif algo.is_open and is_triggered(
                algo.order_type,
                algo.side,
                algo.trigger_price,
                self._working_price(algo.symbol, algo.working_type),
            ):
                self._trigger(algo)

    def _trail(self, algo: AlgoOrder) -> bool:
        """Activate (ALGO_UPDATE NEW again, `ia:true`), then follow; True to trigger."""
        price = self._working_price(algo.symbol, algo.working_type)
        if not algo.activated:
            if not activates(algo, price):
                return False
            algo.activated, algo.extreme = True, price
            self._set_status(algo, "NEW")
        return follow(algo, price)

    def _set_status(
        self, algo: AlgoOrder, status: str, reason: str = "", actual: Order | None = None
    ) -> None:
        algo.status, algo.fail_reason = status, reason
        algo.update_time = self.now_ms()
        self.outbox.append(views.algo_update(algo, algo.update_time, actual))

    def _trigger(self, algo: AlgoOrder) -> None:
        now = self.now_ms()
        algo.trigger_time = now
        self._set_status(algo, "TRIGGERING")
        if self.stall_triggers:
            return
        position = self.account.position(algo.symbol, algo.position_side)
        reducible = (
            abs(position.amount)
            if position.amount and ((position.amount > 0) == (algo.side == "SELL"))
            else ZERO
        )
        if (algo.close_position or algo.reduce_only) and reducible == 0:
            self._set_status(
                algo, "EXPIRED" if algo.close_position else "CANCELED", "Reduce Only reject"
            )
            return
        qty = reducible if algo.close_position else algo.quantity
        if not (algo.close_position or algo.reduce_only):
            try:
                self._check_margin(
                    algo.symbol, algo.side, algo.position_side, qty, self.market.last(algo.symbol)
                )
            except errors.SimError as exc:
                self._set_status(algo, "REJECTED", exc.msg)
                return
        market = algo.order_type.endswith("_MARKET")
        child = Order(
            order_id=self.account.take_id("order"),
            client_order_id=new_client_id(),
            symbol=algo.symbol,
            side=algo.side,
            type="MARKET" if market else "LIMIT",
            orig_type=algo.order_type,
            time_in_force=algo.time_in_force,
            orig_qty=qty,
            price=algo.price,
            stop_price=algo.trigger_price,
            reduce_only=algo.reduce_only or algo.close_position,
            close_position=algo.close_position,
            position_side=algo.position_side,
            working_type=algo.working_type,
            price_protect=algo.price_protect,
            time=now,
            update_time=now,
            algo_id=algo.algo_id,
            activate_price=algo.activate_price,
            callback_rate=algo.callback_rate,
        )
        self.account.orders[child.order_id] = child
        algo.actual_order_id = child.order_id
        self._set_status(algo, "TRIGGERED", actual=child)
        self.outbox.append(views.order_trade_update(child, "NEW", now))
        self.execute_on_arrival(child)

    def on_order_done(self, order: Order) -> None:
        """A triggered algo order is FINISHED when its child order is."""
        if order.algo_id is None:
            return
        algo = self.account.algo_orders.get(order.algo_id)
        if algo is not None and algo.status == "TRIGGERED":
            self._set_status(algo, "FINISHED", actual=order)

    def expire_close_position_algos(self, symbol: str, position_side: str) -> None:
        for algo in list(self.account.algo_orders.values()):
            if (
                algo.is_open
                and algo.close_position
                and algo.symbol == symbol
                and algo.position_side == position_side
            ):
                self._set_status(algo, "EXPIRED")

    # --- querying and cancelling -------------------------------------------------------
    def _find_algo(self, params: dict[str, str]) -> AlgoOrder | None:
        algo_id, client_id = params.get("algoId"), params.get("clientAlgoId")
        if not algo_id and not client_id:
            raise errors.mandatory("algoId")
        if algo_id:
            return self.account.algo_orders.get(int(algo_id)) if algo_id.isdigit() else None
        matches = [a for a in self.account.algo_orders.values() if a.client_algo_id == client_id]
        open_ones = [a for a in matches if a.is_open]
        found = open_ones or matches
        return found[-1] if found else None

    def _algo_view(self, algo: AlgoOrder) -> Json:
        actual = self.account.orders.get(algo.actual_order_id) if algo.actual_order_id else None
        return views.algo_view(algo, actual)

    def query_algo_order(self, params: dict[str, str]) -> Json:
        algo = self._find_algo(params)
        if algo is None:
            raise errors.no_such_order()
        return self._algo_view(algo)

    def cancel_algo_order(self, params: dict[str, str]) -> Json:
        algo = self._find_algo(params)
        if algo is None or not algo.is_open:
            raise errors.cancel_unknown()
        self._set_status(algo, "CANCELED")
        return {
            "algoId": algo.algo_id,
            "clientAlgoId": algo.client_algo_id,
            "code": "200",
            "msg": "success",
        }

    def cancel_all_algo_orders(self, params: dict[str, str]) -> Json:
        symbol = self.spec(params.get("symbol")).symbol
        for algo in list(self.account.algo_orders.values()):
            if algo.is_open and algo.symbol == symbol:
                self._set_status(algo, "CANCELED")
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def open_algo_orders(self, params: dict[str, str]) -> list[Json]:
        symbol = params.get("symbol")
        if symbol:
            self.spec(symbol)
        algo_id = params.get("algoId")
        return [
            self._algo_view(a)
            for a in self.account.algo_orders.values()
            if a.is_open and symbol in (None, a.symbol) and algo_id in (None, "", str(a.algo_id))
        ]

    def all_algo_orders(self, params: dict[str, str]) -> list[Json]:
        symbol = self.spec(params.get("symbol")).symbol
        start, end = params.get("startTime"), params.get("endTime")
        limit = int(params.get("limit") or 500)
        rows = [
            a
            for a in self.account.algo_orders.values()
            if a.symbol == symbol
            and (not start or a.create_time >= int(start))
            and (not end or a.create_time <= int(end))
        ]
        return [self._algo_view(a) for a in rows[-limit:]]
