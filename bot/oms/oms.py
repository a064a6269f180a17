"""The order management system: the only writer of trading state.

One consumer thread (:class:`bot.oms.worker.OmsWorker`) calls :meth:`Oms.apply`
for every event in arrival order. Handlers are idempotent: an event is applied
only when it is at least as new as what the record holds (event time, then
filled quantity for orders), and fills and funding payments are counted once per
id, persisted with the state. Other threads call :meth:`Oms.snapshot` and get an
immutable :class:`OmsView`.

New fills and funding payments feed the risk counters kept by
:class:`bot.oms.ledger.RiskLedger` (day PnL, stop-loss streak). A triggered SL/TP
child order may carry a client id we do not know, and its fill can arrive before
the ``ALGO_UPDATE`` that links it (``ai``): such a fill waits on the order record
until the link arrives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from immutables import Map

from bot.alarms import raise_alarm
from bot.client_ids import DEFAULT_TAG, Leg, parse_client_id
from bot.oms.commands import Command, Prune, SeedDayPnl, SetMeta
from bot.oms.events import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    Event,
    ListenKeyExpired,
    MalformedPayload,
    MarginCall,
    OrderTradeUpdate,
    Snapshot,
    TradeLite,
    UnknownEvent,
    funding_key,
)
from bot.oms.ledger import Audit, RiskLedger
from bot.oms.reconcile import Drift, diff, explained_by
from bot.oms.state import (
    CLOSED_BY_RECONCILE,
    USDC,
    AlgoOrderState,
    BalanceState,
    OmsView,
    OrderState,
    PositionState,
    index_by_client_id,
)
from bot.oms.store import Store

log = logging.getLogger(__name__)

PROCESSED_ID_RETENTION = timedelta(days=7)
# Terminal orders and algo orders are deleted from the store after this long: the SL
# streak has counted them and the exchange keeps the history.
ORDER_RETENTION = timedelta(days=2)
# Memory holds open state and only this much terminal history (at least two candles,
# see memory_window): the SL streak counts an exit as soon as its leg is known (a
# triggered child's ALGO_UPDATE link arrives within seconds) and the duplicate-entry
# check looks up the current candle's entry id (and asks the exchange). Older records
# are read from the store by key when an event for them arrives.
MEMORY_WINDOW = timedelta(hours=1)
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_STATUS_RANK = {"NEW": 0, "PARTIALLY_FILLED": 1}  # every other status is final


class WrongThread(RuntimeError):
    """A state change off the OMS worker thread: a bug, never to be caught and ignored."""


def memory_window(interval: str) -> timedelta:
    """The in-memory window for a candle interval (``"15m"``, ``"4h"``, ``"1d"``): the
    current and previous candle, and at least MEMORY_WINDOW."""
    return max(MEMORY_WINDOW, 2 * int(interval[:-1]) * _UNIT[interval[-1]])


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _order_version(event_ms: int, filled: Decimal, status: str) -> tuple[int, Decimal, int]:
    return event_ms, filled, _STATUS_RANK.get(status, 2)


class Oms:
    """Trading state built from events; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: Store,
        audit: Audit,
        *,
        clock: Callable[[], datetime] = _utc_now,
        tag: str = DEFAULT_TAG,
        window: timedelta = MEMORY_WINDOW,
    ) -> None:
        """``tag`` names this bot's client ids: only its own exits count in the streak;
        ``window`` is how much terminal history memory keeps (see MEMORY_WINDOW)."""
        self._tag = tag
        self._window_ms = window // timedelta(milliseconds=1)
        self._store = store
        self._audit = audit
        self._clock = clock
        self._writer: int | None = None  # the one thread allowed to change state
        self._view: OmsView | None = None
        self._newest = store.newest_ms()  # the newest exchange time of an order held
        self._evicted_at = self._newest  # exchange time of the last eviction from memory
        self._processed_evicted_at = self._now_ms()
        stored = store.load(
            since_ms=self._newest - self._window_ms,
            processed_since_ms=self._processed_evicted_at - self._window_ms,
        )
        self._meta = dict(stored.meta)
        # Persistent maps: a change makes a new map sharing the rest, so publishing a
        # view is O(1) whatever the size of the history, and a reader's view never moves.
        self._orders: Map[tuple[str, int], OrderState] = Map(
            {(o.symbol, o.order_id): o for o in stored.orders}
        )
        self._order_keys: Map[str, tuple[str, int]] = Map(index_by_client_id(self._orders))
        self._algo_orders = Map({a.client_algo_id: a for a in stored.algo_orders})
        self._algo_by_child = {
            (a.symbol, a.actual_order_id): a.client_algo_id
            for a in stored.algo_orders
            if a.actual_order_id is not None
        }
        self._positions = Map({p.symbol: p for p in stored.positions})
        self._balance = next((b for b in stored.balances if b.asset == USDC), None)
        self._processed = stored.processed_ids
        self._ledger = RiskLedger(
            store, audit, stored.day_pnls, stored.counters, on_change=self._invalidate
        )
        self._leverage: dict[str, int] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            OrderTradeUpdate: self._on_order_update,
            AccountUpdate: self._on_account_update,
            AlgoUpdate: self._on_algo_update,
            Snapshot: self._on_snapshot,
            AccountConfigUpdate: self._on_account_config,
            MarginCall: self._on_margin_call,
            ListenKeyExpired: self._on_listen_key_expired,
            TradeLite: self._ignore,  # the ORDER_TRADE_UPDATE of the same trade carries PnL and fee
            UnknownEvent: self._ignore,
            SeedDayPnl: self._on_seed,
            Prune: self._on_prune,
            SetMeta: self._on_set_meta,
        }
        self._on_prune(Prune())
        self._store.commit()
        self._published = self._build_view()

    # public API -----------------------------------------------------------------

    def bind_writer(self) -> None:
        """Make the calling thread the only one allowed to change state from now on
        (the OMS worker calls it when it starts; before that, the composition root
        builds and loads on its own thread)."""
        self._writer = threading.get_ident()

    def apply(self, event: Event | Command, *, commit: bool = True) -> None:
        """Apply one event or command; with ``commit=False`` the caller commits and
        publishes a batch later (:meth:`commit`, :meth:`publish`)."""
        self._check_writer()
        self._handlers[type(event)](event)
        if commit:
            self.commit()
            self.publish()

    def commit(self) -> None:
        self._check_writer()
        self._store.commit()
        self._evict_if_due()

    def publish(self) -> None:
        """Make the current state what :meth:`snapshot` returns (built only if changed)."""
        self._check_writer()
        if self._view is None:
            self._published = self._view = self._build_view()

    def snapshot(self) -> OmsView:
        """The last published state: immutable, safe to read from any thread (one
        attribute read, no lock)."""
        return self._published

    def _build_view(self) -> OmsView:
        return OmsView(
            orders=self._orders,
            algo_orders=self._algo_orders,
            position_records=self._positions,
            balance=self._balance,
            counters=self._ledger.counters,
            day_pnls=self._ledger.day_pnls,
            leverage=self._leverage,
            meta=self._meta,
            order_keys=self._order_keys,
        )

    def _check_writer(self) -> None:
        if self._writer is not None and threading.get_ident() != self._writer:
            raise WrongThread(
                f"OMS state changed on thread {threading.current_thread().name}: only its "
                "worker thread may; put a command on its queue instead"
            )

    def _on_set_meta(self, command: SetMeta) -> None:
        self._meta[command.key] = command.value
        self._store.set_meta(command.key, command.value)
        self._invalidate()

    def _on_prune(self, command: Prune) -> None:
        """Delete terminal (not open) orders and algo orders last updated before
        ``before_ms`` and fill ids processed more than PROCESSED_ID_RETENTION ago from
        the store, and evict from memory what the window no longer covers. Open orders
        stay whatever their age. Run at start and from the daily roll.

        The default horizon is ORDER_RETENTION before the newest exchange time the OMS
        holds, not before the local clock: a simulator's clock may be far from ours,
        and a restart after a long pause must not drop the orders of the last session."""
        before_ms = command.before_ms
        if before_ms is None:
            before_ms = self._newest - int(ORDER_RETENTION.total_seconds() * 1000)
        self._store.prune_orders(before_ms)
        self._store.prune_processed(
            int((self._clock() - PROCESSED_ID_RETENTION).timestamp() * 1000)
        )
        self._evict()

    def _evict_if_due(self) -> None:
        """Evict a quarter window after the last eviction (exchange time for orders,
        local time for fill ids), so memory holds at most about 1.25 windows."""
        quarter = self._window_ms // 4
        if self._newest - self._evicted_at >= quarter or (
            self._now_ms() - self._processed_evicted_at >= quarter
        ):
            self._evict()

    def _evict(self) -> None:
        """Terminal orders and algo orders older than the window, and fill ids processed
        before it, leave memory; they stay in the store (read by key when needed)."""
        before_ms = self._newest - self._window_ms
        orders = [
            key
            for key, order in self._orders.items()
            if not order.is_open and order.updated_ms < before_ms
        ]
        algos = [
            key
            for key, algo in self._algo_orders.items()
            if not algo.is_open and algo.updated_ms < before_ms
        ]
        if orders:
            with self._orders.mutate() as remaining_orders:
                for key in orders:
                    del remaining_orders[key]
                self._orders = remaining_orders.finish()
            self._order_keys = Map(index_by_client_id(self._orders))
        if algos:
            with self._algo_orders.mutate() as remaining_algos:
                for client_algo_id in algos:
                    del remaining_algos[client_algo_id]
                self._algo_orders = remaining_algos.finish()
            gone = set(algos)
            self._algo_by_child = {
                child: algo for child, algo in self._algo_by_child.items() if algo not in gone
            }
        now_ms = self._now_ms()
        processed_before_ms = now_ms - self._window_ms
        self._processed = {
            key: at for key, at in self._processed.items() if at >= processed_before_ms
        }
        self._evicted_at, self._processed_evicted_at = self._newest, now_ms
        self._invalidate()
        if orders or algos:
            log.info(
                "%d orders and %d algo orders last updated before %d left memory",
                len(orders),
                len(algos),
                before_ms,
            )

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)

    def _is_processed(self, key: str) -> bool:
        return key in self._processed or self._store.is_processed(key)

    def _on_seed(self, command: SeedDayPnl) -> None:
        """Merge a day's income history from the exchange (commission negative, as the
        income API reports it). The record with the larger loss wins, whole: summing
        would double count, and a lost state.db must never lift the daily limit.

        ``counted`` are the keys (:func:`bot.oms.events.income_key`) of the fills and
        funding payments in that history: when the history wins, their events, if they
        arrive later (in flight during the read, or a replay), are not counted again."""
        day = command.day
        before = self._ledger.day_pnls.get(day)
        seeded = self._ledger.seed_day_pnl(
            day, command.realised, command.commission, command.funding
        )
        if seeded is not before:
            for key in command.counted:
                if not self._is_processed(key):
                    self._mark_processed(key)

    def alarm(self, kind: str, message: str, data: dict[str, Any]) -> None:
        """Something an operator must act on: see :func:`bot.alarms.raise_alarm`."""
        raise_alarm(self._audit, kind, message, **data)

    def record_malformed(self, error: MalformedPayload) -> None:
        """Log and audit a payload that could not be parsed (the consumer carries on)."""
        log.error("malformed user-data payload: %s", error.reason)
        self._audit.append(
            "malformed_payload", {"reason": error.reason, "payload": error.payload[:2000]}
        )

    def record_failure(self, what: str, error: Exception) -> None:
        """Log and audit a failure to apply or commit (the consumer carries on). A
        refused commit is an alarm: the store lags memory until the next snapshot."""
        if what == "commit":
            self.alarm("store_commit_failed", f"state not fully stored: {error}", {})
            return
        log.error("OMS failed on %s", what, exc_info=error)
        self._audit.append("oms_error", {"on": what, "error": repr(error)})

    # orders and fills -----------------------------------------------------------------

    def _on_order_update(self, event: OrderTradeUpdate) -> None:
        key = (event.symbol, event.order_id)
        current = self._orders.get(key) or self._store.order(key)
        new_fill = event.is_fill and not self._is_processed(event.fill_key)
        first_fill_ms = current.first_fill_ms if current else None
        if new_fill and (first_fill_ms is None or event.trade_time_ms < first_fill_ms):
            first_fill_ms = event.trade_time_ms
        incoming = _order_version(event.event_time_ms, event.filled_qty, event.status)
        if current is None or incoming >= _order_version(
            current.updated_ms, current.filled_qty, current.status
        ):
            order = OrderState(
                symbol=event.symbol,
                order_id=event.order_id,
                client_order_id=event.client_order_id,
                side=event.side,
                order_type=event.order_type,
                status=event.status,
                orig_qty=event.orig_qty,
                price=event.price,
                avg_price=event.avg_price,
                stop_price=event.stop_price,
                filled_qty=event.filled_qty,
                reduce_only=event.reduce_only,
                close_position=event.close_position,
                updated_ms=event.event_time_ms,
                first_fill_ms=first_fill_ms,
                exit_counted=current.exit_counted if current else False,
            )
        elif first_fill_ms != current.first_fill_ms:
            order = replace(current, first_fill_ms=first_fill_ms)  # a late fill of an old event
        else:
            order = current
        if new_fill:
            self._mark_processed(event.fill_key)
            self._ledger.record_fill(event)
            order = self._count_exit(order)
        if order is not current:
            self._put_order(order)
        if new_fill and event.forced_close:
            self._alarm_forced_close(event, event.forced_close)

    def _alarm_forced_close(self, event: OrderTradeUpdate, forced_close: str) -> None:
        """The exchange closed (part of) a position itself: the loss is in the day PnL
        with the fill; the leftover SL/TP are the position guard's (cancel_orphans)."""
        reason = forced_close.upper()
        self.alarm(
            "forced_close",
            f"{event.symbol} closed by {reason} ({event.client_order_id}): "
            f"{event.side} {event.last_qty} @ {event.last_price}, realised {event.realised_pnl}",
            {
                "close_reason": reason,
                "symbol": event.symbol,
                "client_id": event.client_order_id,
                "order_id": event.order_id,
                "qty": event.last_qty,
                "price": event.last_price,
                "realised_pnl": event.realised_pnl,
            },
        )

    def _leg_of(self, order: OrderState) -> Leg | None:
        parsed = parse_client_id(order.client_order_id, tag=self._tag)
        if parsed is None:
            algo_id = self._algo_by_child.get((order.symbol, order.order_id))
            parsed = parse_client_id(algo_id, tag=self._tag) if algo_id else None
        return parsed.leg if parsed else None

    def _count_exit(self, order: OrderState) -> OrderState:
        """Count an order's exit in the SL streak once, as soon as its leg is known;
        returns the order marked as counted (the caller stores it) or unchanged."""
        if order.exit_counted or order.first_fill_ms is None:
            return order
        leg = self._leg_of(order)
        if leg is None:
            return order  # not ours, or a triggered child whose ALGO_UPDATE link is still to come
        self._ledger.count_exit(order, leg)
        return replace(order, exit_counted=True)

    # algo orders ------------------------------------------------------------------------

    def _on_algo_update(self, event: AlgoUpdate) -> None:
        current = self._algo_orders.get(event.client_algo_id) or self._store.algo_order(
            event.client_algo_id
        )
        actual = event.actual_order_id or (current.actual_order_id if current else None)
        if current is None or event.event_time_ms >= current.updated_ms:
            self._put_algo_order(
                AlgoOrderState(
                    client_algo_id=event.client_algo_id,
                    algo_id=event.algo_id,
                    symbol=event.symbol,
                    side=event.side,
                    order_type=event.order_type,
                    status=event.status,
                    qty=event.qty,
                    trigger_price=event.trigger_price,
                    price=event.price,
                    working_type=event.working_type,
                    reduce_only=event.reduce_only,
                    close_position=event.close_position,
                    actual_order_id=actual,
                    updated_ms=event.event_time_ms,
                )
            )
        if event.status == "REJECTED":
            log.error(
                "algo order %s on %s rejected: %s",
                event.client_algo_id,
                event.symbol,
                event.reject_reason,
            )
        if actual is not None:
            # The link is timeless: record it even from a stale event.
            self._algo_by_child[(event.symbol, actual)] = event.client_algo_id
            child = self._orders.get((event.symbol, actual)) or self._store.order(
                (event.symbol, actual)
            )
            if child is not None and (counted := self._count_exit(child)) is not child:
                self._put_order(counted)

    # account -------------------------------------------------------------------------

    def _on_account_update(self, event: AccountUpdate) -> None:
        for change in event.balances:
            if change.asset != USDC:
                continue
            if self._balance is None or event.event_time_ms >= self._balance.updated_ms:
                self._put_balance(
                    BalanceState(USDC, change.wallet, change.cross_wallet, event.event_time_ms)
                )
            if event.reason == "FUNDING_FEE":
                self._record_funding(event, change.balance_change)
        for update in event.positions:
            if update.position_side not in ("BOTH", ""):
                log.warning(
                    "ignoring hedge-mode position %s %s", update.symbol, update.position_side
                )
                continue
            current = self._positions.get(update.symbol)
            if current is None or event.event_time_ms >= current.updated_ms:
                self._put_position(
                    PositionState(
                        symbol=update.symbol,
                        amount=update.amount,
                        entry_price=update.entry_price,
                        breakeven_price=update.breakeven_price,
                        unrealised_pnl=update.unrealised_pnl,
                        margin_type=update.margin_type,
                        updated_ms=event.event_time_ms,
                    )
                )

    def _record_funding(self, event: AccountUpdate, amount: Decimal) -> None:
        key = funding_key(
            event.funding_symbol,
            event.transaction_time_ms or event.event_time_ms,
            event.event_time_ms,
        )
        if self._is_processed(key):
            return
        self._mark_processed(key)
        self._ledger.record_funding(event, amount)

    def _on_account_config(self, event: AccountConfigUpdate) -> None:
        if event.symbol is not None and event.leverage is not None:
            self._leverage[event.symbol] = event.leverage
            self._invalidate()
        if event.multi_assets:
            log.warning("account switched to multi-assets mode")

    def _on_margin_call(self, event: MarginCall) -> None:
        symbols = ", ".join(f"{p.symbol} {p.amount}" for p in event.positions)
        self.alarm(
            "margin_call",
            f"MARGIN CALL: {symbols}",
            {"cross_wallet": event.cross_wallet, "positions": symbols},
        )

    def _on_listen_key_expired(self, event: ListenKeyExpired) -> None:
        log.warning(
            "listenKey expired at %s (the stream supervisor renews it)", event.event_time_ms
        )

    def _ignore(self, event: object) -> None:
        return None

    # reconciliation ---------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        for drift in diff(snapshot, self.snapshot()):
            self._correct(drift, snapshot.taken_at_ms)
            if drift.kind == "balance" and drift.local is None:
                # a fresh state dir learning its balance is not a difference
                log.info("USDC balance loaded: %s", drift.as_record()["exchange"])
                self._audit.append("balance_loaded", drift.as_record())
                continue
            if explained_by(drift, snapshot.own_changes):
                log.info(
                    "applied own change %s %s: local %s, exchange %s", *drift.as_record().values()
                )
                self._audit.append("own_change", drift.as_record())
                continue
            log.warning("drift %s %s: local %s, exchange %s", *drift.as_record().values())
            self._audit.append("drift", drift.as_record())

    def _correct(self, drift: Drift, taken_at_ms: int) -> None:
        local, exchange = drift.local, drift.exchange
        if isinstance(exchange, OrderState):
            keep = local if isinstance(local, OrderState) else None
            self._put_order(
                replace(
                    exchange,
                    updated_ms=exchange.updated_ms or taken_at_ms,
                    first_fill_ms=keep.first_fill_ms if keep else None,
                    exit_counted=keep.exit_counted if keep else False,
                )
            )
        elif isinstance(local, OrderState):
            self._put_order(replace(local, status=CLOSED_BY_RECONCILE, updated_ms=taken_at_ms))
        elif isinstance(exchange, AlgoOrderState):
            self._put_algo_order(replace(exchange, updated_ms=exchange.updated_ms or taken_at_ms))
        elif isinstance(local, AlgoOrderState):
            self._put_algo_order(replace(local, status=CLOSED_BY_RECONCILE, updated_ms=taken_at_ms))
        elif isinstance(exchange, PositionState):
            self._put_position(replace(exchange, updated_ms=exchange.updated_ms or taken_at_ms))
        elif drift.kind == "position":
            self._put_position(
                PositionState(
                    drift.key,
                    Decimal(0),
                    Decimal(0),
                    Decimal(0),
                    Decimal(0),
                    local.margin_type if isinstance(local, PositionState) else "cross",
                    taken_at_ms,
                )
            )
        elif isinstance(exchange, BalanceState):
            self._put_balance(exchange)

    # writes (memory + store staged; committed by apply/commit) -------------------------

    def _invalidate(self) -> None:
        self._view = None

    def _put_order(self, order: OrderState) -> None:
        key = (order.symbol, order.order_id)
        self._newest = max(self._newest, order.updated_ms)
        self._orders = self._orders.set(key, order)
        indexed = self._order_keys.get(order.client_order_id)
        held = None if indexed is None else self._orders.get(indexed)
        if held is None or indexed == key or order.updated_ms >= held.updated_ms:
            self._order_keys = self._order_keys.set(order.client_order_id, key)
        self._store.put_order(order)
        self._invalidate()

    def _put_algo_order(self, algo: AlgoOrderState) -> None:
        self._newest = max(self._newest, algo.updated_ms)
        self._algo_orders = self._algo_orders.set(algo.client_algo_id, algo)
        if algo.actual_order_id is not None:
            self._algo_by_child[(algo.symbol, algo.actual_order_id)] = algo.client_algo_id
        self._store.put_algo_order(algo)
        self._invalidate()

    def _put_position(self, position: PositionState) -> None:
        self._positions = self._positions.set(position.symbol, position)
        self._store.put_position(position)
        self._invalidate()

    def _put_balance(self, balance: BalanceState) -> None:
        self._balance = balance
        self._store.put_balance(balance)
        self._invalidate()

    def _mark_processed(self, key: str) -> None:
        processed_ms = self._now_ms()
        self._processed[key] = processed_ms
        self._store.add_processed(key, processed_ms)


def load_view(store: Store) -> OmsView:
    """The persisted state as a view, without an OMS and without writing anything
    (for the read-only ``main.py reconcile``: ``diff(take_snapshot(...), load_view(store))``):
    open state and the last MEMORY_WINDOW of terminal history, like an OMS's start."""
    stored = store.load(since_ms=store.newest_ms() - MEMORY_WINDOW // timedelta(milliseconds=1))
    return OmsView(
        orders=Map({(o.symbol, o.order_id): o for o in stored.orders}),
        algo_orders=Map({a.client_algo_id: a for a in stored.algo_orders}),
        position_records=Map({p.symbol: p for p in stored.positions}),
        balance=next((b for b in stored.balances if b.asset == USDC), None),
        counters=stored.counters,
        day_pnls={p.day: p for p in stored.day_pnls},
        meta=stored.meta,
    )
