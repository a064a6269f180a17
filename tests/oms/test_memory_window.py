"""A month of history costs what an hour costs: terminal orders, algo orders and fill
ids leave memory after a window (they stay in the store, read when needed), and a
start loads only open state and that window."""

from __future__ import annotations

from datetime import timedelta

from bot.oms.oms import Oms
from bot.oms.store import Store
from tests.oms import payloads
from tests.oms.conftest import NOW
from tests.oms.test_oms import feed

HOUR_MS = 3_600_000
T0 = 1_760_000_000_000
WINDOW = timedelta(hours=1)
SL = "ufb-BTCUSDC-1760000000000-SL"


def history(hours: int) -> list[str]:
    """One filled order and one finished algo order per 10 minutes, an open order and
    an open stop from the start."""
    events = [
        payloads.new_order(E=T0, c="resting", i=1, o="LIMIT", p="50000"),
        payloads.algo_update(E=T0, caid="standing-sl", aid=1, X="NEW"),
    ]
    for n in range(hours * 6):
        at = T0 + n * HOUR_MS // 6
        events.append(payloads.order_update(E=at, c=f"filled-{n}", i=100 + n, t=100 + n))
        events.append(payloads.algo_update(E=at, caid=f"algo-{n}", aid=100 + n, X="CANCELED"))
    return events


def test_terminal_orders_leave_memory_after_the_window_but_stay_in_the_store(oms, store):
    oms = Oms(store, oms._audit, clock=lambda: NOW, window=WINDOW)
    feed(oms, *history(hours=10))
    view = oms.snapshot()
    assert view.order("resting").is_open
    assert "standing-sl" in view.open_algo_orders
    assert view.order("filled-59") is not None  # the last hour is at hand
    assert view.order("filled-0") is None
    assert "algo-0" not in view.algo_orders
    assert len(view.orders) <= 2 + 6 * 2  # open + about two windows, not 60
    assert len(view.algo_orders) <= 2 + 6 * 2
    assert len(store.load().orders) == 61  # the history is still stored


def test_a_restart_loads_open_state_and_the_window_only(tmp_path, audit):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        feed(Oms(store, audit, clock=lambda: NOW, window=WINDOW), *history(hours=10))
    with Store.open(path) as store:
        view = Oms(store, audit, clock=lambda: NOW, window=WINDOW).snapshot()
    assert view.order("resting").is_open
    assert "standing-sl" in view.algo_orders
    assert view.order("filled-59") is not None
    assert view.order("filled-0") is None
    assert len(view.orders) == 2 + 6  # open + the last hour (inclusive)


def test_a_stale_event_of_an_order_out_of_memory_does_not_rewind_its_stored_state(oms, store):
    oms = Oms(store, oms._audit, clock=lambda: NOW, window=WINDOW)
    feed(oms, *history(hours=3))
    assert oms.snapshot().order("filled-0") is None  # out of memory
    feed(oms, payloads.new_order(E=T0 - 5, c="filled-0", i=100))  # a late, older event
    assert oms.snapshot().order("filled-0") is None
    stored = {o.client_order_id: o for o in store.load().orders}
    assert stored["filled-0"].status == "FILLED"


def test_a_replayed_fill_of_an_order_out_of_memory_is_not_counted_twice(store, audit):
    now = [NOW]
    oms = Oms(store, audit, clock=lambda: now[0], window=WINDOW)
    stop_fill = payloads.order_update(E=T0, c=SL, i=5, t=5, S="SELL", rp="-3")
    feed(oms, stop_fill)
    before = oms.snapshot()
    assert before.sl_streak == 1
    now[0] = NOW + timedelta(hours=3)
    feed(oms, *history(hours=3)[2:])  # time passes: the stop's order and fill id leave memory
    assert oms.snapshot().order(SL) is None
    feed(oms, stop_fill)  # replayed
    after = oms.snapshot()
    assert after.sl_streak == 1
    assert (
        after.day_pnls[min(after.day_pnls)].realised
        == before.day_pnls[min(before.day_pnls)].realised
    )
