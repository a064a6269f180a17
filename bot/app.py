"""Composition root: builds the bot's object graph from the config, runs its modes.

Nothing else wires components together, and nothing here decides anything about
trading: the strategy proposes, the OrderManager (with RiskGuard) disposes, the
OMS thread is the only writer of state. ``App`` owns every thread it starts
(simulator, OMS consumer, user stream) and :meth:`App.shutdown` stops and joins
them all, in reverse order of start.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bot.client_ids import Intent, Source, parse_client_id
from bot.domain.enums import BracketOutcome, IncomeType
from bot.exchange.client import ExchangeClient
from bot.exchange.errors import ExchangeError
from bot.exchange.user_data import parse_user_data
from bot.execution.orders import BracketResult, OrderManager
from bot.execution.plans import PlanBook
from bot.files import write_atomic
from bot.killswitch import KillSwitch, StopRequest
from bot.oms.commands import Command, OmsUnavailable, SeedDayPnl, SetMeta
from bot.oms.events import OwnChanges, Snapshot, income_key
from bot.oms.oms import Oms
from bot.oms.reconcile import Drift, diff
from bot.oms.store import Store
from bot.oms.worker import OmsWorker
from bot.risk.guard import RiskGuard
from bot.runtime import Runtime
from bot.strategy.base import Signal, parse_klines
from bot.strategy.indicators import atr
from bot.strategy.loader import load_strategy
from bot.stream.recovery import missed_exit_events
from bot.stream.user_stream import UserStream, take_snapshot
from bot.wiring import connect_venue, credentials, order_settings, risk_limits

if TYPE_CHECKING:
    from bot.execution.paper import PaperExecutor

log = logging.getLogger(__name__)

ACCOUNT_SETUP_KEY = "account_setup"  # store meta: settings applied today
INCOME_SYNCED_KEY = "income_synced_ms"  # store meta: last read of the income history
INCOME_RESYNC_S = 3600
PAPER_STATE_FILE = "paper-account.json"  # dry-run only, beside the dry-run state.db
STREAM_READY_TIMEOUT_S = 15.0
# bracket outcomes that may leave a naked position
REPAIR_NOW = frozenset({BracketOutcome.UNPROTECTED, BracketOutcome.ERROR})
# the operator should look
NEEDS_ATTENTION = frozenset(
    {BracketOutcome.UNPROTECTED, BracketOutcome.ERROR, BracketOutcome.CLOSED}
)
# force-entry exits 3 on these
NO_OP = frozenset({BracketOutcome.REFUSED, BracketOutcome.DUPLICATE, BracketOutcome.NOT_FILLED})
INCOME_TYPES = {
    IncomeType.REALIZED_PNL: "realised",
    IncomeType.COMMISSION: "commission",
    IncomeType.FUNDING_FEE: "funding",
}
OMS_COMMAND_TIMEOUT_S = 10.0  # a command (plan, seed, marker) is stored within this
OMS_IDLE_TIMEOUT_S = 5.0  # an entry waits this long for the OMS to apply what is queued
MAX_CONSUMER_RESTARTS = 3  # per process: a consumer that keeps dying stops the service


@dataclass
class CycleReport:
    """What one strategy cycle did, for the operator's console."""

    lines: list[str] = field(default_factory=list)
    refused: bool = False  # refused by risk, a duplicate, or nothing to do
    attention: bool = False  # something needed a repair, or an outcome stays unresolved
    oms_problem: str | None = None  # entries refused: the OMS view may be stale (exit 1)

    def add(self, line: str) -> None:
        log.info(line)
        self.lines.append(line)


def _amounts(view) -> dict[str, Decimal]:
    return {symbol: position.amount for symbol, position in view.positions.items()}


class App:
    """The bot for one process. Build with :meth:`open`, always end with :meth:`shutdown`."""

    def __init__(self, runtime: Runtime, *, read_only: bool = False) -> None:
        """``read_only`` (always on in dry-run) makes the client refuse anything but reads."""
        self.runtime = runtime
        self.read_only = read_only or runtime.dry_run
        self.config = runtime.config
        self.dry_run = runtime.dry_run
        self.audit = runtime.audit
        self.kill_switch = KillSwitch(runtime.state_dir)
        self.sim = None
        self.paper: PaperExecutor | None = None  # the dry-run executor
        self._writes_at_start = 0
        self.stream: UserStream | None = None
        self.store: Store | None = None
        self.worker: OmsWorker | None = None
        self.client: ExchangeClient | None = None
        self.stopping = threading.Event()  # set on a stop request: start-up waits end early
        self._oms_alarmed: str | None = None
        self._consumer_restarts = 0
        self.oms_failure: str | None = None  # set when the service must stop (see serve)

    # --- construction -----------------------------------------------------------------

    def open(self) -> App:
        """Connect to the venue and build every component (no thread but the sim's yet)."""
        try:
            self._build()
        except BaseException:
            self.shutdown()
            raise
        return self

    def _build(self) -> None:
        config, state_dir = self.config, self.runtime.state_dir
        exchange = config.exchange
        venue, self.sim = connect_venue(config, state_dir)
        api_key, api_secret = credentials(self.runtime.secrets, exchange.venue)
        self.runtime.redactor.add(api_key)
        self.runtime.redactor.add(api_secret)
        self.client = ExchangeClient(
            venue,
            api_key,
            api_secret,
            timeout_s=exchange.timeout_s,
            recv_window_ms=exchange.recv_window_ms,
            weight_budget_share=exchange.weight_budget_share,
            cache_dir=state_dir / "cache",
            exchange_info_ttl_s=exchange.exchange_info_ttl_s,
            read_only=self.read_only,
            on_alarm=self._alarm,
            on_secret=self.runtime.redactor.add,  # listenKeys, as the client learns them
        )
        self.inbound: queue.Queue = queue.Queue()
        self.store = Store.open(state_dir / "state.db")
        settings = order_settings(config, dry_run=self.dry_run)
        self.oms = Oms(self.store, self.audit, tag=settings.tag)
        self.plans = PlanBook(self.oms.snapshot, self.submit)
        self.worker = OmsWorker(self.oms, self.inbound, decode=parse_user_data)
        if self.dry_run:
            from bot.execution.paper import PaperExecutor  # dry-run only: not on the cron path

            self.paper = PaperExecutor(
                self.client,
                self.inbound,
                self.client.symbol_rules,
                slippage_bps=config.dry_run.slippage_bps,
                taker_fee=config.dry_run.taker_fee_rate,
                starting_balance=config.sim.starting_balance,
                leverage=config.execution.leverage,
                clock_ms=self.now_ms,
            )
            if self._paper_file.exists():
                self.paper.import_state(json.loads(self._paper_file.read_text(encoding="utf-8")))
        self.executor = self.paper or self.client
        self.guard = RiskGuard(risk_limits(config))
        self.orders = OrderManager(
            self.executor,
            self.guard,
            self.audit,
            self.oms.snapshot,
            self.client.symbol_rules,
            settings,
            self.plans,
            kill_switch=lambda: self.kill_switch.engaged,
            clock=self.now,
        )
        self.strategy = load_strategy(config.strategy.name, config.strategy.params)

    @property
    def _paper_file(self) -> Path:
        return self.runtime.state_dir / PAPER_STATE_FILE

    def _save_paper(self) -> None:
        write_atomic(self._paper_file, json.dumps(self.paper.export_state()))

    def _alarm(self, kind: str, data: dict) -> None:
        log.critical("ALARM %s: %s", kind, data)
        self.audit.append("alarm", {"kind": kind, **data}, sync=True)

    # --- clock and state --------------------------------------------------------------

    def now_ms(self) -> int:
        """Exchange time: the local clock corrected by the client's server-time offset,
        which follows every -1021 resync (a stale offset would misdate snapshots)."""
        offset = self.client.offset_ms if self.client is not None else 0
        return int(time.time() * 1000) + offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_s(), UTC)

    def sync_time(self) -> None:
        self.client.sync_time()

    def start_consumer(self) -> None:
        self.worker.start()

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
        self._alarm("oms_restart", {"restart": self._consumer_restarts, **self.worker.metrics()})
        self.worker = OmsWorker(self.oms, self.inbound, decode=parse_user_data)
        self.worker.start()
        self.apply_snapshot()
        self._oms_alarmed = None
        return self.worker.health().healthy

    def now_s(self) -> float:
        """Exchange time in seconds: the clock snapshots and the stream are stamped with."""
        return self.now_ms() / 1000

    def rest_snapshot(self) -> Snapshot:
        """The configured symbols' state from REST (the paper account in dry-run)."""
        return take_snapshot(self.executor, frozenset(self.config.symbols), self.now_s)

    def apply_snapshot(self, own_changes: OwnChanges | None = None) -> None:
        """Put a REST snapshot on the queue, preceded by any exits it hid, and wait
        until applied; ``own_changes``: what this process just changed on the exchange."""
        snapshot = self.rest_snapshot()
        if own_changes is not None:
            snapshot = replace(snapshot, own_changes=own_changes)
        if self.paper is None:
            for event in self._recover_missed_exits(snapshot):
                self.inbound.put(event)
        self.inbound.put(snapshot)
        self.worker.wait_idle(timeout=30)

    def _recover_missed_exits(self, snapshot: Snapshot) -> list:
        return missed_exit_events(self.client, self.oms.snapshot(), snapshot, self.now_ms())

    def start_stream(self) -> None:
        """Live venues only: the user-data stream, whose first snapshot reconciles state."""
        stream_config = self.config.stream
        self.stream = UserStream(
            self.client,
            self.inbound,
            silence_timeout_s=stream_config.silence_timeout_s,
            fallback_interval_s=stream_config.fallback_interval_s,
            symbols=self.config.symbols,
            clock=self.now_s,
            recover=self._recover_missed_exits,
        )
        self.stream.start()
        deadline = time.monotonic() + STREAM_READY_TIMEOUT_S
        while self.stream.health().snapshots == 0 and time.monotonic() < deadline:
            if self.stopping.wait(0.005):
                return
        if self.stream.health().snapshots == 0:
            log.warning("user stream not ready; reconciling from REST instead")
            self.apply_snapshot()
        self.worker.wait_idle(timeout=30)

    def income_is_due(self, *, positions_before: dict) -> bool:
        """Whether today's income history (weight 30) must be read again.

        Always when the store has no record of today (first run of the day, a lost or
        fresh state dir), when a position changed while nobody watched (liquidation,
        ADL, a manual trade: PnL the bot saw no fill for), or when the last read is
        older than ``INCOME_RESYNC_S`` (funding fees, every 8 h). Otherwise the fills
        the OMS applied, including exits recovered after a gap, already count."""
        now = self.now()
        if now.date() not in self.oms.snapshot().day_pnls:
            return True
        if positions_before != _amounts(self.oms.snapshot()):
            return True
        synced = self.oms.snapshot().meta.get(INCOME_SYNCED_KEY)
        return synced is None or self.now_ms() - int(synced) > INCOME_RESYNC_S * 1000

    def seed_day_pnl(self) -> None:
        """Rebuild today's PnL from the exchange's income history (merged with the store),
        so a lost or fresh state dir never lifts the daily loss limit."""
        now = self.now()
        day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        totals = dict.fromkeys(INCOME_TYPES.values(), Decimal(0))
        counted = set()
        for row in self.executor.income(int(day_start.timestamp() * 1000)):
            name = INCOME_TYPES.get(row.income_type)
            if name is not None:
                totals[name] += row.amount
                counted.add(income_key(row))
        counted.discard(None)
        self.submit(
            SeedDayPnl(now.date(), **totals, counted=frozenset(counted)),
            SetMeta(INCOME_SYNCED_KEY, str(self.now_ms())),
        )

    def setup_account(self) -> None:
        """One-way mode, margin type and leverage: once per UTC day and settings, not on
        every cron run (weight 1 + 2 per symbol), remembered in the store."""
        execution = self.config.execution
        wanted = json.dumps(
            [
                self.config.exchange.venue,
                sorted(self.config.symbols),
                execution.leverage,
                execution.margin_type,
                str(self.now().date()),
            ]
        )
        if self.paper is None and self.oms.snapshot().meta.get(ACCOUNT_SETUP_KEY) == wanted:
            return
        self.executor.setup_account(
            self.config.symbols, leverage=execution.leverage, margin_type=execution.margin_type
        )
        if self.paper is None:
            self.submit(SetMeta(ACCOUNT_SETUP_KEY, wanted))

    def prepare(self, *, stream: bool) -> None:
        """Everything a trading mode does before its first decision."""
        self.sync_time()
        for symbol in self.config.symbols:  # a symbol the venue cannot trade is a config error
            self.client.symbol_rules(symbol)
        self._writes_at_start = self.client.writes_sent
        positions_before = _amounts(self.oms.snapshot())
        self.start_consumer()
        self.setup_account()
        if stream and not self.dry_run:
            self.start_stream()
        else:
            self.apply_snapshot()
        if self.income_is_due(positions_before=positions_before):
            self.seed_day_pnl()

    # --- trading ----------------------------------------------------------------------

    def look_after_positions(self, report: CycleReport) -> None:
        """Paper triggers first (dry-run), then: every position has its SL, no orphans."""
        if self.paper is not None:
            self.paper.poll()
            self.worker.wait_idle(timeout=10)
        for line in self.orders.protect_positions(self.oms.snapshot()):
            report.add(line)
            report.attention = True
        for line in self.orders.cancel_orphans(self.oms.snapshot()):
            report.add(line)

    def signal_for(self, symbol: str) -> tuple[Signal | None, str]:
        rows = self.executor.klines(
            symbol, self.config.strategy.interval, self.config.strategy.candles
        )
        candles = parse_klines(rows, self.now_ms())
        if not candles:
            return None, "no closed candle"
        signal = self.strategy.evaluate(symbol, candles, self.oms.snapshot())
        return signal, f"last close {candles[-1].close}"

    def trade(
        self, signal: Signal, report: CycleReport, intent: Intent | None = None
    ) -> BracketResult:
        problem = self.oms_problem()
        if problem is not None:
            report.oms_problem = problem
            report.add(f"{signal.symbol}: no entry: {problem}")
            return BracketResult(BracketOutcome.REFUSED, problem, signal.symbol, "")
        result = self.orders.open_bracket(signal, intent)
        if result.status == BracketOutcome.OPENED:
            report.add(
                f"{signal.symbol}: {signal.side} {result.filled_qty} filled @ {result.entry_price}; "
                f"SL {result.stop_price}; TP {result.take_profit_price} ({signal.reason})"
            )
        else:
            report.add(f"{signal.symbol}: {signal.side} {result.status}: {result.reason}")
        report.refused = report.refused or result.refused
        report.attention = report.attention or result.status in NEEDS_ATTENTION
        self.worker.wait_idle(timeout=10)
        if result.status in REPAIR_NOW:
            # an entry may have filled without its stop: repair from the exchange's truth
            # now, not at the next cycle
            self.apply_snapshot()
            self.look_after_positions(report)
        return result

    def force_entry(self, symbol: str, side: str, report: CycleReport) -> BracketResult:
        """An operator's entry: a new intent each time, except that the re-run of a
        force-entry that died before its entry was confirmed resumes that intent (its
        persisted plan), so it is resolved by its own client id and never sent twice."""
        signal = self.forced_signal(symbol, side)
        result = self.trade(signal, report, self._operator_intent(symbol, side))
        report.refused = report.refused or result.status in NO_OP  # the operator asked for it
        return result

    def _operator_intent(self, symbol: str, side: str) -> Intent:
        plan = self.plans.get(symbol)
        view = self.oms.snapshot()
        if plan is not None and plan.side == side and symbol not in view.positions:
            parsed = parse_client_id(plan.entry_client_id, tag=self.orders.settings.tag)
            unresolved = view.order(plan.entry_client_id) is None
            if parsed is not None and parsed.intent.source is Source.OPERATOR and unresolved:
                log.warning("resuming the unconfirmed force-entry %s", plan.entry_client_id)
                return parsed.intent
        return Intent.for_side(self.now_ms(), Source.OPERATOR, side)

    def forced_signal(self, symbol: str, side: str) -> Signal:
        """The strategy's ATR-based distances on the current candle."""
        params = self.config.strategy.params
        period = int(params.get("atr_period", 14))
        rows = self.executor.klines(symbol, self.config.strategy.interval, max(period + 2, 30))
        candles = parse_klines(rows, self.now_ms())
        volatility = atr(candles, period) if candles else None
        if not volatility:
            raise ExchangeError(f"{symbol}: not enough candles for an ATR({period}) stop distance")
        current_open = int(rows[-1][0])
        return Signal(
            symbol=symbol,
            side=side,
            stop_distance=volatility * Decimal(str(params.get("atr_stop_mult", "1.5"))),
            take_profit_distance=volatility * Decimal(str(params.get("atr_tp_mult", "3"))),
            reason=f"force-entry by operator (ATR {volatility:.2f})",
            candle_open_ms=current_open,
        )

    def cycle(self) -> CycleReport:
        """One strategy cycle over every configured symbol."""
        report = CycleReport()
        self.look_after_positions(report)
        report.oms_problem = self.oms_problem()
        block = report.oms_problem or self.guard.entry_block(
            self.orders.risk_state(self.oms.snapshot(), "")
        )
        for symbol in self.config.symbols:
            if block is not None:
                report.add(f"{symbol}: no entry: {block}")
                continue
            try:
                signal, context = self.signal_for(symbol)
            except ExchangeError as error:
                report.add(f"{symbol}: market data unavailable: {error}")
                continue
            if signal is None:
                report.add(f"{symbol}: no signal ({context})")
            else:
                self.trade(signal, report)
        self.summarise(report)
        return report

    def summarise(self, report: CycleReport) -> None:
        view = self.oms.snapshot()
        today = self.now().date()
        positions = ", ".join(
            f"{symbol} {p.amount} @ {p.entry_price}"
            for symbol, p in sorted(view.positions.items())
            if p.amount
        )
        report.add(
            f"today's PnL {view.day_pnl(today)} USDC (limit -{self.config.risk.daily_loss_limit}); "
            f"SL streak {view.sl_streak}/{self.config.risk.max_sl_streak}; "
            f"positions: {positions or 'none'}; "
            f"kill switch {'ON' if self.kill_switch.engaged else 'off'}"
        )

    def finish(self) -> None:
        """Leave state true before exit: everything applied and stored.

        A final REST snapshot (weight ~12) is taken when this run changed anything on
        the exchange or the stream was not healthy throughout; otherwise the stream's
        events already are the exchange's truth."""
        changed = self.client.writes_sent > self._writes_at_start
        stream_ok = self.stream is not None and self.stream.health().reconnects == 0
        if self.stream is not None:
            self.worker.wait_idle(timeout=10)
        if self.paper is not None or changed or not stream_ok:
            self.apply_snapshot()

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
        record = {"engaged": True, "flatten": flatten}
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

    # --- shutdown ---------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop intake, drain and apply the queue, persist, join every thread (bounded)."""
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.paper is not None:
            steps.append(("paper account", self._save_paper))
        if self.stream is not None:
            steps.append(("user stream", lambda: self.stream.stop(timeout=5)))
        if self.worker is not None and self.worker.alive:
            steps.append(("OMS consumer", lambda: self.worker.stop(timeout=5)))
        if self.store is not None:
            steps.append(("store", self.store.close))
        if self.client is not None:
            steps.append(("exchange client", self.client.close))
        if self.sim is not None:
            steps.append(("simulator", self.sim.stop))
        for name, stop in steps:
            try:
                stop()
            except Exception:
                log.exception("shutting down the %s failed", name)
        self.stream = self.worker = self.store = self.client = self.sim = self.paper = None
