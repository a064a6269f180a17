"""The OrderManager against the simulator through the real ExchangeClient.

The OMS learns the exchange's state from REST snapshots here (what the fallback
poller and reconciliation feed it); the websocket path is the stream's concern.
"""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.oms.events import Snapshot
from bot.sim import SIM_API_KEY, SIM_API_SECRET
from bot.strategy import Signal
from tests.execution.conftest import order_settings

OPEN_MS = 1_764_000_000_000
SL_ID = "ufbd-BTCUSDC-midc1z40CL-SL"  # the long signal of the candle at OPEN_MS


@pytest.fixture
def live(bot):
    """A trading (not read-only) client on the simulator."""
    venue = Venue(bot.sim.rest_url, bot.sim.ws_url, SIM_USER_PATH)
    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    with ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, resolve_delay_s=0) as client:
        yield client


def sync(bot, client) -> None:
    """Give the OMS the exchange's truth, as reconciliation does."""
    bot.oms.apply(
        Snapshot.from_rest(
            client.position_risk(),
            client.open_orders(),
            client.open_algo_orders(),
            client.usdc_balance(),
            bot.sim.now_ms(),
        )
    )


def open_long(bot, client, **exits):
    manager = bot.manager(client, order_settings(**exits))
    sync(bot, client)
    signal = Signal("BTCUSDC", "LONG", Decimal("300"), Decimal("600"), "test cross", OPEN_MS)
    result = manager.open_bracket(signal)
    sync(bot, client)
    return manager, result


def test_bracket_with_configured_parameters(bot, live):
    bot.sim.clear_request_log()

    _, result = open_long(bot, live, working_type="LAST_PRICE", tp_order_style="TAKE_PROFIT")

    assert result.status == "opened", result.reason
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == result.filled_qty
    algos = {a["orderType"]: a for a in bot.sim.open_algo_orders("BTCUSDC")}
    assert set(algos) == {"STOP_MARKET", "TAKE_PROFIT"}
    for algo in algos.values():
        assert algo["workingType"] == "CONTRACT_PRICE"
        assert algo["reduceOnly"] in (True, "true")
        assert Decimal(algo["quantity"]) == result.filled_qty
    assert Decimal(algos["TAKE_PROFIT"]["price"]) == result.take_profit_price
    entries = [r for r in bot.sim.request_log if r.method == "POST" and r.path == "/fapi/v1/order"]
    assert len(entries) == 1


def test_same_signal_twice_places_one_entry(bot, live):
    manager, first = open_long(bot, live)
    signal = Signal("BTCUSDC", "LONG", Decimal("300"), Decimal("600"), "again", OPEN_MS)

    bot.oms.apply(Snapshot.from_rest([], [], [], live.usdc_balance(), bot.sim.now_ms()))
    second = manager.open_bracket(signal)  # a fresh OMS: the exchange still knows the id

    assert first.status == "opened" and second.status == "duplicate"
    assert len(bot.sim.open_algo_orders("BTCUSDC")) == 2


def test_tp_fill_cancels_sl(bot, live):
    manager, result = open_long(bot, live, working_type="MARK_PRICE")

    above = result.take_profit_price + Decimal("100")
    bot.sim.set_prices("BTCUSDC", mark=above, last=above)
    sync(bot, live)
    cancelled = manager.cancel_orphans(bot.oms.snapshot())

    assert cancelled == [SL_ID]
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
    assert bot.sim.open_algo_orders() == []
    assert bot.sim.open_orders() == []


def test_position_without_sl_gets_it_replaced(bot, live):
    manager, result = open_long(bot, live)
    live.cancel_algo_order(SL_ID)
    sync(bot, live)

    actions = manager.protect_positions(bot.oms.snapshot())

    assert len(actions) == 1 and "re-placed" in actions[0]
    stops = [a for a in bot.sim.open_algo_orders("BTCUSDC") if a["orderType"] == "STOP_MARKET"]
    assert len(stops) == 1 and Decimal(stops[0]["triggerPrice"]) == result.stop_price
    (alarm,) = [r["data"] for r in bot.audit_records("alarm")]
    assert alarm["kind"] == "stop_missing" and "not covered by a stop" in alarm["reason"]
    assert alarm["symbol"] == "BTCUSDC" and alarm["client_id"].endswith("-SL")


def test_missing_sl_already_passed_closes_reduce_only(bot, live):
    manager, result = open_long(bot, live, working_type="MARK_PRICE")
    live.cancel_algo_order(SL_ID)
    below = result.stop_price - Decimal("200")
    bot.sim.set_prices("BTCUSDC", mark=below, last=below + Decimal("100"))
    sync(bot, live)

    actions = manager.protect_positions(bot.oms.snapshot())

    assert "-2021" in actions[0]
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
    closes = [
        r
        for r in bot.sim.request_log
        if r.method == "POST" and r.path == "/fapi/v1/order" and r.params.get("reduceOnly")
    ]
    assert len(closes) == 1 and closes[0].params["reduceOnly"] == "true"


def test_emergency_stop_flatten_leaves_nothing(bot, live):
    manager, _ = open_long(bot, live)

    manager.emergency_stop(["BTCUSDC", "ETHUSDC"], flatten=True)

    assert bot.sim.open_orders() == [] and bot.sim.open_algo_orders() == []
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0


TP_ID = "ufbd-BTCUSDC-midc1z40CL-TP"


def _lose_next_algo_orders(bot, count: int) -> None:
    """The next ``count`` algo-order POSTs time out unexecuted: each outcome is unknown,
    its query says absent, and after the client's three rounds it stays unknown."""
    bot.sim.inject(
        "-1007",
        method="POST",
        path="/fapi/v1/algoOrder",
        count=count,
        status=503,
        execute=False,
    )


def _stops(bot) -> list[dict]:
    return [a for a in bot.sim.open_algo_orders("BTCUSDC") if a["orderType"] == "STOP_MARKET"]


def test_unknown_stop_outcome_still_places_the_take_profit_and_repairs_at_the_planned_stop(
    bot, live
):
    _lose_next_algo_orders(bot, 3)  # the stop's three rounds; the take profit goes through

    manager, result = open_long(bot, live)

    assert result.status == "unprotected"
    assert [a["clientAlgoId"] for a in bot.sim.open_algo_orders()] == [TP_ID]
    actions = manager.protect_positions(bot.oms.snapshot())
    stops = _stops(bot)
    assert len(stops) == 1, actions
    assert Decimal(stops[0]["triggerPrice"]) == result.stop_price  # planned, not a 2 % fallback
    assert stops[0]["clientAlgoId"] == SL_ID  # the planned id: it was never placed


def test_a_new_process_repairs_both_exits_from_the_persisted_plan(bot, live, tmp_path):
    _lose_next_algo_orders(bot, 6)  # neither exit reaches the exchange
    _, result = open_long(bot, live)
    assert result.status == "unprotected" and bot.sim.open_algo_orders() == []

    # a later process: a fresh OMS that never saw an exit, the same store (plan) on disk
    from bot.oms.oms import Oms
    from bot.oms.store import Store

    store = Store.open(tmp_path / "later.db")
    try:
        fresh = Oms(store, bot.audit, tag="ufbd")
        bot.oms = fresh
        sync(bot, live)
        manager = bot.manager(live, order_settings())
        manager.protect_positions(fresh.snapshot())
    finally:
        store.close()

    algos = {a["orderType"]: a for a in bot.sim.open_algo_orders("BTCUSDC")}
    assert Decimal(algos["STOP_MARKET"]["triggerPrice"]) == result.stop_price
    assert Decimal(algos["TAKE_PROFIT_MARKET"]["triggerPrice"]) == result.take_profit_price
    assert Decimal(algos["TAKE_PROFIT_MARKET"]["quantity"]) == result.filled_qty


def test_missing_take_profit_is_replaced_but_an_operator_cancel_is_respected(bot, live):
    manager, result = open_long(bot, live)
    assert result.status == "opened"
    live.cancel_algo_order(TP_ID)  # the operator takes the target away
    sync(bot, live)

    assert manager.protect_positions(bot.oms.snapshot()) == []
    assert [a["clientAlgoId"] for a in bot.sim.open_algo_orders()] == [SL_ID]


def test_stop_stuck_in_triggering_closes_the_position_at_market(bot, live):
    from bot.stream.recovery import missed_exit_events

    manager, result = open_long(bot, live, working_type="MARK_PRICE")
    bot.sim.stall_triggers(True)
    below = result.stop_price - Decimal("50")
    bot.sim.set_prices("BTCUSDC", mark=below, last=below)
    snapshot = Snapshot.from_rest(
        live.position_risk(), live.open_orders(), live.open_algo_orders(), live.usdc_balance(), 0
    )
    for event in missed_exit_events(live, bot.oms.snapshot(), snapshot, bot.sim.now_ms()):
        bot.oms.apply(event)  # the stream said TRIGGERING, and then nothing
    assert bot.oms.snapshot().algo_orders[SL_ID].status == "TRIGGERING"
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) > 0
    manager = bot.manager(live, replace(order_settings(), stuck_trigger_s=0))

    actions = manager.protect_positions(bot.oms.snapshot())

    assert any("stuck" in line for line in actions), actions
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
    assert any(
        r["data"]["kind"] == "stuck_trigger" and "stuck" in r["data"]["reason"]
        for r in bot.audit_records("alarm")
    )


def test_a_stop_loss_filled_while_nobody_listened_is_recovered_once_with_its_loss(bot, live):
    from bot.stream.recovery import missed_exit_events

    _, result = open_long(bot, live, working_type="MARK_PRICE")
    below = result.stop_price - Decimal("50")
    bot.sim.set_prices("BTCUSDC", mark=below, last=below)  # the stop fills; no stream here
    assert Decimal(bot.sim.position("BTCUSDC")["positionAmt"]) == 0
    snapshot = Snapshot.from_rest(
        live.position_risk(), live.open_orders(), live.open_algo_orders(), live.usdc_balance(), 0
    )
    events = missed_exit_events(live, bot.oms.snapshot(), snapshot, bot.sim.now_ms())

    for event in events + events:  # a second recovery (or the stream, late) changes nothing
        bot.oms.apply(event)

    view = bot.oms.snapshot()
    assert view.sl_streak == 1
    assert view.day_pnl(datetime.fromtimestamp(bot.sim.now_ms() / 1000, UTC).date()) < 0
    assert view.algo_orders[SL_ID].actual_order_id is not None


def test_entry_is_skipped_when_the_exchange_holds_a_position_the_view_missed(bot, live):
    manager, first = open_long(bot, live)
    assert first.status == "opened"
    bot.oms.apply(Snapshot.from_rest([], [], [], live.usdc_balance(), bot.sim.now_ms()))
    later = Signal("BTCUSDC", "LONG", Decimal("300"), Decimal("600"), "next", OPEN_MS + 900_000)

    second = manager.open_bracket(later)  # a new candle's intent, a stale (flat) view

    assert second.status == "duplicate" and "position on the exchange" in second.reason
    entries = [r for r in bot.sim.request_log if r.method == "POST" and r.path == "/fapi/v1/order"]
    assert len(entries) == 1


def test_stop_outside_the_price_filter_is_a_refusal_not_a_crash(bot, live):
    manager = bot.manager(live, order_settings())
    sync(bot, live)
    far = Signal("BTCUSDC", "LONG", Decimal("59999.95"), Decimal("600"), "wide", OPEN_MS)

    result = manager.open_bracket(far)

    assert result.status == "refused" and "PRICE_FILTER" in result.reason
    assert [r for r in bot.sim.request_log if r.method == "POST"] == []
