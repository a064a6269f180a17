"""A trading history written straight into a state store, as months of fills leave it.

Simulating a month of trading would take a month; the history bench and the crash test
on a large history need only what it leaves behind: terminal orders (one per fill, a
second apart) and processed fill ids, ending at ``end_ms``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.oms.state import OrderState
from bot.oms.store import Store

FIRST_ORDER_ID = 10_000_000  # far above any id the simulator hands out in a test
BATCH = 20_000  # rows per commit

_FILLED_EXIT = OrderState(
    symbol="BTCUSDC",
    order_id=0,
    client_order_id="",
    side="SELL",
    order_type="MARKET",
    status="FILLED",
    orig_qty=Decimal("0.010"),
    price=Decimal(0),
    avg_price=Decimal("60000.1"),
    stop_price=Decimal(0),
    filled_qty=Decimal("0.010"),
    reduce_only=True,
    close_position=False,
    updated_ms=0,
    first_fill_ms=0,
    exit_counted=True,
)


def write_history(store: Store, *, orders: int, fill_ids: int, end_ms: int) -> None:
    """``orders`` filled exits and ``fill_ids`` processed trade ids, one a second up to
    ``end_ms``, committed in batches."""
    for n in range(orders):
        at = end_ms - (orders - n) * 1000
        exit_order = replace(
            _FILLED_EXIT,
            order_id=FIRST_ORDER_ID + n,
            client_order_id=f"ufb-BTCUSDC-h{n}-TP",
            updated_ms=at,
            first_fill_ms=at,
        )
        store.put_order(exit_order)
        if n % BATCH == BATCH - 1:
            store.commit()
    for n in range(fill_ids):
        store.add_processed(f"trade:BTCUSDC:{n}", end_ms - (fill_ids - n) * 1000)
        if n % BATCH == BATCH - 1:
            store.commit()
    store.commit()
