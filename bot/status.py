"""``main.py status``: the account as the exchange sees it, read without taking the lock.

The exchange is the truth: positions (mark, unrealised PnL, liquidation price and
distance), whether the open stops cover each one (the guard's own invariant,
``bot.execution.protection.stop_shortfall``), every open order and TP/SL, and today's
PnL from the income history, so a position opened outside the bot shows. Local state
adds what only the bot knows: the stop-loss streak and the kill switch (the store is
SQLite in WAL mode, readable beside the service), and the running service's stream
health (its health file). ``--cached`` shows the local view alone.

Read-only beside a running service: no lock, no listenKey, a client that refuses
writes. The embedded simulator and dry-run's paper engine live inside the bot's
process, so there the local view is all there is to read. Module level imports stay
free of the SDK (a test checks it): the client is imported when it is used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import console
from bot.config import BotConfig
from bot.domain.records import AlgoOrder, Order
from bot.domain.rules import SymbolRules
from bot.health import read_health
from bot.killswitch import KillSwitch
from bot.oms.state import AlgoOrderState, OmsView, OrderState
from bot.pnl import DayIncome, daily_income, json_value, money
from bot.readers import ExchangeReader, engine_in_process, stored_view
from bot.runtime import state_dir_for

if TYPE_CHECKING:
    from bot.exchange.client import ExchangeClient

HEALTH_STALE_S = 90  # the service rewrites its health file every 30 s
PCT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class PositionLine:
    symbol: str
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal | None = None
    unrealised_pnl: Decimal | None = None
    liquidation_price: Decimal | None = None  # None: none, or not known (cached)
    liquidation_distance_pct: Decimal | None = None
    uncovered_qty: Decimal | None = None  # by open stops; 0: covered

    @property
    def covered(self) -> bool | None:
        return None if self.uncovered_qty is None else self.uncovered_qty == 0


@dataclass(frozen=True)
class OrderLine:
    symbol: str
    client_id: str
    side: str
    order_type: str
    qty: Decimal | None  # None: closes the whole position
    price: Decimal  # the limit, or an algo order's trigger
    algo: bool
    status: str


@dataclass(frozen=True)
class ServiceLine:
    running: bool
    text: str  # one line for people
    updated_at: str | None = None
    pid: int | None = None
    stream: Mapping[str, Any] | None = None
    last_cycle: Mapping[str, Any] | None = None  # {"at": ISO time, "duration_s": seconds}


@dataclass(frozen=True)
class Status:
    source: str  # "exchange" | "cached"
    at: datetime
    venue: str
    state_dir: str
    dry_run: bool
    positions: list[PositionLine]
    orders: list[OrderLine]
    today: DayIncome | None
    daily_loss_limit: Decimal
    sl_streak: int | None  # None: no local state yet
    max_sl_streak: int
    kill_switch: bool
    kill_switch_reason: str | None
    service: ServiceLine
    usdc_wallet: Decimal | None
    note: str | None = None
    rules: Mapping[str, SymbolRules] = field(default_factory=dict, repr=False)


# --- gathering ---------------------------------------------------------------------------


def read_status(config: BotConfig, *, dry_run: bool, cached: bool = False) -> Status:
    state_dir = state_dir_for(config, dry_run=dry_run)
    view = stored_view(state_dir)
    if cached:
        return _cached(config, state_dir, view, dry_run=dry_run, note=None)
    if dry_run or engine_in_process(config):
        note = (
            "the venue is the exchange engine inside the bot's process "
            f"({'dry-run paper account' if dry_run else 'embedded simulator'}): cached view"
        )
        return _cached(config, state_dir, view, dry_run=dry_run, note=note)
    with ExchangeReader(config, state_dir) as client:
        return _from_exchange(config, state_dir, view, client)


def _from_exchange(
    config: BotConfig, state_dir: Path, view: OmsView | None, client: ExchangeClient
) -> Status:
    from bot.exchange.errors import ExchangeError
    from bot.execution.protection import stop_shortfall

    client.sync_time()
    now = datetime.now(UTC)
    algos = client.open_algo_orders()
    positions = []
    for p in client.position_risk():
        if p.amount == 0:
            continue
        liquidation = p.liquidation_price if p.liquidation_price > 0 else None
        distance = None
        if liquidation is not None and p.mark_price > 0:
            distance = (abs(p.mark_price - liquidation) / p.mark_price * 100).quantize(PCT)
        positions.append(
            PositionLine(
                symbol=p.symbol,
                amount=p.amount,
                entry_price=p.entry_price,
                mark_price=p.mark_price,
                unrealised_pnl=p.unrealised_pnl,
                liquidation_price=liquidation,
                liquidation_distance_pct=distance,
                uncovered_qty=stop_shortfall(algos, p.symbol, p.amount),
            )
        )
    orders = _order_lines(client.open_orders(), algos)
    rules: dict[str, SymbolRules] = {}
    for symbol in sorted({p.symbol for p in positions} | {o.symbol for o in orders}):
        with suppress(ExchangeError):  # not a USDC perpetual: shown normalised
            rules[symbol] = client.symbol_rules(symbol)
    (today,) = daily_income(client, 1, now)
    return Status(
        source="exchange",
        dry_run=False,
        positions=sorted(positions, key=lambda p: p.symbol),
        orders=orders,
        today=today,
        usdc_wallet=client.usdc_balance().wallet,
        rules=rules,
        **_local(config, state_dir, view, now),
    )


def _cached(
    config: BotConfig, state_dir: Path, view: OmsView | None, *, dry_run: bool, note: str | None
) -> Status:
    from bot.execution.protection import stop_shortfall

    now = datetime.now(UTC)
    positions, orders, today = [], [], None
    if view is not None:
        algos = list(view.open_algo_orders.values())
        positions = [
            PositionLine(
                s,
                p.amount,
                p.entry_price,
                unrealised_pnl=p.unrealised_pnl,
                uncovered_qty=stop_shortfall(algos, s, p.amount),
            )
            for s, p in sorted(view.positions.items())
        ]
        orders = _order_lines(view.open_orders.values(), algos)
        stored = view.day_pnls.get(now.date())
        today = DayIncome(now.date())
        if stored is not None:
            today = DayIncome(stored.day, stored.realised, stored.commission, stored.funding)
    return Status(
        source="cached",
        dry_run=dry_run,
        positions=positions,
        orders=orders,
        today=today,
        usdc_wallet=None if view is None else view.usdc_wallet,
        note=note,
        **_local(config, state_dir, view, now),
    )


def _order_lines(
    orders: Iterable[Order | OrderState], algos: Iterable[AlgoOrder | AlgoOrderState]
) -> list[OrderLine]:
    """Open orders then open algo orders (TP/SL), from the exchange's records or the view's."""
    return [
        OrderLine(o.symbol, o.client_order_id, o.side, o.order_type, o.orig_qty, o.price, False,
                  o.status)
        for o in orders
    ] + [
        OrderLine(a.symbol, a.client_algo_id, a.side, a.order_type,
                  None if a.close_position else a.qty, a.trigger_price, True, a.status)
        for a in algos
    ]  # fmt: skip


def _local(
    config: BotConfig, state_dir: Path, view: OmsView | None, now: datetime
) -> dict[str, Any]:
    """What only this machine knows, whichever view the account comes from: the config's
    limits, the stored SL streak, the kill switch and the running service's health."""
    kill = KillSwitch(state_dir)
    engaged = kill.engaged
    return {
        "at": now,
        "venue": config.exchange.venue,
        "state_dir": str(state_dir),
        "daily_loss_limit": config.risk.daily_loss_limit,
        "sl_streak": None if view is None else view.sl_streak,
        "max_sl_streak": config.risk.max_sl_streak,
        "kill_switch": engaged,
        "kill_switch_reason": kill.reason() if engaged else None,
        "service": service_line(state_dir, now),
    }


def service_line(state_dir: Path, now: datetime) -> ServiceLine:
    """The running service's health file; absent, stale or left by a dead process
    means no service is running."""
    health = read_health(state_dir)
    if health is None:
        return ServiceLine(False, "no service running")
    try:
        updated = datetime.fromisoformat(str(health["at"]))
        pid = int(health["pid"])
    except (KeyError, ValueError, TypeError):
        return ServiceLine(False, "no service running (unreadable health file)")
    if now - updated > timedelta(seconds=HEALTH_STALE_S) or not _alive(pid):
        return ServiceLine(
            False, f"no service running (health file stale: last update {_time(updated)})"
        )
    stream = health.get("stream")
    if not isinstance(stream, dict):
        stream_text = "no user stream (dry-run)"
        stream = None
    else:
        age = stream.get("last_message_age_s")
        stream_text = (
            f"stream {stream.get('state')}"
            f"{' (healthy)' if stream.get('healthy') else ' (UNHEALTHY)'}, "
            f"last message {'never' if age is None else f'{age:.0f} s ago'}, "
            f"{stream.get('reconnects')} reconnects"
            f"{', REST fallback polling' if stream.get('fallback_running') else ''}"
        )
    text = f"service: pid {pid}, {_last_cycle(health.get('last_cycle'))}; {stream_text}"
    cycle = health.get("last_cycle")
    return ServiceLine(
        True, text, updated.isoformat(), pid, stream, cycle if isinstance(cycle, dict) else None
    )


def _last_cycle(record: object) -> str:
    if not isinstance(record, dict):
        return "no strategy cycle completed yet"
    try:
        at = datetime.fromisoformat(str(record["at"]))
        took = float(record["duration_s"])
    except (KeyError, ValueError, TypeError):
        return "last cycle unknown"
    return f"last cycle {_time(at)} ({took:.1f} s)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


# --- output ------------------------------------------------------------------------------


def to_json(status: Status) -> str:
    """One JSON document: Decimals as strings, times ISO 8601 UTC."""
    record = asdict(status)
    record.pop("rules")
    for position, line in zip(record["positions"], status.positions, strict=True):
        position["covered_by_stop"] = line.covered
    if status.today is not None:
        record["today"]["net"] = status.today.net
    return json.dumps(record, default=json_value, indent=2)


def render(status: Status) -> str:
    """Lines for people: prices at the symbol's tick, quantities at its step."""
    price, qty = _formatters(status.rules)
    lines = [
        f"{status.source} view at {_time(status.at)}: venue {status.venue}, "
        f"state dir {status.state_dir}{' (dry-run)' if status.dry_run else ''}"
    ]
    if status.note:
        lines.append(status.note)
    lines.append(status.service.text)
    kill = f"ON ({status.kill_switch_reason})" if status.kill_switch else "off"
    lines.append(f"kill switch: {kill}")
    if status.sl_streak is None:
        lines.append("stop-loss streak: no state yet (run `python main.py --once` first)")
    else:
        lines.append(f"stop-loss streak: {status.sl_streak}/{status.max_sl_streak}")
    if status.today is not None:
        t = status.today
        lines.append(
            f"today ({t.day} UTC): net {money(t.net)} USDC = realised {money(t.realised)}"
            f" + fees {money(t.commission)} + funding {money(t.funding)};"
            f" daily loss limit -{money(status.daily_loss_limit)}"
            f" ({money(max(ZERO, status.daily_loss_limit + t.net))} left)"
        )
    wallet = "unknown" if status.usdc_wallet is None else money(status.usdc_wallet)
    lines.append(f"USDC wallet: {wallet}")
    lines.append("positions:" if status.positions else "positions: none")
    for p in status.positions:
        text = f"  {p.symbol}: {qty(p.symbol, p.amount)} @ {price(p.symbol, p.entry_price)}"
        if p.mark_price is not None:
            text += f", mark {price(p.symbol, p.mark_price)}"
        if p.unrealised_pnl is not None:
            text += f", unrealised {money(p.unrealised_pnl)}"
        if p.liquidation_price is not None and p.liquidation_distance_pct is not None:
            text += (
                f", liquidation {price(p.symbol, p.liquidation_price)}"
                f" ({p.liquidation_distance_pct:.1f}% away)"
            )
        elif status.source == "exchange":
            text += ", no liquidation price"
        if p.uncovered_qty is not None:
            text += (
                ", covered by a stop"
                if p.covered
                else f", NOT COVERED by a stop ({qty(p.symbol, p.uncovered_qty)} uncovered)"
            )
        lines.append(text)
    regular = [o for o in status.orders if not o.algo]
    algos = [o for o in status.orders if o.algo]
    lines.append(f"open orders: {len(regular)}")
    lines.extend(f"  {_order(o, price, qty)}" for o in regular)
    lines.append(f"open algo orders (TP/SL): {len(algos)}")
    lines.extend(f"  {_order(o, price, qty)}" for o in algos)
    return "\n".join(lines)


Format = Callable[[str, Decimal], str]


def _formatters(rules: Mapping[str, SymbolRules]) -> tuple[Format, Format]:
    def price(symbol: str, value: Decimal) -> str:
        rule = rules.get(symbol)
        return console.at_step(value, rule.tick_size if rule else None)

    def qty(symbol: str, value: Decimal) -> str:
        rule = rules.get(symbol)
        return console.at_step(value, rule.step_size if rule else None)

    return price, qty


def _order(o: OrderLine, price: Format, qty: Format) -> str:
    size = "close-all" if o.qty is None else qty(o.symbol, o.qty)
    at = "trigger" if o.algo else "@"
    shown = price(o.symbol, o.price)
    return f"{o.symbol} {o.client_id} {o.side} {o.order_type} {size} {at} {shown} {o.status}"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
