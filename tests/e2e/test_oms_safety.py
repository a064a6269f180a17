"""The OMS under hostile input and failure, with the App against the simulator in-process:
a frame that breaks parsing, a consumer that is gone, a liquidation."""

from __future__ import annotations

from decimal import Decimal

from bot.cli import EXIT_ERROR, _report
from bot.exchange.orders import market_order
from bot.service import _guard
from bot.sim import Simulator
from tests.audit_reader import audit_records
from tests.e2e.conftest import running_app
from tests.waiting import eventually


def push_frame(sim: Simulator, text: str) -> None:
    """A raw text frame on the user stream, in order with the engine's own events."""
    sim.push_raw_frame(text)


def alarms(tmp_path) -> list[dict]:
    return [r["data"] for r in audit_records(tmp_path / "audit", "alarm")]


def entries_sent(sim: Simulator) -> list:
    return [r for r in sim.request_log if r.method == "POST" and r.path == "/fapi/v1/order"]


ALWAYS_LONG = {"strategy": {"name": "tests.e2e.strategies:AlwaysLong", "interval": "15m"}}


def test_hostile_frames_on_the_user_stream_do_not_stop_later_fills_being_applied(tmp_path):
    with running_app(tmp_path) as (sim, app):
        push_frame(sim, "[" * 100_000 + "]" * 100_000)  # json.loads: RecursionError
        push_frame(sim, '{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"i":' + str(2**63) + "}}")
        app.client.place_order(
            market_order("BTCUSDC", "BUY", Decimal("0.002"), "manual-after-hostile-frames")
        )
        eventually(lambda: "BTCUSDC" in app.oms.snapshot().positions, "the fill after them applied")
        assert app.oms.snapshot().positions["BTCUSDC"].amount == Decimal("0.002")
        assert app.worker.alive and app.worker.health().healthy
        assert app.worker.malformed == 2
        assert app.drifts() == []


def test_a_dead_consumer_blocks_entries_alarms_and_the_service_restarts_it(tmp_path):
    with running_app(tmp_path, **ALWAYS_LONG) as (sim, app):
        assert app.worker.stop(timeout=5)  # gone, as after an unexpected BaseException
        sim.clear_request_log()
        report = app.trading.cycle()
        assert entries_sent(sim) == []
        assert "OMS consumer is not running" in "\n".join(report.lines)
        assert _report(app, report) == EXIT_ERROR  # --once exits non-zero
        assert [a["kind"] for a in alarms(tmp_path)] == ["oms_unhealthy"]

        _guard(app)  # the service's position-guard job
        assert app.worker.alive and app.worker.health().healthy
        assert [a["kind"] for a in alarms(tmp_path)] == ["oms_unhealthy", "oms_restart"]
        assert all(a["reason"] for a in alarms(tmp_path))  # one shape: kind and reason
        report = app.trading.cycle()
        assert report.oms_problem is None
        assert len(entries_sent(sim)) == 1
        app.client.place_order(
            market_order("BTCUSDC", "BUY", Decimal("0.001"), "manual-after-restart")
        )
        eventually(lambda: app.drifts() == [], "the new consumer applies the stream's events")


def test_a_liquidation_is_alarmed_counted_today_and_its_leftover_exits_cancelled(tmp_path):
    with running_app(tmp_path) as (sim, app):
        report = app.trading.cycle()  # no signal from the default strategy: start flat
        result = app.trading.trade(app.trading.forced_signal("BTCUSDC", "LONG"), report)
        assert result.status == "opened"
        assert len(sim.open_algo_orders("BTCUSDC")) == 2
        # The exchange's liquidation engine closes the position with its own client id.
        app.client.place_order(
            market_order(
                "BTCUSDC", "SELL", result.filled_qty, "autoclose-1760000000123", reduce_only=True
            )
        )
        eventually(lambda: "BTCUSDC" not in app.oms.snapshot().positions, "position flat")
        # the fill (ORDER_TRADE_UPDATE) may arrive after the position's ACCOUNT_UPDATE
        eventually(lambda: any(a["kind"] == "forced_close" for a in alarms(tmp_path)), "the alarm")
        app.worker.wait_idle(5)
        (alarm,) = [a for a in alarms(tmp_path) if a["kind"] == "forced_close"]
        assert alarm["close_reason"] == "LIQUIDATION" and alarm["symbol"] == "BTCUSDC"
        sim_income = sum(
            Decimal(i["income"]) for i in sim.exchange.income_history({}) if i["symbol"]
        )
        assert app.oms.snapshot().day_pnl(app.clock.today()) == sim_income
        app.trading.look_after_positions(report)  # the position guard: no exit may outlive it
        assert sim.open_algo_orders("BTCUSDC") == []
