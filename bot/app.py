"""Composition root: builds the bot's object graph from the config, runs its modes.

Nothing else wires components together, and nothing here decides anything about
trading: the strategy proposes, the OrderManager (with RiskGuard) disposes, the
OMS thread is the only writer of state. ``App`` owns every thread it starts
(simulator, OMS consumer, user stream) and :meth:`App.shutdown` stops and joins
them all, in reverse order of start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.account_sync import AccountSync, position_amounts
from bot.alarms import raise_alarm
from bot.alerts.records import StreamWatch
from bot.clock import ExchangeClock
from bot.cycle import TradingCycle
from bot.exchange.errors import ExchangeError
from bot.exchange.user_data import parse_user_data
from bot.exchange.venues import SIM_USER_PATH, Venue
from bot.execution.orders import OrderManager
from bot.execution.plans import PlanBook
from bot.killswitch import KillSwitch, StopRequest
from bot.metrics.health import ServiceHealth
from bot.metrics.registry import BotMetrics
from bot.metrics.server import MetricsServer
from bot.metrics.state import StateCollector
from bot.oms.commands import Command, OmsUnavailable
from bot.oms.events import Event, OwnChanges, Snapshot
from bot.oms.oms import Oms, memory_window
from bot.oms.reconcile import Drift, diff
from bot.oms.store import Store
from bot.oms.worker import OmsWorker
from bot.risk.guard import RiskGuard
from bot.runtime import Runtime
from bot.strategy.loader import load_strategy
from bot.stream.recovery import missed_exit_events
from bot.stream.user_stream import UserStream, take_snapshot
from bot.telegram.control import TelegramControl
from bot.wiring import (
    CredentialsMissing,
    connect_venue,
    credentials,
    exchange_client,
    order_settings,
    risk_limits,
)

if TYPE_CHECKING:
    from pathlib import Path

    from requests.adapters import BaseAdapter

    from bot.sim import Simulator

log = logging.getLogger(__name__)

STREAM_READY_TIMEOUT_S = 15.0
OMS_COMMAND_TIMEOUT_S = 10.0  # a command (plan, seed, marker) is stored within this
OMS_IDLE_TIMEOUT_S = 5.0  # an entry waits this long for the OMS to apply what is queued
MAX_CONSUMER_RESTARTS = 3  # per process: a consumer that keeps dying stops the service


class App:
    """The bot for one process: built whole by its constructor (what it opened is
    closed again if any step fails), always ended with :meth:`shutdown`."""

    def __init__(
        self, runtime: Runtime, *, read_only: bool = False, engine: Simulator | None = None
    ) -> None:
        """``read_only`` makes the client refuse anything but reads. In dry-run the venue is
        the exchange engine in this process (``connect_venue``), trading a paper account;
        ``engine`` (the backtest's) is the venue instead, owned and stopped by the App."""
        self.runtime = runtime
        self.read_only = read_only
        self.config = runtime.config
        self.dry_run = runtime.dry_run
        self._engine = engine
        self.audit = runtime.audit
        self.kill_switch = KillSwitch(runtime.state_dir)
        self.stream: UserStream | None = None  # started by the modes that listen
        self.telegram: TelegramControl | None = None  # the service's, when configured
        self.stopping = threading.Event()  # set on a stop request: start-up waits end early
        self.oms_failure: str | None = None  # set when the service must stop (see serve)
        self._writes_at_start = 0
        self._oms_alarmed: str | None = None
        self._consumer_restarts = 0
        self.metrics = BotMetrics()  # this App's own registry (see bot.metrics)
        self.metrics_server: MetricsServer | None = None  # the service's, when enabled
        self._metrics_textfile: Path | None = None  # --once: written first at shutdown
        self._closers: list[tuple[str, Callable[[], object]]] = []  # undone in reverse
        try:
            self._build()
        except BaseException:
            self.shutdown()
            raise

    def _opened(self, name: str, close: Callable[[], object]) -> None:
        self._closers.append((name, close))

    # --- construction -----------------------------------------------------------------

    def _build(self) -> None:
        """Connect to the venue and build every component (no thread but the sim's yet)."""
        config, state_dir = self.config, self.runtime.state_dir
        exchange = config.exchange
        self.audit.observe(self.metrics.observe_record)
        # the embedded simulator or dry-run's engine, or None
        if self._engine is None:
            venue, self.sim = connect_venue(config, state_dir, dry_run=self.dry_run)
        else:
            self.sim = self._engine
            venue = Venue(self.sim.rest_url, self.sim.ws_url, SIM_USER_PATH)
        if self.sim is not None:
            self._opened("simulator", self.sim.stop)
        api_key, api_secret = credentials(
            self.runtime.secrets, "sim" if self.dry_run else exchange.venue
        )
        self.runtime.redactor.add(api_key)
        self.runtime.redactor.add(api_secret)
        self.client = exchange_client(
            self.config,
            venue,
            api_key,
            api_secret,
            state_dir / "cache",
            read_only=self.read_only,
            on_alarm=self._alarm,
            on_secret=self.runtime.redactor.add,  # listenKeys, as the client learns them
            adapter=self._engine_adapter(),
            on_request=self.metrics.observe_request,
            wall_s=self._local_clock(),
        )
        self._opened("exchange client", self.client.close)
        client = self.client
        self.clock = ExchangeClock(lambda: client.offset_ms, self._local_clock())
        self.inbound: queue.Queue[object] = queue.Queue()
        self.store = Store.open(state_dir / "state.db")
        self._opened("store", self.store.close)
        settings = order_settings(config, dry_run=self.dry_run)
        self.oms = Oms(
            self.store, self.audit, tag=settings.tag, window=memory_window(config.strategy.interval)
        )
        self.plans = PlanBook(self.oms.snapshot, self.submit)
        self.worker = OmsWorker(self.oms, self.inbound, decode=parse_user_data)
        self.guard = RiskGuard(risk_limits(config))
        self.orders = OrderManager(
            self.client,
            self.guard,
            self.audit,
            self.oms.snapshot,
            self.client.symbol_rules,
            settings,
            self.plans,
            kill_switch=lambda: self.kill_switch.engaged,
            clock=self.clock.now,
        )
        self.strategy = load_strategy(config.strategy.name, config.strategy.params)
        self.trading = TradingCycle(
            config,
            market=self.client,
            strategy=self.strategy,
            orders=self.orders,
            guard=self.guard,
            plans=self.plans,
            view=self.oms.snapshot,
            clock=self.clock,
            kill_switch=lambda: self.kill_switch.engaged,
            oms_problem=self.oms_problem,
            wait_applied=lambda: self.worker.wait_idle(timeout=10),
            reconcile=self.apply_snapshot,
            rules=self.client.symbol_rules,
        )
        self.account = AccountSync(config, self.client, self.oms.snapshot, self.submit, self.clock)
        self.health = ServiceHealth(self)
        self.metrics.watch(StateCollector(self, self.health.problem))
        self.stream_watch = StreamWatch(self.audit, config.alerts.stream_down_after_s)

    def _engine_adapter(self) -> BaseAdapter | None:
        """The engine in this process answers REST without a socket (``sim.transport``)."""
        if self.sim is None or self.config.sim.transport != "in_process":
            return None
        return self.sim.adapter()

    def _local_clock(self) -> Callable[[], float]:
        """This process's clock (epoch s): the wall clock, or the backtest engine's, the
        only clock of a replay, so the bot's time moves with the candles it is given."""
        engine = self._engine
        if engine is None:
            return time.time
        return lambda: engine.now_ms() / 1000

    def _alarm(self, kind: str, data: dict[str, Any]) -> None:
        """See :func:`bot.alarms.raise_alarm` (``data`` holds the ``reason``)."""
        details = dict(data)
        raise_alarm(self.audit, kind, str(details.pop("reason", kind)), **details)

    # --- clock and state --------------------------------------------------------------

    def sync_time(self) -> None:
        self.client.sync_time()

    def start_consumer(self) -> None:
        self.worker.start()
        self._opened("OMS consumer", lambda: self.worker.stop(timeout=5))

    def submit(self, *commands: Command) -> None:
        """Have the OMS thread apply and commit ``commands``; returns once they are
        stored and visible. Raises :class:`OmsUnavailable` when the consumer does not
        get there in time: nothing that depends on them may go on."""
        for command in commands:
            self.inbound.put(command)
        if not self.worker.wait_idle(timeout=OMS_COMMAND_TIMEOUT_S):
            raise OmsUnavailable(
                f"the OMS consumer did not apply {', '.join(type(c).__name__ for c in commands)}"
                f" within {OMS_COMMAND_TIMEOUT_S:g} s"
            )

    def oms_problem(self) -> str | None:
        """Why no entry may be decided on the OMS view now (consumer dead, stalled or
        behind), or None. Exits and stop repairs do not ask. Alarms once per problem."""
        if self.worker.alive:
            self.worker.wait_idle(timeout=OMS_IDLE_TIMEOUT_S)
        health = self.worker.health()
        problem = health.problem
        if problem is not None and problem != self._oms_alarmed:
            self._alarm("oms_unhealthy", {"reason": problem, **self.worker.metrics()})
        self._oms_alarmed = problem
        return problem

    def keep_consumer_running(self) -> bool:
        """Service: replace a dead consumer with a fresh thread over the same queue and
        OMS, then repair state from a REST snapshot. False (and ``oms_failure`` set)
        when that cannot help: a live consumer stuck past its bound (a second one would
        be a second writer), or one that died MAX_CONSUMER_RESTARTS times."""
        health = self.worker.health()
        if health.alive and health.lag_s <= health.stall_limit_s:
            return True
        if health.alive or self._consumer_restarts >= MAX_CONSUMER_RESTARTS:
            reason = health.problem if health.alive else "OMS consumer keeps dying"
            self.oms_failure = f"{reason}; stopping the service"
            self._alarm("oms_failure", {"reason": self.oms_failure, **self.worker.metrics()})
            return False
        self._consumer_restarts += 1
        self._alarm(
            "oms_restart",
            {
                "reason": f"OMS consumer died; restart {self._consumer_restarts}",
                "restart": self._consumer_restarts,
                **self.worker.metrics(),
            },
        )
        self.worker = OmsWorker(self.oms, self.inbound, decode=parse_user_data)
        self.worker.start()
        self.apply_snapshot()
        self._oms_alarmed = None
        return self.worker.health().healthy

    def rest_snapshot(self) -> Snapshot:
        """The configured symbols' state from REST (the engine's paper account in dry-run)."""
        return take_snapshot(self.client, frozenset(self.config.symbols), self.clock.now_s)

    def apply_snapshot(self, own_changes: OwnChanges | None = None) -> None:
        """Put a REST snapshot on the queue, preceded by any exits it hid, and wait
        until applied; ``own_changes``: what this process just changed on the exchange."""
        snapshot = self.rest_snapshot()
        if own_changes is not None:
            snapshot = replace(snapshot, own_changes=own_changes)
        for event in self._recover_missed_exits(snapshot):
            self.inbound.put(event)
        self.inbound.put(snapshot)
        self.worker.wait_idle(timeout=30)

    def _recover_missed_exits(self, snapshot: Snapshot) -> list[Event]:
        return missed_exit_events(self.client, self.oms.snapshot(), snapshot, self.clock.now_ms())

    def start_stream(self) -> None:
        """Live venues only: the user-data stream, whose first snapshot reconciles state."""
        stream_config = self.config.stream
        self.stream = UserStream(
            self.client,
            self.inbound,
            silence_timeout_s=stream_config.silence_timeout_s,
            fallback_interval_s=stream_config.fallback_interval_s,
            symbols=self.config.symbols,
            clock=self.clock.now_s,
            recover=self._recover_missed_exits,
        )
        self.stream.start()
        self._opened("user stream", lambda: self.stream.stop(timeout=5) if self.stream else None)
        deadline = time.monotonic() + STREAM_READY_TIMEOUT_S
        while self.stream.health().snapshots == 0 and time.monotonic() < deadline:
            if self.stopping.wait(0.005):
                return
        if self.stream.health().snapshots == 0:
            log.warning("user stream not ready; reconciling from REST instead")
            self.apply_snapshot()
        self.worker.wait_idle(timeout=30)

    def prepare(self, *, stream: bool) -> None:
        """Everything a trading mode does before its first decision."""
        self.sync_time()
        for symbol in self.config.symbols:  # a symbol the venue cannot trade is a config error
            self.client.symbol_rules(symbol)
        self._writes_at_start = self.client.writes_sent
        positions_before = position_amounts(self.oms.snapshot())
        self.start_consumer()
        self.account.setup_account()
        if stream:
            self.start_stream()
        else:
            self.apply_snapshot()
        if self.account.income_is_due(positions_before=positions_before):
            self.account.seed_day_pnl()

    def finish(self) -> None:
        """Leave state true before exit: everything applied and stored.

        A final REST snapshot (weight ~12) is taken when this run changed anything on
        the exchange or the stream was not healthy throughout; otherwise the stream's
        events already are the exchange's truth."""
        changed = self.client.writes_sent > self._writes_at_start
        stream_ok = self.stream is not None and self.stream.health().reconnects == 0
        if self.stream is not None:
            self.worker.wait_idle(timeout=10)
        if changed or not stream_ok:
            self.apply_snapshot()

    def start_telegram(self) -> None:
        """Service mode only (never ``--once``): Telegram control, when configured."""
        settings = self.config.telegram
        if not settings.enabled:
            return
        token = self.runtime.secrets.telegram_token
        if token is None:
            raise CredentialsMissing(
                "telegram.enabled needs BOT_TELEGRAM_TOKEN in .env or the environment"
            )
        from bot.telegram.actions import AppOperator
        from bot.telegram.api import TelegramApi

        self.telegram = TelegramControl(
            TelegramApi(settings.api_base, token.get_secret_value()),
            AppOperator(self),
            self.audit,
            chat_ids=settings.chat_ids,
            poll_timeout_s=settings.poll_timeout_s,
            confirm_window_s=settings.confirm_window_s,
        )
        self.telegram.start()
        self._opened("telegram control", self.telegram.stop)

    def check_telegram(self) -> None:
        """Service guard: a control thread that died is alarmed once; trading goes on."""
        if self.telegram is not None and not self.telegram.alive:
            self.telegram = None
            self._alarm("telegram_down", {"reason": "the telegram control thread died"})

    # --- operator commands ------------------------------------------------------------

    def drifts(self) -> list[Drift]:
        """Read-only reconciliation: the exchange's truth against local state, nothing applied."""
        return diff(self.rest_snapshot(), self.oms.snapshot())

    def emergency_stop(self, *, flatten: bool, request: StopRequest | None = None) -> list[str]:
        """Kill switch on, every order cancelled, with ``flatten`` every position closed.
        ``request``: an operator's ``emergency-stop`` for this running service (the
        command has engaged the switch already)."""
        if request is None:
            self.kill_switch.engage("emergency-stop" + (" --flatten" if flatten else ""))
        record: dict[str, object] = {"engaged": True, "flatten": flatten}
        if request is not None:
            record["request"] = request.id
        self.audit.append("kill_switch", record, sync=True)
        lines = self.orders.emergency_stop(self.config.symbols, flatten)
        symbols = frozenset(self.config.symbols)  # its own cancels and closes are not drift
        try:
            self.apply_snapshot(
                OwnChanges(cancelled=symbols, closed=symbols if flatten else frozenset())
            )
        except ExchangeError as error:  # what was done is done; the next reconcile repairs
            log.warning("snapshot after the emergency stop failed: %s", error)
        return lines

    # --- metrics ----------------------------------------------------------------------

    def serve_metrics(self) -> MetricsServer:
        """The service's ``/metrics`` and ``/healthz`` (config ``metrics``), until shutdown."""
        settings = self.config.metrics
        server = MetricsServer(
            self.metrics.registry, self.health.problem, host=settings.host, port=settings.port
        )
        server.start()
        self._opened("metrics server", server.stop)
        self.metrics_server = server
        return server

    def export_metrics_at_exit(self, path: Path) -> None:
        """``--once``: write the textfile at shutdown, however the run ends, before
        anything is stopped (so it shows the run's last state, not the teardown)."""
        self._metrics_textfile = path

    # --- shutdown ---------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop intake, drain and apply the queue, persist, join every thread (bounded):
        everything opened or started, in reverse order. Safe to call twice."""
        closers, self._closers = self._closers, []
        textfile, self._metrics_textfile = self._metrics_textfile, None
        if textfile is not None:
            closers.append(("metrics textfile", lambda: self.metrics.write_textfile(textfile)))
        for name, close in reversed(closers):
            try:
                close()
            except Exception:
                log.exception("shutting down the %s failed", name)
