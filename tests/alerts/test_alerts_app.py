"""Alerts from a running App to a local webhook: the right words, no secret, never in
the way of trading."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.exchange.orders import market_order
from bot.service import _daily_roll, _guard
from tests.alerts.conftest import FAKE_API_KEY, URL_PASSWORD, alerting_app
from tests.waiting import eventually


def test_a_fill_reaches_the_receiver_with_its_price_and_no_secret(tmp_path, receiver):
    with alerting_app(tmp_path, receiver.url) as (_sim, app, _runtime):
        report = app.trading.cycle()
        signal = app.trading.forced_signal("BTCUSDC", "LONG")
        assert not isinstance(signal, str), signal
        result = app.trading.trade(signal, report)
        assert result.status == "opened"
        # an order someone else placed, whose client id holds the API key
        app.client.place_order(
            market_order("BTCUSDC", "BUY", Decimal("0.001"), f"x-{FAKE_API_KEY}")
        )
        eventually(lambda: len(receiver.titles()) >= 2, "both fills alerted")
    entry = next(t for t in receiver.titles() if "entry filled:" in t)
    assert entry.startswith("ufb: BTCUSDC entry filled: BUY ")
    price = entry.rsplit("@ ", 1)[1]
    assert Decimal(price) == result.entry_price and "E" not in price  # normalised
    foreign = next(m for m in receiver.messages if "not this bot's order" in m["title"])
    assert "***" in foreign["message"]  # the client id, redacted
    everything = "\n".join(receiver.raw)
    assert FAKE_API_KEY not in everything and URL_PASSWORD not in "".join(receiver.titles())
    log = (tmp_path / "logs" / "bot.log").read_text()
    assert FAKE_API_KEY not in log and URL_PASSWORD not in log


def test_a_stop_that_could_not_be_placed_is_alerted_as_critical(tmp_path, receiver):
    with alerting_app(tmp_path, receiver.url) as (sim, app, _runtime):
        report = app.trading.cycle()
        signal = app.trading.forced_signal("BTCUSDC", "LONG")
        assert not isinstance(signal, str), signal
        sim.inject(
            "raw",
            method="POST",
            path="/fapi/v1/algoOrder",
            status=400,
            body='{"code":-2010,"msg":"Order would be rejected"}',
            execute=False,
        )
        app.trading.trade(signal, report)
        eventually(
            lambda: any("stop could not be placed" in t for t in receiver.titles()), "the alert"
        )
    (alert,) = [m for m in receiver.messages if "stop could not be placed" in m["title"]]
    assert alert["title"] == "ufb: BTCUSDC stop could not be placed"
    assert alert["type"] == "failure"  # critical
    assert "-2010" in alert["message"]


def test_the_kill_switch_is_alerted(tmp_path, receiver):
    with alerting_app(tmp_path, receiver.url) as (_sim, app, _runtime):
        app.emergency_stop(flatten=True)
        eventually(lambda: any("kill switch ON" in t for t in receiver.titles()), "the alert")
    assert "ufb: kill switch ON: no new entries, orders cancelled and positions flattened" in (
        receiver.titles()
    )


def test_a_hanging_receiver_never_slows_the_trading_thread(tmp_path, receiver):
    receiver.mode = "hang"
    with alerting_app(tmp_path, receiver.url, queue_size=10) as (_sim, app, runtime):
        started = time.monotonic()
        for number in range(50):  # alarms: each one an alert, sent while the first hangs
            app.audit.append("alarm", {"kind": "test", "reason": f"alarm {number}"})
        assert time.monotonic() - started < 0.5
        assert runtime.alerts is not None
        eventually(lambda: runtime.alerts.stats.dropped > 0, "a full queue drops")
        closing = time.monotonic()
    assert time.monotonic() - closing < 1 + 2  # the flush deadline (1 s), and the shutdown
    assert runtime.alerts.stats.dropped >= 50 - 10 - 1


def test_a_receiver_that_is_down_is_counted_failed_and_logged(tmp_path, refused_url):
    with alerting_app(tmp_path, refused_url) as (_sim, app, runtime):
        app.emergency_stop(flatten=False)
        assert runtime.alerts is not None
        eventually(lambda: runtime.alerts.stats.failed == 1, "the failure counted")
        assert runtime.alerts.stats.sent == 0
    log = (tmp_path / "logs" / "bot.log").read_text()
    assert "alert not delivered (kill_switch)" in log
    assert URL_PASSWORD not in log


def test_the_service_jobs_alert_a_stream_down_too_long_and_the_daily_summary(tmp_path, receiver):
    with alerting_app(tmp_path, receiver.url, stream_down_after_s=0.01) as (_sim, app, _rt):
        assert app.stream is not None
        app.stream.stop()  # down, as after a failed reconnect
        _guard(app)  # the service's guard job: first sight of the outage
        time.sleep(0.02)  # past the (tiny) threshold: nothing else to wait on here
        _guard(app)
        _daily_roll(app)
        eventually(lambda: len(receiver.messages) >= 2, "both alerts")
    titles = receiver.titles()
    assert any(t.startswith("ufb: user-data stream down for") for t in titles), titles
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert (
        f"ufb: {yesterday}: PnL 0 USDC (realised 0, fees 0, funding 0), 0 orders filled" in titles
    )


def test_alerts_sent_show_in_the_metrics(tmp_path, receiver):
    from prometheus_client.parser import text_string_to_metric_families

    def sent() -> float:
        text = app.metrics.exposition().decode()
        return next(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "usdcbot_alerts_total" and sample.labels == {"outcome": "sent"}
        )

    with alerting_app(tmp_path, receiver.url) as (_sim, app, _runtime):
        before = sent()
        app.trading.cycle()
        signal = app.trading.forced_signal("BTCUSDC", "LONG")
        assert not isinstance(signal, str), signal
        app.trading.trade(signal, app.trading.cycle())
        eventually(lambda: receiver.titles(), "an alert delivered")
        eventually(lambda: sent() > before, "the metric counted it")


def test_a_service_not_running_at_midnight_sends_the_daily_summary_once_when_back(
    tmp_path, receiver
):
    from bot.oms.commands import SetMeta
    from bot.service import DAILY_ROLL_KEY

    today = datetime.now(UTC).date()
    with alerting_app(tmp_path, receiver.url) as (_sim, app, _rt):
        # the last roll was yesterday's: the service was stopped over 00:00 and restarted
        app.submit(SetMeta(DAILY_ROLL_KEY, (today - timedelta(days=1)).isoformat()))
        _guard(app)  # the service's guard job, every 30 s
        _guard(app)
        _daily_roll(app)  # a 00:00 job in the same day: rolled already
    # leaving the app flushed the alerts: the receiver has them all
    summaries = [t for t in receiver.titles() if "orders filled" in t]
    yesterday = (today - timedelta(days=1)).isoformat()
    assert summaries == [
        f"ufb: {yesterday}: PnL 0 USDC (realised 0, fees 0, funding 0), 0 orders filled"
    ]
