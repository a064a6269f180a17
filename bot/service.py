"""Foreground service: APScheduler drives the strategy, keepalive, reconcile and daily roll.

The scheduler runs in the main thread (``BlockingScheduler``) with one worker
thread, so jobs never overlap each other: a slow reconcile delays the next tick
rather than racing it. SIGINT/SIGTERM (handled from before the app is built, see
``bot.stop_signals``) stop start-up or the scheduler; the caller's ``App.shutdown()``
then stops the stream (closing its listenKey), drains the OMS queue and joins every
thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import health, sd_notify
from bot.alerts.records import daily_summary
from bot.app import App
from bot.cycle import CycleReport
from bot.oms.commands import Prune, SetMeta
from bot.stop_signals import StopSignals

log = logging.getLogger(__name__)

TICK_DELAY_S = 2  # after the candle closes, so the exchange has published it
# Candle close times as cron fields (UTC); the strategy tick fires TICK_DELAY_S after each.
CANDLE_CLOSES = {
    "1m": {"minute": "*"},
    "3m": {"minute": "*/3"},
    "5m": {"minute": "*/5"},
    "15m": {"minute": "*/15"},
    "30m": {"minute": "*/30"},
    "1h": {"minute": "0"},
    "2h": {"hour": "*/2", "minute": "0"},
    "4h": {"hour": "*/4", "minute": "0"},
    "1d": {"hour": "0", "minute": "0"},
}
GUARD_INTERVAL_S = 30  # protect positions, health file
STOP_CHECK_INTERVAL_S = 1  # ends the scheduler if a signal came just before its start
STOP_REQUEST_INTERVAL_S = 1  # emergency-stop beside the service waits for this job
DAILY_ROLL_KEY = "daily_roll"  # OMS meta: the UTC day the service last rolled into


def build_scheduler(app: App) -> BlockingScheduler:
    config = app.config
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # job bookkeeping is noise
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    scheduler.add_job(
        lambda: _guarded("strategy tick", lambda: _tick(app)),
        CronTrigger(second=TICK_DELAY_S, timezone=UTC, **CANDLE_CLOSES[config.strategy.interval]),
        id="strategy-tick",
        name="strategy-tick",
    )
    scheduler.add_job(
        lambda: _guarded("position guard", lambda: _guard(app, scheduler)),
        IntervalTrigger(seconds=GUARD_INTERVAL_S, timezone=UTC),
        id="position-guard",
        name="position-guard",
    )
    if app.stream is not None:
        scheduler.add_job(
            lambda: _guarded("listenKey keepalive", app.stream.keepalive),
            IntervalTrigger(minutes=config.stream.keepalive_min, timezone=UTC),
            id="listen-key-keepalive",
            name="listen-key-keepalive",
        )
    scheduler.add_job(
        lambda: _guarded("reconcile", app.apply_snapshot),
        IntervalTrigger(minutes=config.stream.reconcile_interval_min, timezone=UTC),
        id="reconcile",
        name="reconcile",
    )
    scheduler.add_job(
        lambda: _guarded("emergency stop request", lambda: _answer_stop_request(app)),
        IntervalTrigger(seconds=STOP_REQUEST_INTERVAL_S, timezone=UTC),
        id="emergency-stop-watch",
        name="emergency-stop-watch",
    )
    scheduler.add_job(
        lambda: _guarded("daily roll", lambda: _daily_roll(app)),
        CronTrigger(hour=0, minute=0, second=5, timezone=UTC),
        id="daily-roll",
        name="daily-roll",
    )
    return scheduler


def _guarded(name: str, job: Callable[[], object]) -> None:
    """A failing job is logged and the service goes on: the next run may succeed."""
    try:
        job()
    except Exception:
        log.exception("%s failed", name)


def _guard(app: App, scheduler: BlockingScheduler | None = None) -> None:
    """A dead OMS consumer is restarted first; when it cannot be (stuck, or dying again
    and again) the service stops and ``serve`` fails: trading blind is worse."""
    if not app.keep_consumer_running():
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        return
    app.check_telegram()
    if app.oms.snapshot().meta.get(DAILY_ROLL_KEY) not in (None, str(app.clock.today())):
        _daily_roll(app)  # the service was not running at 00:00 (restarted around midnight)
    # alive: the scheduler runs its jobs and the OMS consumer runs (a venue that does not
    # answer is no reason for systemd to restart the service)
    sd_notify.notify(sd_notify.WATCHDOG)
    app.trading.look_after_positions(CycleReport())
    app.stream_watch.check(app.stream.health() if app.stream is not None else None)
    write_health(app)


def _answer_stop_request(app: App) -> None:
    """``emergency-stop`` run beside the service: only this process may send orders (it
    holds the lock), so it does the stop and acknowledges, failure included, so the
    command never waits in vain. Jobs never overlap: a bracket in progress ends first."""
    request = app.kill_switch.pending_request()
    if request is None:
        return
    log.warning("emergency stop requested by the operator (flatten=%s)", request.flatten)
    try:
        lines = app.emergency_stop(flatten=request.flatten, request=request)
    except Exception as error:
        app.kill_switch.acknowledge(request, [f"emergency stop failed: {error}"], ok=False)
        raise
    app.kill_switch.acknowledge(request, lines)


def _daily_roll(app: App) -> None:
    """New UTC day: today's PnL from the exchange, and old terminal orders out of memory;
    the record sums up the day that ended (read before the prune). Once per UTC day: the
    day rolled into is stored, so a service restarted around 00:00 neither repeats the
    roll nor misses it (the guard job rolls a day the 00:00 job did not see)."""
    today = app.clock.today()
    view = app.oms.snapshot()
    if view.meta.get(DAILY_ROLL_KEY) == str(today):
        return
    yesterday = daily_summary(view, today - timedelta(days=1))
    app.account.seed_day_pnl()
    app.submit(Prune(), SetMeta(DAILY_ROLL_KEY, str(today)))
    app.audit.append("daily_roll", {"day": today, "yesterday": yesterday})


def _tick(app: App) -> None:
    """One strategy cycle; the health file then tells ``status`` when it ran."""
    app.trading.cycle()
    write_health(app)


def write_health(app: App) -> None:
    """For ``main.py status`` (another process): stream health, OMS metrics and the last
    completed strategy cycle (as the cycle itself recorded it, for metrics too)."""
    stream = app.stream.health() if app.stream is not None else None
    trading = app.trading
    last_cycle = None
    if trading.last_cycle_at is not None and trading.last_cycle_s is not None:
        last_cycle = {
            "at": trading.last_cycle_at.isoformat(),
            "duration_s": round(trading.last_cycle_s, 3),
        }
    record = {
        "at": datetime.now(UTC).isoformat(),
        "last_cycle": last_cycle,
        "pid": os.getpid(),
        "stream": None
        if stream is None
        else {
            "state": stream.state,
            "healthy": stream.healthy,
            "last_message_age_s": stream.last_message_age_s,
            "reconnects": stream.reconnects,
            "fallback_running": stream.fallback_running,
        },
        "oms": app.worker.metrics() if app.worker is not None else None,
    }
    health.write_health(app.runtime.state_dir, record)


def serve(app: App, signals: StopSignals) -> None:
    """Run until SIGINT/SIGTERM (``signals`` is installed before the app was built).
    The caller shuts the app down afterwards.

    A signal during start-up ends it at the next step (the wait for the stream's first
    snapshot ends at once); during the first cycle or a job it lets that run finish
    (``shutdown(wait=True)``): stopping in the middle of a bracket, between the entry
    fill and its stop-loss, would leave a position unprotected until the next start.
    """
    signals.on_stop(app.stopping.set)
    try:
        if app.config.metrics.enabled:  # /healthz answers from the start (bot/metrics/health.py)
            app.serve_metrics()
        if not signals.requested:
            app.start_telegram()
            app.prepare(stream=True)
        if not signals.requested:
            _run_scheduler(app, signals)
    finally:
        sd_notify.notify(sd_notify.STOPPING)
        health.health_path(app.runtime.state_dir).unlink(missing_ok=True)
        if signals.requested:
            app.runtime.outcome = f"stopped by {signals.name}"


def _run_scheduler(app: App, signals: StopSignals) -> None:
    scheduler = build_scheduler(app)
    signals.on_stop(lambda: scheduler.shutdown(wait=True) if scheduler.running else None)
    # a signal between the check below and the scheduler's start finds it not running yet
    scheduler.add_job(
        lambda: scheduler.shutdown(wait=False) if signals.requested else None,
        IntervalTrigger(seconds=STOP_CHECK_INTERVAL_S, timezone=UTC),
        id="stop-check",
        name="stop-check",
    )
    _guarded("first cycle", app.trading.cycle)
    write_health(app)  # also when the first cycle failed
    if signals.requested:
        return
    log.info("service running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    print("service running; Ctrl-C or SIGTERM to stop", flush=True)
    sd_notify.notify(sd_notify.READY)
    sd_notify.notify(sd_notify.WATCHDOG)
    scheduler.start()
    if app.oms_failure is not None:
        raise RuntimeError(app.oms_failure)
