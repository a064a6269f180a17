"""The App owns its threads: after shutdown() none of them is left."""

from __future__ import annotations

import threading

from bot.sim import Simulator
from tests.e2e.conftest import app_on, running_app


def test_shutdown_joins_every_thread_it_started(tmp_path):
    with Simulator() as sim:
        before = set(threading.enumerate())
        with app_on(sim, tmp_path) as (app, _):
            assert app.stream.health().healthy
            app.trading.cycle()
            app.finish()
        # the simulator's own per-connection threads end with it, not with the App
        new = set(threading.enumerate()) - before
        left = [t.name for t in new if t.is_alive() and not t.name.startswith("sim-")]
        assert left == []
        assert sim.stream_connections() == 0


def test_daily_roll_reads_todays_income_and_is_audited(tmp_path):
    from decimal import Decimal

    from bot.audit import journal_files
    from bot.service import _daily_roll

    with running_app(tmp_path, stream=False) as (sim, app):
        sim.add_income("BTCUSDC", "FUNDING_FEE", Decimal("-7"))
        _daily_roll(app)
        assert app.oms.snapshot().day_pnl(app.clock.today()) == Decimal("-7")
    text = journal_files(tmp_path / "audit")[0].read_text()
    assert '"kind":"daily_roll"' in text
