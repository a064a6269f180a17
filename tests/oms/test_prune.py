"""A long-running OMS forgets old terminal orders, never open ones or recent ones."""

from __future__ import annotations

from datetime import timedelta

from bot.oms.commands import Prune
from bot.oms.oms import ORDER_RETENTION, Oms
from bot.oms.store import Store
from tests.oms import payloads
from tests.oms.conftest import NOW
from tests.oms.test_oms import feed

DAY_MS = 86_400_000
T0 = 1_760_000_000_000  # orders of an old session
T1 = T0 + 3 * DAY_MS  # the current session
ENTRY = "ufb-BTCUSDC-1760259200000-E"
SL = "ufb-BTCUSDC-1760259200000-SL"


def old_and_current_orders() -> list[str]:
    return [
        payloads.order_update(E=T0, c="old-filled", i=1, t=1, n="0"),  # terminal, old
        payloads.new_order(E=T0, c="old-resting", i=2, o="LIMIT", p="50000"),  # open, old
        payloads.algo_update(E=T0, caid="old-sl", X="CANCELED"),  # terminal algo, old
        payloads.algo_update(E=T0, caid="old-open-sl", aid=9, X="NEW"),  # open algo, old
        payloads.order_update(E=T1, c=ENTRY, i=3, t=3, n="0"),  # the current entry, filled
        payloads.algo_update(E=T1 + 1, caid=SL, aid=10, X="NEW"),
    ]


def test_old_terminal_orders_are_forgotten_open_and_recent_ones_kept(oms, store):
    feed(oms, *old_and_current_orders())
    oms.apply(Prune(before_ms=T1 - ORDER_RETENTION // timedelta(milliseconds=1)))
    view = oms.snapshot()
    assert view.order("old-filled") is None
    assert "old-sl" not in view.algo_orders
    assert view.order("old-resting").is_open
    assert set(view.open_algo_orders) == {"old-open-sl", SL}
    # the duplicate-entry check still finds this candle's filled entry
    assert view.order(ENTRY).status == "FILLED"
    stored = store.load()
    assert {o.client_order_id for o in stored.orders} == {"old-resting", ENTRY}
    assert {a.client_algo_id for a in stored.algo_orders} == {"old-open-sl", SL}


def test_start_up_prunes_relative_to_the_newest_exchange_time_held(tmp_path, audit):
    """The local clock (NOW) is far from these event times, as with a simulator."""
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        feed(Oms(store, audit, clock=lambda: NOW + timedelta(days=400)), *old_and_current_orders())
    with Store.open(path) as store:
        view = Oms(store, audit, clock=lambda: NOW + timedelta(days=400)).snapshot()
    assert view.order("old-filled") is None
    assert view.order(ENTRY) is not None
    assert view.order("old-resting") is not None


def test_pruning_keeps_risk_counters_and_fill_idempotency(oms):
    feed(
        oms,
        payloads.order_update(E=T0, c="ufb-BTCUSDC-1760000000000-SL", i=5, t=5, S="SELL", rp="-3"),
        payloads.order_update(E=T1, c=ENTRY, i=6, t=6, n="0"),
    )
    before = oms.snapshot()
    assert before.sl_streak == 1
    oms.apply(Prune(before_ms=T1 - DAY_MS))
    assert oms.snapshot().order("ufb-BTCUSDC-1760000000000-SL") is None
    # the fill of the pruned order replayed: not counted twice
    feed(
        oms,
        payloads.order_update(E=T0, c="ufb-BTCUSDC-1760000000000-SL", i=5, t=5, S="SELL", rp="-3"),
    )
    after = oms.snapshot()
    assert after.sl_streak == 1
    assert after.day_pnls == before.day_pnls


def test_fill_ids_are_forgotten_after_their_retention(tmp_path, audit):
    with Store.open(tmp_path / "state.db") as store:
        now = [NOW]
        oms = Oms(store, audit, clock=lambda: now[0])
        feed(oms, payloads.order_update(rp="1", n="0"))
        now[0] = NOW + timedelta(days=8)
        assert len(store.load().processed_ids) == 1
        oms.apply(Prune())
        assert store.load().processed_ids == {}
