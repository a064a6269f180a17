"""Compare a REST snapshot with local state: the exchange is the truth.

:func:`diff` is pure, so the same code serves the OMS (which applies each drift
as a correction and audits it) and ``main.py reconcile`` (which only prints).
Versions decide which side is newer: a local record updated by an event later
than the snapshot's record (or than the snapshot itself, for records the
snapshot lacks) is not drift: the snapshot is simply behind the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.oms.events import OwnChanges, Snapshot
from bot.oms.state import AlgoOrderState, BalanceState, OmsView, OrderState, PositionState

DriftKind = Literal["order", "algo_order", "position", "balance"]
StateRecord = OrderState | AlgoOrderState | PositionState | BalanceState


@dataclass(frozen=True)
class Drift:
    """One difference; ``local``/``exchange`` is None where that side has nothing
    (no such open order, or a flat position)."""

    kind: DriftKind
    key: str
    local: StateRecord | None
    exchange: StateRecord | None

    def as_record(self) -> dict[str, str]:
        """Audit form: plain text, one line per side."""
        return {
            "kind": self.kind,
            "key": self.key,
            "local": _describe(self.local),
            "exchange": _describe(self.exchange),
        }


def _describe(record: StateRecord | None) -> str:
    return "-" if record is None else record.describe()


def _same_order(a: OrderState, b: OrderState) -> bool:
    return (a.status, a.orig_qty, a.filled_qty, a.price, a.stop_price) == (
        b.status,
        b.orig_qty,
        b.filled_qty,
        b.price,
        b.stop_price,
    )


def _same_algo(a: AlgoOrderState, b: AlgoOrderState) -> bool:
    return (a.status, a.qty, a.trigger_price, a.price, a.close_position) == (
        b.status,
        b.qty,
        b.trigger_price,
        b.price,
        b.close_position,
    )


def _order_drifts(snapshot: Snapshot, view: OmsView) -> list[Drift]:
    exchange = {
        (o.symbol, o.order_id): o for o in snapshot.open_orders if snapshot.covers(o.symbol)
    }
    drifts = []
    for key, theirs in exchange.items():
        ours = view.orders.get(key)
        if ours is not None and ours.updated_ms > (theirs.updated_ms or snapshot.taken_at_ms):
            continue
        if ours is None or not _same_order(ours, theirs):
            drifts.append(Drift("order", f"{key[0]}:{theirs.client_order_id}", ours, theirs))
    for key, ours in view.orders.items():
        gone = ours.is_open and key not in exchange and snapshot.covers(ours.symbol)
        if gone and ours.updated_ms <= snapshot.taken_at_ms:
            drifts.append(Drift("order", f"{key[0]}:{ours.client_order_id}", ours, None))
    return drifts


def _algo_drifts(snapshot: Snapshot, view: OmsView) -> list[Drift]:
    exchange = {a.client_algo_id: a for a in snapshot.open_algo_orders if snapshot.covers(a.symbol)}
    drifts = []
    for key, theirs in exchange.items():
        ours = view.algo_orders.get(key)
        if ours is not None and ours.updated_ms > (theirs.updated_ms or snapshot.taken_at_ms):
            continue
        if ours is None or not _same_algo(ours, theirs):
            drifts.append(Drift("algo_order", key, ours, theirs))
    for key, ours in view.algo_orders.items():
        gone = ours.is_open and key not in exchange and snapshot.covers(ours.symbol)
        if gone and ours.updated_ms <= snapshot.taken_at_ms:
            drifts.append(Drift("algo_order", key, ours, None))
    return drifts


def _position_drifts(snapshot: Snapshot, view: OmsView) -> list[Drift]:
    exchange = {p.symbol: p for p in snapshot.positions if p.amount != 0}
    drifts = []
    for symbol in sorted(set(exchange) | set(view.position_records)):
        if not snapshot.covers(symbol):
            continue
        theirs = exchange.get(symbol)
        ours = view.position_records.get(symbol)
        their_version = theirs.updated_ms if theirs and theirs.updated_ms else snapshot.taken_at_ms
        if ours is not None and ours.updated_ms > their_version:
            continue
        our_amount = ours.amount if ours else Decimal(0)
        if theirs is None:
            if our_amount != 0:
                drifts.append(Drift("position", symbol, ours, None))
        elif ours is None or (our_amount, ours.entry_price) != (theirs.amount, theirs.entry_price):
            drifts.append(Drift("position", symbol, ours if our_amount else None, theirs))
    return drifts


def _balance_drifts(snapshot: Snapshot, view: OmsView) -> list[Drift]:
    theirs, ours = snapshot.balance, view.balance
    if theirs is None or (ours is not None and ours.updated_ms > theirs.updated_ms):
        return []
    if ours is not None and (ours.wallet, ours.cross_wallet) == (
        theirs.wallet,
        theirs.cross_wallet,
    ):
        return []
    return [Drift("balance", theirs.asset, ours, theirs)]


def diff(snapshot: Snapshot, view: OmsView) -> list[Drift]:
    """Every difference between the exchange's snapshot and local state."""
    return [
        *_order_drifts(snapshot, view),
        *_algo_drifts(snapshot, view),
        *_position_drifts(snapshot, view),
        *_balance_drifts(snapshot, view),
    ]


def explained_by(drift: Drift, changes: OwnChanges) -> bool:
    """Whether the bot's own writes account for this difference: an open order or algo
    order is gone from a symbol where we cancelled them all, a position we closed is flat,
    the balance moved by those closes. Anything the exchange holds that we do not, or a
    difference on another symbol, stays drift."""
    if drift.kind == "balance":
        return bool(changes.closed)
    if drift.exchange is not None:
        return False
    if drift.kind == "position":
        return drift.key in changes.closed
    local = drift.local
    return isinstance(local, OrderState | AlgoOrderState) and local.symbol in changes.cancelled


def format_drift_table(drifts: list[Drift]) -> str:
    """A plain-text table for operators (``main.py reconcile``)."""
    if not drifts:
        return "no drift: local state matches the exchange"
    header = ("KIND", "KEY", "LOCAL", "EXCHANGE")
    rows = [header] + [
        tuple(d.as_record()[f] for f in ("kind", "key", "local", "exchange")) for d in drifts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
