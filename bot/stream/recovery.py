"""Recover exits that happened while nobody listened (cron gaps, long outages).

A REST snapshot says *that* a stop-loss or take-profit algo order is gone, not
*why*: was it triggered and filled, or cancelled? The answer matters, because a
stop-loss exit counts towards the SL streak and its fills carry realised PnL.
For every algo order the OMS still thinks is open but the exchange no longer
lists, this module asks the exchange what became of it (``GET algoOrder``), and
for a triggered one fetches its child order and fills, then turns them into the
same events the user stream would have delivered (``ALGO_UPDATE`` and
``ORDER_TRADE_UPDATE``). The OMS applies them like any other event, so a fill
the stream did deliver is recognised by its trade id and not counted twice.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any, Protocol

from bot.oms.events import Event, Snapshot
from bot.oms.parsing import parse_user_data
from bot.oms.state import OmsView

log = logging.getLogger(__name__)

TRIGGERED_STATUSES = frozenset({"TRIGGERING", "TRIGGERED", "FINISHED"})


class HistoryClient(Protocol):
    def query_algo_order(self, client_algo_id: str) -> dict | None: ...
    def query_order_by_id(self, symbol: str, order_id: int) -> dict | None: ...
    def user_trades(self, symbol: str, order_id: int) -> list[dict]: ...


def _algo_update(algo: dict[str, Any], event_ms: int) -> dict[str, Any]:
    return {
        "e": "ALGO_UPDATE",
        "E": event_ms,
        "T": event_ms,
        "o": {
            "caid": algo["clientAlgoId"],
            "aid": algo["algoId"],
            "at": algo.get("algoType", "CONDITIONAL"),
            "o": algo["orderType"],
            "s": algo["symbol"],
            "S": algo["side"],
            "ps": algo.get("positionSide", "BOTH"),
            "q": algo.get("quantity", "0"),
            "X": algo["algoStatus"],
            "ai": algo.get("actualOrderId", ""),
            "tp": algo.get("triggerPrice", "0"),
            "p": algo.get("price", "0"),
            "wt": algo.get("workingType", ""),
            "cp": algo.get("closePosition", False),
            "R": algo.get("reduceOnly", False),
        },
    }


def _fill_updates(order: dict[str, Any], trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ORDER_TRADE_UPDATE per fill, cumulative quantity as the stream reports it."""
    orig_qty = Decimal(order["origQty"])
    filled = Decimal(0)
    updates = []
    for trade in sorted(trades, key=lambda t: (t["time"], t["id"])):
        filled += Decimal(trade["qty"])
        updates.append(
            {
                "e": "ORDER_TRADE_UPDATE",
                "E": trade["time"],
                "T": trade["time"],
                "o": {
                    "s": order["symbol"],
                    "c": order["clientOrderId"],
                    "S": order["side"],
                    "o": order["type"],
                    "ot": order.get("origType", order["type"]),
                    "x": "TRADE",
                    "X": "FILLED" if filled >= orig_qty else "PARTIALLY_FILLED",
                    "i": order["orderId"],
                    "q": order["origQty"],
                    "p": order.get("price", "0"),
                    "ap": order.get("avgPrice", "0"),
                    "z": f"{filled:f}",
                    "l": trade["qty"],
                    "L": trade["price"],
                    "N": trade.get("commissionAsset", "USDC"),
                    "n": trade.get("commission", "0"),
                    "rp": trade.get("realizedPnl", "0"),
                    "t": trade["id"],
                    "T": trade["time"],
                    "m": trade.get("maker", False),
                    "R": order.get("reduceOnly", False),
                    "cp": order.get("closePosition", False),
                    "ps": order.get("positionSide", "BOTH"),
                },
            }
        )
    return updates


def missed_exit_events(
    client: HistoryClient, view: OmsView, snapshot: Snapshot, received_at_ms: int
) -> list[Event]:
    """Events for algo orders that closed unseen; put them on the queue before the snapshot."""
    still_open = {a.client_algo_id for a in snapshot.open_algo_orders}
    payloads: list[dict[str, Any]] = []
    for client_algo_id, local in view.open_algo_orders.items():
        if client_algo_id in still_open or not snapshot.covers(local.symbol):
            continue
        algo = client.query_algo_order(client_algo_id)
        if algo is None:
            continue  # Binance forgets untriggered cancelled algo orders after 3 days
        event_ms = int(algo.get("updateTime") or snapshot.taken_at_ms)
        child_id = algo.get("actualOrderId")
        fills: list[dict[str, Any]] = []
        if algo.get("algoStatus") in TRIGGERED_STATUSES and child_id:
            child = client.query_order_by_id(local.symbol, int(child_id))
            if child is not None:
                fills = _fill_updates(child, client.user_trades(local.symbol, int(child_id)))
        # the link (ALGO_UPDATE with ai) first, then the fills, as the stream usually sends
        payloads.append(_algo_update(algo, event_ms))
        payloads.extend(fills)
        log.info(
            "recovered %s %s: %s with %d fill(s)",
            local.symbol,
            client_algo_id,
            algo.get("algoStatus"),
            len(fills),
        )
    return [parse_user_data(json.dumps(p), received_at_ms) for p in payloads]
