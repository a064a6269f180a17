"""Recover exits that happened while nobody listened (cron gaps, long outages).

A REST snapshot says *that* a stop-loss or take-profit algo order is gone, not
*why*: was it triggered and filled, or cancelled? The answer matters, because a
stop-loss exit counts towards the SL streak and its fills carry realised PnL.
For every algo order the OMS still thinks is open but the exchange no longer
lists, this module asks the exchange what became of it (``GET algoOrder``), and
for a triggered one fetches its child order and fills, then turns them into the
same typed events the user stream would have delivered (an algo update and the
child order's fills). The OMS applies them like any other event, so a fill
the stream did deliver is recognised by its trade id and not counted twice.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.domain.enums import HAS_CHILD_ALGO_STATUSES, ExecutionType, OrderStatus
from bot.domain.records import ZERO, AlgoOrder, Order, Trade
from bot.oms.events import AlgoUpdate, Event, OrderTradeUpdate, Snapshot
from bot.oms.state import USDC, OmsView

log = logging.getLogger(__name__)


class HistoryClient(Protocol):
    def query_algo_order(self, client_algo_id: str) -> AlgoOrder | None: ...
    def query_order_by_id(self, symbol: str, order_id: int) -> Order | None: ...
    def user_trades(self, symbol: str, order_id: int) -> list[Trade]: ...


def _algo_update(algo: AlgoOrder, event_ms: int, received_at_ms: int) -> AlgoUpdate:
    return AlgoUpdate(
        event_time_ms=event_ms,
        transaction_time_ms=event_ms,
        received_at_ms=received_at_ms,
        client_algo_id=algo.client_algo_id,
        algo_id=algo.algo_id,
        algo_type=algo.algo_type,
        order_type=algo.order_type,
        symbol=algo.symbol,
        side=algo.side,
        position_side=algo.position_side,
        qty=algo.qty,
        status=algo.status,
        actual_order_id=algo.actual_order_id,
        avg_price=ZERO,
        executed_qty=ZERO,
        trigger_price=algo.trigger_price,
        price=algo.price,
        working_type=algo.working_type or "",
        close_position=algo.close_position,
        reduce_only=algo.reduce_only,
        reject_reason="",
    )


def _fill_updates(order: Order, trades: list[Trade], received_at_ms: int) -> list[OrderTradeUpdate]:
    """One fill event per trade, with the cumulative quantity as the stream reports it."""
    filled = ZERO
    updates = []
    for trade in sorted(trades, key=lambda t: (t.time_ms, t.trade_id)):
        filled += trade.qty
        status = OrderStatus.FILLED if filled >= order.orig_qty else OrderStatus.PARTIALLY_FILLED
        updates.append(
            OrderTradeUpdate(
                event_time_ms=trade.time_ms,
                transaction_time_ms=trade.time_ms,
                received_at_ms=received_at_ms,
                symbol=order.symbol,
                client_order_id=order.client_order_id,
                order_id=order.order_id,
                side=order.side,
                order_type=order.order_type,
                original_type=order.orig_type or order.order_type,
                execution_type=ExecutionType.TRADE,
                status=status,
                orig_qty=order.orig_qty,
                price=order.price,
                avg_price=order.avg_price,
                stop_price=ZERO,
                filled_qty=filled,
                last_qty=trade.qty,
                last_price=trade.price,
                commission_asset=trade.commission_asset or USDC,
                commission=trade.commission,
                realised_pnl=trade.realised_pnl,
                trade_id=trade.trade_id,
                trade_time_ms=trade.time_ms,
                is_maker=trade.maker,
                reduce_only=order.reduce_only,
                close_position=order.close_position,
                position_side=order.position_side,
            )
        )
    return updates


def missed_exit_events(
    client: HistoryClient, view: OmsView, snapshot: Snapshot, received_at_ms: int
) -> list[Event]:
    """Events for algo orders that closed unseen; put them on the queue before the snapshot."""
    still_open = {a.client_algo_id for a in snapshot.open_algo_orders}
    events: list[Event] = []
    for client_algo_id, local in view.open_algo_orders.items():
        if client_algo_id in still_open or not snapshot.covers(local.symbol):
            continue
        algo = client.query_algo_order(client_algo_id)
        if algo is None:
            continue  # Binance forgets untriggered cancelled algo orders after 3 days
        event_ms = algo.updated_ms or snapshot.taken_at_ms
        child_id = algo.actual_order_id
        fills: list[OrderTradeUpdate] = []
        if algo.status in HAS_CHILD_ALGO_STATUSES and child_id:
            child = client.query_order_by_id(local.symbol, child_id)
            if child is not None:
                trades = client.user_trades(local.symbol, child_id)
                fills = _fill_updates(child, trades, received_at_ms)
        # the link (ALGO_UPDATE with ai) first, then the fills, as the stream usually sends
        events.append(_algo_update(algo, event_ms, received_at_ms))
        events.extend(fills)
        log.info(
            "recovered %s %s: %s with %d fill(s)",
            local.symbol,
            client_algo_id,
            algo.status,
            len(fills),
        )
    return events
