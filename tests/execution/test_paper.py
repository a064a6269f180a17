"""Dry-run: the paper executor behind the real OrderManager, OMS and simulator prices."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.domain.enums import OrderStatus
from bot.domain.records import Order
from bot.execution.paper import PaperExecutor
from bot.strategy import Signal
from tests.execution.conftest import order_settings


def long_signal(open_ms=1_764_000_000_000) -> Signal:
    return Signal("BTCUSDC", "LONG", Decimal("300"), Decimal("600"), "test cross", open_ms)


@pytest.fixture
def paper(bot):
    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    return PaperExecutor(
        bot.client, bot.inbound, bot.client.symbol_rules, slippage_bps=Decimal("0")
    )


def open_long(bot, paper, **exits):
    manager = bot.manager(paper, order_settings(**exits))
    result = manager.open_bracket(long_signal())
    bot.drain()
    return manager, result


def test_dry_run_bracket_sends_zero_signed_order_requests(bot, paper):
    bot.sim.clear_request_log()

    _, result = open_long(bot, paper, working_type="MARK_PRICE")

    assert result.status == "opened", result.reason
    view = bot.oms.snapshot()
    assert view.positions["BTCUSDC"].amount == result.filled_qty > 0
    assert {a.order_type for a in view.open_algo_orders.values()} == {
        "STOP_MARKET",
        "TAKE_PROFIT_MARKET",
    }
    log = bot.sim.request_log
    assert [r.path for r in log if r.signed] == []


def test_same_signal_twice_gives_one_entry(bot, paper):
    manager, first = open_long(bot, paper)

    second = manager.open_bracket(long_signal())

    assert first.status == "opened" and second.status == "duplicate"
    assert len(paper.open_algo_orders("BTCUSDC")) == 2


def test_stop_triggers_on_mark_not_last_then_leftover_tp_is_cancelled(bot, paper):
    manager, result = open_long(bot, paper, working_type="MARK_PRICE")
    below_stop = result.stop_price - Decimal("100")

    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=below_stop)
    assert paper.poll() == 0
    bot.sim.set_prices("BTCUSDC", mark=below_stop, last=below_stop)
    assert paper.poll() == 1
    bot.drain()

    view = bot.oms.snapshot()
    assert "BTCUSDC" not in view.positions
    assert view.sl_streak == 1
    cancelled = manager.cancel_orphans(view)
    bot.drain()
    assert cancelled == ["ufbd-BTCUSDC-midc1z40CL-TP"]
    assert paper.open_algo_orders() == []
    assert bot.oms.snapshot().open_algo_orders == {}


def test_triggered_stops_child_order_is_found_by_its_exchange_id(bot, paper):
    # The position guard asks for a triggered stop's child by id before it calls the
    # stop stuck and closes the position at market.
    _, result = open_long(bot, paper, working_type="MARK_PRICE")
    (stop_id,) = [
        a.client_algo_id
        for a in bot.oms.snapshot().open_algo_orders.values()
        if a.order_type == "STOP_MARKET"
    ]
    below_stop = result.stop_price - Decimal("100")
    bot.sim.set_prices("BTCUSDC", mark=below_stop, last=below_stop)
    assert paper.poll() == 1

    child_id = paper.query_algo_order(stop_id).actual_order_id
    child = paper.query_order_by_id("BTCUSDC", child_id)

    assert child is not None and child.order_id == child_id
    assert child.status == OrderStatus.FILLED and child.reduce_only
    assert paper.query_order_by_id("ETHUSDC", child_id) is None


def test_take_profit_on_last_price_then_stop_is_cancelled(bot, paper):
    manager, result = open_long(bot, paper, working_type="LAST_PRICE", tp_order_style="TAKE_PROFIT")
    above_target = result.take_profit_price + Decimal("50")

    bot.sim.set_prices("BTCUSDC", mark=above_target, last=Decimal("60000"))
    assert paper.poll() == 0
    bot.sim.set_prices("BTCUSDC", last=above_target)
    assert paper.poll() == 1
    bot.drain()
    manager.cancel_orphans(bot.oms.snapshot())
    bot.drain()

    view = bot.oms.snapshot()
    assert "BTCUSDC" not in view.positions
    assert view.open_algo_orders == {}
    assert view.day_pnl(datetime.now(UTC).date()) > 0


def test_position_without_stop_gets_it_back_with_an_alarm(bot, paper):
    manager, result = open_long(bot, paper)
    paper.cancel_algo_order("ufbd-BTCUSDC-midc1z40CL-SL")
    bot.drain()

    actions = manager.protect_positions(bot.oms.snapshot())
    bot.drain()

    assert "re-placed" in actions[0]
    stops = [a for a in paper.open_algo_orders("BTCUSDC") if a.order_type == "STOP_MARKET"]
    assert len(stops) == 1
    assert stops[0].trigger_price == result.stop_price
    alarms = bot.audit_records("alarm")
    assert any("not covered by a stop" in a["data"]["reason"] for a in alarms)


def test_stop_that_would_trigger_at_once_closes_the_position(bot, paper):
    # Mark already far below where the stop goes: -2021, so close reduce-only at market.
    bot.sim.set_prices("BTCUSDC", mark=Decimal("59000"), last=Decimal("60000"))

    _, result = open_long(bot, paper, working_type="MARK_PRICE")

    assert result.status == "closed" and "-2021" in result.reason
    assert "BTCUSDC" not in bot.oms.snapshot().positions
    assert paper.open_algo_orders() == []


def test_emergency_stop_flattens_paper_positions(bot, paper):
    manager, _ = open_long(bot, paper)

    report = manager.emergency_stop(["BTCUSDC", "ETHUSDC"], flatten=True)
    bot.drain()

    assert any("closed at market" in line for line in report)
    assert paper.open_algo_orders() == [] and paper.position_risk() == []
    assert bot.oms.snapshot().positions == {}


class HalfFillingPaper(PaperExecutor):
    """An entry that only half fills and stays PARTIALLY_FILLED until cancelled."""

    partial: Order | None = None

    def place_order(self, request):
        if request.reduce_only:
            return super().place_order(request)
        wanted = request.qty
        half = self._rules(request.symbol).round_qty(wanted / 2, market=True)
        self.partial = replace(
            super().place_order(replace(request, qty=half)),
            status=OrderStatus.PARTIALLY_FILLED,
            orig_qty=wanted,
        )
        return self.partial

    def query_order(self, symbol, client_id):
        if self.partial is None or client_id != self.partial.client_order_id:
            return None
        return self.partial

    def cancel_order(self, symbol, client_id):
        self.partial = replace(self.partial, status=OrderStatus.CANCELED)
        return self.partial


def test_partial_fill_gets_exits_for_the_filled_quantity(bot):
    bot.sim.set_prices("BTCUSDC", mark=Decimal("60000"), last=Decimal("60000"))
    paper = HalfFillingPaper(bot.client, bot.inbound, bot.client.symbol_rules)

    _, result = open_long(bot, paper)

    assert result.status == "opened", result.reason
    quantities = {a.qty for a in paper.open_algo_orders("BTCUSDC")}
    assert quantities == {result.filled_qty}
    assert result.filled_qty == bot.oms.snapshot().positions["BTCUSDC"].amount
    cancels = [r for r in bot.audit_records("decision") if "remainder" in r["data"]["action"]]
    assert len(cancels) == 1
