"""PaperExecutor: ``--dry-run`` execution that never sends a signed order request.

It has the order methods of ExchangeClient (and its account reads, answered from
the paper account), takes market data from a real (read-only) client, fills
MARKET orders at the last price with the configured slippage and taker fee, and
triggers stop/take-profit algo orders on their own working price (mark or last)
when ``poll()`` runs. Every change is put on the OMS inbound queue as the same
raw JSON Binance pushes on the user-data stream (ORDER_TRADE_UPDATE,
ACCOUNT_UPDATE, ALGO_UPDATE, built by ``paper_events``) wrapped in
``RawMessage``, so the OMS, RiskGuard and OrderManager run unchanged. It also
answers the REST reads (positionRisk, openOrders, openAlgoOrders, USDC asset,
income) from the paper account, so a dry-run reconciliation compares paper
with paper, never with the live account.

Simplifications (documented, deliberately not kinder than Binance where it
matters): no order book depth (one fill per order at last ± slippage); a
triggered TAKE_PROFIT limit fills at its limit price or better at once (maker
fee); a reduce-only order is capped to the position and refused (-2022) when
it would open or grow one; closePosition algo orders expire when the position
is closed, reduce-only ones stay (the order manager cancels those orphans).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from bot.domain.enums import (
    CONDITIONAL_TYPES,
    OPEN_ALGO_STATUSES,
    OPEN_ORDER_STATUSES,
    STOP_TYPES,
    IncomeType,
)
from bot.domain.records import (
    Account,
    AlgoOrder,
    AlgoOrderRequest,
    Balance,
    Income,
    Kline,
    Order,
    OrderRequest,
    Position,
)
from bot.domain.rules import SymbolRules
from bot.exchange import replies
from bot.exchange.errors import Rejected
from bot.exchange.orders import algo_params, order_params, wire_working_type
from bot.execution.paper_book import PaperBook, PaperPosition
from bot.execution.paper_events import USDC, account_update, algo_update, order_trade_update
from bot.oms.events import RawMessage

BPS = Decimal(10_000)
INCOME_TYPES = (IncomeType.REALIZED_PNL, IncomeType.COMMISSION, IncomeType.FUNDING_FEE)


def _flag(value: Any) -> bool:
    return value in (True, "true", "TRUE", "True")


def _triggered(order_type: str, side: str, trigger: Decimal, price: Decimal) -> bool:
    """Binance trigger rules: STOP* BUY at price >= trigger, SELL at <=; TAKE_PROFIT*
    the reverse."""
    rising = (order_type in STOP_TYPES) == (side == "BUY")
    return price >= trigger if rising else price <= trigger


class PaperExecutor:
    def __init__(
        self,
        market: Any,
        inbound: queue.Queue,
        rules_provider: Callable[[str], SymbolRules],
        *,
        slippage_bps: Decimal = Decimal("2"),
        taker_fee: Decimal = Decimal("0.0004"),
        maker_fee: Decimal = Decimal("0.0002"),
        starting_balance: Decimal = Decimal("10000"),
        leverage: int = 20,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        """``market`` is an ExchangeClient (read-only is fine) used for prices only."""
        self._market = market
        self._inbound = inbound
        self._rules = rules_provider
        self._slippage = Decimal(slippage_bps) / BPS
        self._taker_fee = Decimal(taker_fee)
        self._maker_fee = Decimal(maker_fee)
        self._leverage = leverage
        self._clock_ms = clock_ms
        self._book = PaperBook(Decimal(starting_balance))
        self._orders: dict[str, dict] = {}  # newest regular order by client id
        self._algos: dict[str, dict] = {}  # algo order by clientAlgoId
        self._income: list[dict] = []
        self._next_id = 1
        self._last_event_ms = 0
        self._lock = threading.RLock()

    # --- persistence: a dry-run cron job is a new process every run ---------------------

    def export_state(self) -> dict:
        """The paper account as JSON-ready data (amounts as strings)."""
        with self._lock:
            return {
                "wallet": f"{self._book.wallet:f}",
                "positions": {
                    symbol: [f"{p.amount:f}", f"{p.entry_price:f}"]
                    for symbol, p in self._book.positions.items()
                    if p.amount
                },
                "orders": self._orders,
                "algos": self._algos,
                "income": self._income,
                "next_id": self._next_id,
                "last_event_ms": self._last_event_ms,
            }

    def import_state(self, state: dict) -> None:
        """Continue a paper account saved by :meth:`export_state`."""
        with self._lock:
            self._book.wallet = Decimal(state["wallet"])
            self._book.positions = {
                symbol: PaperPosition(Decimal(amount), Decimal(entry))
                for symbol, (amount, entry) in state["positions"].items()
            }
            self._orders = dict(state["orders"])
            self._algos = dict(state["algos"])
            self._income = list(state["income"])
            self._next_id = int(state["next_id"])
            self._last_event_ms = int(state["last_event_ms"])

    # --- market data: passed through ---------------------------------------------------

    def mark_price(self, symbol: str) -> Decimal:
        return self._market.mark_price(symbol)

    def last_price(self, symbol: str) -> Decimal:
        return self._market.last_price(symbol)

    def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]:
        return self._market.klines(symbol, interval, limit)

    def exchange_info(self) -> dict:
        return self._market.exchange_info()

    def symbol_rules(self, symbol: str) -> SymbolRules:
        return self._rules(symbol)

    def setup_account(self, symbols: Iterable[str], *, leverage: int, margin_type: str) -> None:
        """No-op on the exchange; the paper margin check uses this leverage."""
        self._leverage = leverage

    # --- orders -------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> Order:
        """A MARKET order (optionally reduce-only), filled at once; RESULT-shaped answer."""
        params = order_params(request)  # the paper book speaks Binance's words
        with self._lock:
            client_id = params.get("newClientOrderId")
            if not client_id:
                raise ValueError("place_order needs params['newClientOrderId']")
            order_type = params.get("type")
            if order_type in CONDITIONAL_TYPES:
                raise Rejected(
                    -4120,
                    "Order type not supported for this endpoint. "
                    "Please use the Algo Order API endpoints instead.",
                )
            if order_type != "MARKET":
                raise Rejected(-1116, f"paper executor fills MARKET orders only, not {order_type}")
            existing = self._orders.get(client_id)
            if existing is not None and existing["status"] in OPEN_ORDER_STATUSES:
                raise Rejected(-4116, "ClientOrderId is duplicated.")
            symbol, side = params["symbol"], params["side"]
            qty = Decimal(params["quantity"])
            reduce_only = _flag(params.get("reduceOnly"))
            qty = self._check_order(symbol, side, qty, reduce_only)
            price = self._slipped(symbol, side, self._market.last_price(symbol))
            order = self._new_order(symbol, side, qty, client_id, reduce_only, "MARKET")
            self._fill(order, price, self._taker_fee, maker=False)
            return replies.order(order, "paper order")

    def place_algo_order(self, request: AlgoOrderRequest) -> AlgoOrder:
        """A CONDITIONAL algo order; -2021 when its trigger is already crossed."""
        params = algo_params(request)
        with self._lock:
            client_algo_id = params.get("clientAlgoId")
            if not client_algo_id:
                raise ValueError("place_algo_order needs params['clientAlgoId']")
            if client_algo_id in self._algos and self._algos[client_algo_id]["algoStatus"] == "NEW":
                raise Rejected(-4116, "ClientOrderId is duplicated.")
            order_type, side, symbol = params["type"], params["side"], params["symbol"]
            close_position = _flag(params.get("closePosition"))
            if order_type not in CONDITIONAL_TYPES:
                raise Rejected(-1116, "Invalid orderType.")
            if close_position and ("quantity" in params or "reduceOnly" in params):
                raise Rejected(-1106, "Parameter 'quantity/reduceOnly' sent when not required.")
            trigger = Decimal(params["triggerPrice"])
            working_type = wire_working_type(params.get("workingType", "CONTRACT_PRICE"))
            if _triggered(order_type, side, trigger, self._working_price(symbol, working_type)):
                raise Rejected(-2021, "Order would immediately trigger.")
            algo = {
                "algoId": self._new_id(),
                "clientAlgoId": client_algo_id,
                "algoType": "CONDITIONAL",
                "orderType": order_type,
                "symbol": symbol,
                "side": side,
                "positionSide": "BOTH",
                "timeInForce": params.get("timeInForce", "GTC"),
                "quantity": params.get("quantity", "0"),
                "algoStatus": "NEW",
                "triggerPrice": params["triggerPrice"],
                "price": params.get("price", "0"),
                "workingType": working_type,
                "priceMatch": "NONE",
                "closePosition": close_position,
                "priceProtect": _flag(params.get("priceProtect")),
                "reduceOnly": _flag(params.get("reduceOnly")),
                "actualOrderId": "",
                "createTime": self._clock_ms(),
                "updateTime": self._clock_ms(),
                "triggerTime": 0,
            }
            self._algos[client_algo_id] = algo
            self._push(algo_update(self._event_ms(), algo))
            return replies.algo_order(algo, "paper algo order")

    def query_order(self, symbol: str, client_id: str) -> Order | None:
        with self._lock:
            order = self._orders.get(client_id)
            if order is None or order["symbol"] != symbol:
                return None
            return replies.order(order, "paper order")

    def query_order_by_id(self, symbol: str, order_id: int) -> Order | None:
        """An order by exchange id: how the position guard finds a triggered stop's child."""
        with self._lock:
            for order in self._orders.values():
                if order["orderId"] == order_id and order["symbol"] == symbol:
                    return replies.order(order, "paper order")
            return None

    def query_algo_order(self, client_algo_id: str) -> AlgoOrder | None:
        with self._lock:
            algo = self._algos.get(client_algo_id)
            return replies.algo_order(algo, "paper algo order") if algo else None

    def cancel_order(self, symbol: str, client_id: str) -> Order | None:
        """Market orders are final at once, so there is never anything open to cancel."""
        with self._lock:
            order = self._orders.get(client_id)
            if order is None or order["status"] not in OPEN_ORDER_STATUSES:
                return None
            return replies.order(order, "paper order")

    def cancel_algo_order(self, client_algo_id: str) -> bool:
        with self._lock:
            algo = self._algos.get(client_algo_id)
            if algo is None or algo["algoStatus"] not in OPEN_ALGO_STATUSES:
                return False
            self._finish_algo(algo, "CANCELED")
            return True

    def cancel_all(self, symbol: str) -> None:
        with self._lock:
            for algo in list(self._algos.values()):
                if algo["symbol"] == symbol and algo["algoStatus"] in OPEN_ALGO_STATUSES:
                    self._finish_algo(algo, "CANCELED")

    # --- triggers -----------------------------------------------------------------------

    def poll(self) -> int:
        """Trigger every open algo order whose working price crossed; returns how many."""
        with self._lock:
            prices: dict[tuple[str, str], Decimal] = {}
            fired = 0
            for algo in list(self._algos.values()):
                if algo["algoStatus"] not in OPEN_ALGO_STATUSES:
                    continue
                key = (algo["symbol"], algo["workingType"])
                if key not in prices:
                    prices[key] = self._working_price(*key)
                trigger = Decimal(algo["triggerPrice"])
                if _triggered(algo["orderType"], algo["side"], trigger, prices[key]):
                    self._trigger(algo)
                    fired += 1
            return fired

    def _trigger(self, algo: dict) -> None:
        symbol, side = algo["symbol"], algo["side"]
        position = self._book.position(symbol).amount
        closes = (position > 0 and side == "SELL") or (position < 0 and side == "BUY")
        if not closes:
            self._finish_algo(algo, "EXPIRED", reject_reason="Reduce Only reject")
            return
        qty = (
            abs(position)
            if algo["closePosition"]
            else min(Decimal(algo["quantity"]), abs(position))
        )
        order = self._new_order(symbol, side, qty, f"paper{self._next_id}", True, algo["orderType"])
        algo.update(
            algoStatus="TRIGGERED",
            actualOrderId=str(order["orderId"]),
            triggerTime=self._clock_ms(),
            updateTime=self._clock_ms(),
        )
        self._push(algo_update(self._event_ms(), algo))
        last = self._market.last_price(symbol)
        if algo["orderType"] == "TAKE_PROFIT":  # limit child: its price or better
            limit = Decimal(algo["price"])
            price = max(limit, last) if side == "SELL" else min(limit, last)
            self._fill(order, price, self._maker_fee, maker=True)
        else:
            self._fill(order, self._slipped(symbol, side, last), self._taker_fee, maker=False)
        algo.update(
            algoStatus="FINISHED",
            actualPrice=order["avgPrice"],
            actualQty=order["executedQty"],
            updateTime=self._clock_ms(),
        )
        self._push(algo_update(self._event_ms(), algo))

    # --- paper account reads (REST-shaped) ----------------------------------------------

    def position_risk(self) -> list[Position]:
        with self._lock:
            symbols = {s for s, p in self._book.positions.items() if p.amount} | {
                a["symbol"] for a in self._algos.values() if a["algoStatus"] in OPEN_ALGO_STATUSES
            }
            rows = [self._position_row(s) for s in sorted(symbols)]
            return replies.positions(rows, "paper positionRisk")

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return []  # market orders are final at once

    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        with self._lock:
            rows = [
                a
                for a in self._algos.values()
                if a["algoStatus"] in OPEN_ALGO_STATUSES and symbol in (None, a["symbol"])
            ]
            return replies.algo_orders(rows, "paper openAlgoOrders")

    def usdc_balance(self) -> Balance:
        with self._lock:
            wallet = self._book.wallet
            return Balance(USDC, wallet, wallet, wallet, updated_ms=self._clock_ms())

    def account(self) -> Account:
        return Account(balances=(self.usdc_balance(),))

    def income(
        self, start_time_ms: int, income_types: Iterable[str] = INCOME_TYPES
    ) -> list[Income]:
        wanted = set(income_types)
        with self._lock:
            rows = [
                r for r in self._income if r["time"] >= start_time_ms and r["incomeType"] in wanted
            ]
            return replies.income(rows, "paper income")

    # --- internals ----------------------------------------------------------------------

    def _check_order(self, symbol: str, side: str, qty: Decimal, reduce_only: bool) -> Decimal:
        rules = self._rules(symbol)
        mark = self._market.mark_price(symbol)
        position = self._book.position(symbol).amount
        if reduce_only:
            closes = (position > 0 and side == "SELL") or (position < 0 and side == "BUY")
            if not closes:
                raise Rejected(-2022, "ReduceOnly Order is rejected.")
            qty = min(qty, abs(position))
        reason = rules.violation(
            qty=qty, price=None, mark_price=mark, market=True, reduce_only=reduce_only, side=side
        )
        if reason is not None:
            code = -4164 if "MIN_NOTIONAL" in reason else -1013
            raise Rejected(code, f"paper: {reason}")
        grows = not reduce_only and (position == 0 or (position > 0) == (side == "BUY"))
        if grows and qty * mark / self._leverage > self._book.wallet:
            raise Rejected(-2019, "Margin is insufficient.")
        return qty

    def _slipped(self, symbol: str, side: str, price: Decimal) -> Decimal:
        """Last price moved against us by the slippage, rounded to the tick the bad way."""
        rules = self._rules(symbol)
        if side == "BUY":
            return rules.round_price(price * (1 + self._slippage), rounding=ROUND_UP)
        return rules.round_price(price * (1 - self._slippage), rounding=ROUND_DOWN)

    def _working_price(self, symbol: str, working_type: str) -> Decimal:
        if working_type == "MARK_PRICE":
            return self._market.mark_price(symbol)
        return self._market.last_price(symbol)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _event_ms(self) -> int:
        """Strictly increasing event time: the OMS drops an event not newer than the last."""
        self._last_event_ms = max(self._last_event_ms + 1, self._clock_ms())
        return self._last_event_ms

    def _new_order(
        self, symbol: str, side: str, qty: Decimal, client_id: str, reduce_only: bool, kind: str
    ) -> dict:
        now = self._clock_ms()
        order = {
            "orderId": self._new_id(),
            "symbol": symbol,
            "status": "NEW",
            "clientOrderId": client_id,
            "price": "0",
            "avgPrice": "0",
            "origQty": f"{qty:f}",
            "executedQty": "0",
            "cumQty": "0",
            "cumQuote": "0",
            "timeInForce": "GTC",
            "type": "MARKET",
            "origType": kind,
            "reduceOnly": reduce_only,
            "closePosition": False,
            "side": side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "time": now,
            "updateTime": now,
        }
        self._orders[client_id] = order
        self._push(
            order_trade_update(
                self._event_ms(), order, "NEW", last_qty=Decimal(0), last_price=Decimal(0)
            )
        )
        return order

    def _fill(self, order: dict, price: Decimal, fee_rate: Decimal, *, maker: bool) -> None:
        symbol, side = order["symbol"], order["side"]
        qty = Decimal(order["origQty"])
        result = self._book.fill(symbol, side, qty, price, fee_rate)
        order.update(
            status="FILLED",
            avgPrice=f"{price:f}",
            executedQty=f"{qty:f}",
            cumQty=f"{qty:f}",
            cumQuote=f"{qty * price:f}",
            updateTime=self._clock_ms(),
        )
        trade_id = self._new_id()
        self._push(
            order_trade_update(
                self._event_ms(),
                order,
                "TRADE",
                last_qty=qty,
                last_price=price,
                trade_id=trade_id,
                commission=result.commission,
                realised=result.realised_pnl,
                maker=maker,
            )
        )
        self._record_income(symbol, IncomeType.REALIZED_PNL, result.realised_pnl, trade_id)
        self._record_income(symbol, IncomeType.COMMISSION, -result.commission, trade_id)
        event_ms = self._event_ms()
        mark = self._market.mark_price(symbol)
        self._push(
            account_update(
                event_ms,
                symbol,
                self._book.position(symbol),
                self._book.wallet,
                self._book.unrealised(symbol, mark),
            )
        )
        if result.position.amount == 0:  # Binance expires closePosition orders with the position
            for algo in list(self._algos.values()):
                if (
                    algo["symbol"] == symbol
                    and algo["closePosition"]
                    and algo["algoStatus"] in OPEN_ALGO_STATUSES
                ):
                    self._finish_algo(algo, "EXPIRED")

    def _record_income(self, symbol: str, kind: str, amount: Decimal, trade_id: int) -> None:
        if amount == 0:
            return
        self._income.append(
            {
                "symbol": symbol,
                "incomeType": kind,
                "income": f"{amount:f}",
                "asset": USDC,
                "info": "",
                "time": self._clock_ms(),
                "tranId": self._new_id(),
                "tradeId": str(trade_id),
            }
        )

    def _finish_algo(self, algo: dict, status: str, *, reject_reason: str = "") -> None:
        algo.update(algoStatus=status, updateTime=self._clock_ms())
        self._push(algo_update(self._event_ms(), algo, reject_reason=reject_reason))

    def _position_row(self, symbol: str) -> dict:
        position = self._book.position(symbol)
        mark = self._market.mark_price(symbol)
        return {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": f"{position.amount:f}",
            "entryPrice": f"{position.entry_price:f}",
            "breakEvenPrice": f"{position.entry_price:f}",
            "markPrice": f"{mark:f}",
            "unRealizedProfit": f"{self._book.unrealised(symbol, mark):f}",
            "notional": f"{position.amount * mark:f}",
            "marginAsset": USDC,
            "isolatedWallet": "0",
            "updateTime": self._clock_ms(),
        }

    # --- user-data stream (payloads from paper_events) ----------------------------------

    def _push(self, payload: dict) -> None:
        """Queue the payload as the raw text the user-data stream would deliver."""
        self._inbound.put(RawMessage(json.dumps(payload), self._clock_ms()))
