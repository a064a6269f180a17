"""Commands: the state changes that are not exchange events, put on the OMS queue.

One writer means one writer: a day-PnL seed from the income history, pruning of old
orders and a small metadata record (a bracket plan, "account set up today") enter
the same queue as the user-data events and REST snapshots, and the OMS thread
applies them in arrival order and commits them with its batch. A caller that needs
the change stored before it goes on (a plan before its entry is sent) waits for
the queue to be applied (:meth:`bot.oms.worker.OmsWorker.wait_idle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class SeedDayPnl:
    """Merge a day's income history (see :meth:`bot.oms.oms.Oms` ``_on_seed``);
    ``counted`` are the :func:`bot.oms.events.income_key` of the rows it holds."""

    day: date
    realised: Decimal
    commission: Decimal
    funding: Decimal
    counted: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Prune:
    """Forget terminal orders last updated before ``before_ms`` (default: the
    retention horizon) and old processed ids."""

    before_ms: int | None = None


@dataclass(frozen=True)
class SetMeta:
    """Store a small record under ``key`` (visible in ``OmsView.meta``)."""

    key: str
    value: str


Command = SeedDayPnl | Prune | SetMeta


class OmsUnavailable(RuntimeError):
    """A command was not applied in time (consumer dead, stuck or far behind): whatever
    depended on it being stored must not go on."""
