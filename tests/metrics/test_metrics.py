"""Prometheus metrics as an operator's scraper sees them: the App against its own
simulator in this process, ``/metrics`` and ``/healthz`` over loopback HTTP."""

from __future__ import annotations

import logging
import re
import signal
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from bot.config import ConfigError, load_config
from bot.cycle import CycleReport
from bot.exchange.client import ExchangeClient
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.metrics.registry import BotMetrics
from bot.metrics.server import MetricsServer, _QuietHandler
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.e2e.conftest import BotRunner, app_on, running_app
from tests.waiting import eventually

METRICS_ON = {"metrics": {"enabled": True, "port": 0}}  # port 0: the OS picks a free one
SERVING = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


@contextmanager
def app_with_stream_timeout(tmp_path, silence_timeout_s: float) -> Iterator[tuple[Simulator, App]]:
    """``running_app`` with metrics on and a short stream timeout."""
    stream = {"silence_timeout_s": silence_timeout_s}
    with Simulator() as sim, app_on(sim, tmp_path, stream=stream, **METRICS_ON) as (app, _):
        yield sim, app


def get(port: int, path: str) -> tuple[int, str]:
    """Status and body of ``GET path`` on the App's metrics server."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(port, "/metrics")
    assert status == 200
    return samples(body)


def test_a_filled_entry_moves_the_order_and_fill_counters_and_the_position_gauge(tmp_path):
    with running_app(tmp_path, **METRICS_ON) as (sim, app):
        port = app.serve_metrics().port
        before = scrape(port)
        assert ("usdcbot_position_amount", (("symbol", "BTCUSDC"),)) not in before
        assert before[("usdcbot_orders_total", (("leg", "ENTRY"), ("outcome", "accepted")))] == 0

        result = app.trading.trade(app.trading.forced_signal("BTCUSDC", "LONG"), CycleReport())
        assert result.status == "opened"
        fill = ("usdcbot_fills_total", (("kind", "fill"), ("symbol", "BTCUSDC")))
        btc = (("symbol", "BTCUSDC"),)
        # the stream's fill and account update reach the OMS on its own thread
        eventually(lambda: fill in scrape(port), "the fill counted")
        eventually(lambda: ("usdcbot_position_amount", btc) in scrape(port), "the position")

        after = scrape(port)
        assert after[("usdcbot_position_amount", btc)] == float(result.filled_qty)
        notional = result.filled_qty * Decimal(sim.position("BTCUSDC")["entryPrice"])
        assert after[("usdcbot_position_notional_usdc", btc)] == pytest.approx(float(notional))
        assert after[fill] >= 1
        for leg in ("ENTRY", "STOP_LOSS", "TAKE_PROFIT"):
            assert after[("usdcbot_orders_total", (("leg", leg), ("outcome", "sent")))] == 1
            assert after[("usdcbot_orders_total", (("leg", leg), ("outcome", "accepted")))] == 1
        assert after[("usdcbot_open_algo_orders", ())] == 2
        assert after[("usdcbot_oms_events_total", (("result", "applied"),))] > 0
        assert after[("usdcbot_rest_weight_used_1m", ())] > 0
        order_posts = (("endpoint", "/fapi/v1/order"), ("method", "POST"))
        assert after[("usdcbot_request_seconds_count", order_posts)] >= 1
        endpoints = {dict(labels).get("endpoint") for _name, labels in after} - {None}
        assert all("?" not in e and "symbol" not in e for e in endpoints)  # paths, no params
        exposition = get(port, "/metrics")[1]
        (listen_key,) = sim.exchange.listen_keys.active(sim.now_ms())
        assert listen_key not in exposition
        assert SIM_API_KEY not in exposition and SIM_API_SECRET not in exposition


def test_healthz_is_503_with_the_reason_when_the_oms_consumer_is_dead(tmp_path):
    with running_app(tmp_path, **METRICS_ON) as (_sim, app):
        port = app.serve_metrics().port
        assert get(port, "/healthz") == (200, "ok\n")  # waiting for the first close
        app.trading.cycle()
        assert get(port, "/healthz") == (200, "ok\n")
        assert scrape(port)[("usdcbot_healthy", ())] == 1

        assert app.worker.stop(timeout=5)  # gone, as after an unexpected BaseException
        assert get(port, "/healthz") == (503, "OMS consumer is not running\n")
        after = scrape(port)
        assert after[("usdcbot_healthy", ())] == 0
        assert after[("usdcbot_oms_consumer_up", ())] == 0


def test_the_metrics_server_is_stopped_and_its_port_freed_at_shutdown(tmp_path):
    with running_app(tmp_path, **METRICS_ON) as (_sim, app):
        server = app.serve_metrics()
        port = server.port
    assert not any(t.name == "metrics-http" for t in threading.enumerate())
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


@pytest.mark.e2e
def test_once_leaves_a_parseable_textfile_for_node_exporter(sim, tmp_path):
    bot = BotRunner(sim, tmp_path, tmp_path / "var")
    textfile = tmp_path / "textfile" / "usdc_futures_bot.prom"
    bot.configure(metrics={"textfile": str(textfile)})
    result = bot.run("--once")
    assert result.returncode == 0, result.stderr
    exported = samples(textfile.read_text())
    assert exported[("usdcbot_up", ())] == 1
    assert exported[("usdcbot_last_cycle_timestamp_seconds", ())] > 0
    assert exported[("usdcbot_oms_consumer_up", ())] == 1  # written before the teardown
    assert [p.name for p in textfile.parent.iterdir()] == [textfile.name]  # no temp file left


def test_two_bots_in_one_process_count_apart():
    first, second = BotMetrics(), BotMetrics()
    first.observe_record({"seq": 1, "kind": "order_send", "data": {"leg": "ENTRY"}})
    assert b'usdcbot_orders_total{leg="ENTRY",outcome="sent"} 1.0' in first.exposition()
    assert b'usdcbot_orders_total{leg="ENTRY",outcome="sent"} 0.0' in second.exposition()


@pytest.mark.parametrize(
    ("section", "problem"),
    [({"host": "0.0.0.0x"}, "metrics.host"), ({"textfile": "bot.txt"}, "metrics.textfile")],
)
def test_a_bad_metrics_setting_is_a_config_error(section, problem):
    with pytest.raises(ConfigError) as refused:
        load_config(None, environ={}, overrides={"metrics": section})
    assert problem in str(refused.value)


def test_metrics_listen_on_loopback_only_by_default():
    assert load_config(None, environ={}).metrics.host == "127.0.0.1"


@pytest.mark.e2e
def test_the_service_serves_healthz_on_the_port_it_logs_and_frees_it_at_sigterm(sim, tmp_path):
    bot = BotRunner(sim, tmp_path, tmp_path / "var")
    bot.configure(**METRICS_ON)
    log_file = bot.state_dir / "logs" / "bot.log"
    process = bot.start()
    try:
        eventually(lambda: log_file.exists() and SERVING.search(log_file.read_text()), "port")
        port = int(SERVING.search(log_file.read_text()).group(1))
        connected = ("usdcbot_stream_state", (("state", "connected"),))
        eventually(lambda: scrape(port).get(connected) == 1, "the user stream connected")
        assert get(port, "/healthz") == (200, "ok\n")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_healthz_is_503_once_the_user_stream_is_down_longer_than_its_timeout(tmp_path):
    with app_with_stream_timeout(tmp_path, silence_timeout_s=1) as (sim, app):
        port = app.serve_metrics().port
        app.trading.cycle()
        assert get(port, "/healthz") == (200, "ok\n")
        refuse = {"status": 500, "body": "", "execute": False}  # no new listenKey: no reconnect
        sim.inject("raw", method="POST", path="/fapi/v1/listenKey", count=1000, **refuse)
        sim.drop_streams()
        eventually(lambda: app.stream.health().state == "reconnecting", "the stream is down")
        assert get(port, "/healthz") == (200, "ok\n")  # a reconnect is not an outage yet
        eventually(lambda: get(port, "/healthz")[0] == 503, "the outage reported", timeout=15)
        assert get(port, "/healthz")[1].startswith("user stream reconnecting for ")
        assert scrape(port)[("usdcbot_stream_state", (("state", "reconnecting"),))] == 1


def test_a_metrics_port_in_use_is_refused_naming_the_address(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics = {"enabled": True, "port": port}
        refused = pytest.raises(OSError, match=f"metrics: cannot listen on 127.0.0.1:{port}: ")
        with running_app(tmp_path, stream=False, metrics=metrics) as (_sim, app), refused:
            app.serve_metrics()


def test_a_failing_metrics_hook_never_fails_a_request(sim):
    def broken(method: str, path: str, seconds: float) -> None:
        raise RuntimeError("metrics broke")

    venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
    with ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, on_request=broken) as client:
        client.sync_time()
        assert client.usdc_balance().wallet == sim.balance()


def test_healthz_is_503_when_no_cycle_completed_within_two_candle_intervals(tmp_path):
    with running_app(tmp_path, stream=False) as (_sim, app):
        assert app.health.problem() is None  # waiting for the first candle close is healthy
        app.trading.cycle()
        assert app.health.problem() is None
        assert app.health.cycle_limit_s == 2 * 15 * 60 + 60  # strategy.interval 15m
        late = timedelta(seconds=app.health.cycle_limit_s + 1)
        app.trading.last_cycle_at = app.trading.last_cycle_at - late  # the scheduler stalled
        problem = app.health.problem()
        assert problem.startswith("last trading cycle ended ") and "(limit 1860 s)" in problem


def test_a_stalled_metrics_client_prints_no_traceback_and_scrapes_go_on(monkeypatch, capfd, caplog):
    monkeypatch.setattr(_QuietHandler, "timeout", 0.2)  # REQUEST_TIMEOUT_S, shortened
    caplog.set_level(logging.INFO, logger="bot.metrics.server")
    server = MetricsServer(BotMetrics().registry, lambda: None, host="127.0.0.1", port=0)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)):
            # one request at a time: this answer comes after the stalled one timed out
            assert get(server.port, "/healthz") == (200, "ok\n")
    finally:
        assert server.stop()
    assert "Traceback" not in capfd.readouterr().err  # the service console stays quiet
    assert "metrics http: request from 127.0.0.1" in caplog.text  # the log file says why
