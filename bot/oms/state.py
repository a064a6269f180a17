"""Trading-state records and the read-only view the OMS hands to other threads.

Every record is frozen and carries ``updated_ms``: the exchange time (event time
``E`` of a user-data event, or ``updateTime`` of a REST snapshot) of the newest
information it holds. The OMS compares it with an incoming event's time, so an
older event arriving after a newer one changes nothing, and reconciliation can
tell "local is behind" from "the snapshot is behind".

Records serialise to JSON (Decimals as strings) for the store with
:func:`encode` / :func:`decode`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_type_hints

from immutables import Map

from bot.console import plain
from bot.domain.enums import OPEN_ALGO_STATUSES, OPEN_ORDER_STATUSES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Not a Binance status: reconciliation found the order gone from the exchange's open
# list without having seen how it ended (fill or cancel). Positions and balances are
# corrected separately; PnL of an unseen fill comes from the income history seed.
CLOSED_BY_RECONCILE = "CLOSED_BY_RECONCILE"
USDC = "USDC"


@dataclass(frozen=True)
class OrderState:
    """A regular (matching-engine) order, keyed by (symbol, order_id)."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    order_type: str
    status: str
    orig_qty: Decimal
    price: Decimal
    avg_price: Decimal
    stop_price: Decimal
    filled_qty: Decimal
    reduce_only: bool
    close_position: bool
    updated_ms: int
    # OMS bookkeeping for the stop-loss streak: when the first fill was seen and
    # whether this order's exit has already been counted (once per order).
    first_fill_ms: int | None = None
    exit_counted: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    def describe(self) -> str:
        return (
            f"{self.side} {self.order_type} {plain(self.filled_qty)}/{plain(self.orig_qty)} "
            f"@ {plain(self.price)} {self.status}"
        )


@dataclass(frozen=True)
class AlgoOrderState:
    """A conditional (Algo Service) order, keyed by its clientAlgoId."""

    client_algo_id: str
    algo_id: int
    symbol: str
    side: str
    order_type: str
    status: str
    qty: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: str
    reduce_only: bool
    close_position: bool
    actual_order_id: int | None
    updated_ms: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALGO_STATUSES

    def describe(self) -> str:
        size = "close-all" if self.close_position else plain(self.qty)
        return f"{self.side} {self.order_type} {size} trigger {plain(self.trigger_price)} {self.status}"


@dataclass(frozen=True)
class PositionState:
    """One-way-mode position of a symbol; ``amount`` is signed (short < 0)."""

    symbol: str
    amount: Decimal
    entry_price: Decimal
    breakeven_price: Decimal
    unrealised_pnl: Decimal
    margin_type: str
    updated_ms: int

    def describe(self) -> str:
        return f"{plain(self.amount)} @ {plain(self.entry_price)}"


@dataclass(frozen=True)
class BalanceState:
    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    updated_ms: int

    def describe(self) -> str:
        return f"wallet {plain(self.wallet)} cross {plain(self.cross_wallet)}"


@dataclass(frozen=True)
class DayPnl:
    """Realised result of one UTC day; ``commission`` and losses are negative."""

    day: date
    realised: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.realised + self.commission + self.funding


@dataclass(frozen=True)
class RiskCounters:
    """Stop-loss streak: consecutive SL exits since the last TP exit (by trade time)."""

    sl_streak: int = 0
    last_sl_exit_ms: int | None = None
    last_tp_exit_ms: int | None = None


K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only mapping that cannot change under its reader: a persistent map is
    shared as it is (no copy), anything else is copied once."""
    return mapping if isinstance(mapping, Map) else MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class OmsView:
    """An immutable copy of the OMS state; safe to keep and read from any thread."""

    orders: Mapping[tuple[str, int], OrderState] = field(default_factory=dict)
    algo_orders: Mapping[str, AlgoOrderState] = field(default_factory=dict)
    position_records: Mapping[str, PositionState] = field(default_factory=dict)
    balance: BalanceState | None = None
    counters: RiskCounters = field(default_factory=RiskCounters)
    day_pnls: Mapping[date, DayPnl] = field(default_factory=dict)
    leverage: Mapping[str, int] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)  # small records (plans, markers)
    # client order id -> key in ``orders`` of the newest order with that id; built from
    # ``orders`` when not given (the OMS keeps it up to date, so a lookup is O(1))
    order_keys: Mapping[str, tuple[str, int]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("orders", "algo_orders", "position_records", "day_pnls", "leverage", "meta"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.order_keys is None:
            object.__setattr__(self, "order_keys", _frozen(index_by_client_id(self.orders)))

    @property
    def open_orders(self) -> Mapping[str, OrderState]:
        """Open regular orders by client order id (Binance keeps those unique)."""
        return _frozen({o.client_order_id: o for o in self.orders.values() if o.is_open})

    @property
    def open_algo_orders(self) -> Mapping[str, AlgoOrderState]:
        return _frozen({k: a for k, a in self.algo_orders.items() if a.is_open})

    @property
    def positions(self) -> Mapping[str, PositionState]:
        """Non-flat positions by symbol."""
        return _frozen({s: p for s, p in self.position_records.items() if p.amount != 0})

    @property
    def usdc_wallet(self) -> Decimal | None:
        return self.balance.wallet if self.balance else None

    @property
    def sl_streak(self) -> int:
        return self.counters.sl_streak

    @property
    def last_sl_exit_at(self) -> datetime | None:
        ms = self.counters.last_sl_exit_ms
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)

    def day_pnl(self, today: date) -> Decimal:
        """Realised + commission + funding of a UTC day; negative is a loss."""
        record = self.day_pnls.get(today)
        return record.total if record else Decimal(0)

    def order(self, client_order_id: str) -> OrderState | None:
        """The newest order with this client id (a filled order's id can be reused)."""
        assert self.order_keys is not None  # set in __post_init__
        key = self.order_keys.get(client_order_id)
        return None if key is None else self.orders.get(key)


def index_by_client_id(
    orders: Mapping[tuple[str, int], OrderState],
) -> dict[str, tuple[str, int]]:
    """Client order id -> key of the newest order carrying it."""
    newest: dict[str, OrderState] = {}
    for order in orders.values():
        held = newest.get(order.client_order_id)
        if held is None or order.updated_ms >= held.updated_ms:
            newest[order.client_order_id] = order
    return {cid: (o.symbol, o.order_id) for cid, o in newest.items()}


Record = TypeVar("Record", bound="DataclassInstance")


def _plain(value: Any) -> str:
    """JSON fallback for the non-JSON field types: Decimal (exact text) and date (ISO)."""
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


# One encoder, built once: json.dumps(default=...) would build a new one per call.
_encode_json = json.JSONEncoder(default=_plain).encode


def encode(record: Any) -> str:
    """JSON text of a record; Decimals become strings so nothing is rounded.

    Records are plain (non-slotted) dataclasses, so ``vars`` holds exactly their fields.
    """
    return _encode_json(vars(record))


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    kinds = get_args(hint) or (hint,)
    if Decimal in kinds:
        return Decimal(value)
    if date in kinds:
        return date.fromisoformat(value)
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def decode(cls: type[Record], text: str) -> Record:
    """Inverse of :func:`encode`; fields the record no longer has are ignored."""
    hints = _hints(cls)
    raw = json.loads(text)
    return cls(**{k: _typed(hints[k], v) for k, v in raw.items() if k in hints})
