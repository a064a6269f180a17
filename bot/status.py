"""``main.py status``: the bot's state at a glance, read without taking the lock.

It reads the store (SQLite in WAL mode allows a reader beside the service), the
kill switch file and the health file the service refreshes, so it works while
the service runs and never changes anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import BotConfig
from bot.health import read_health
from bot.killswitch import KillSwitch
from bot.oms.oms import load_view
from bot.oms.state import OmsView
from bot.oms.store import Store
from bot.runtime import state_dir_for


def _stored_view(state_dir: Path) -> OmsView | None:
    path = state_dir / "state.db"
    if not path.exists():
        return None
    with Store.open(path) as store:
        return load_view(store)


def _health_line(state_dir: Path) -> str:
    health = read_health(state_dir)
    if health is None:
        return "service: not running"
    stream = health.get("stream")
    if stream is None:
        stream_text = "no user stream (dry-run)"
    else:
        age = stream.get("last_message_age_s")
        stream_text = (
            f"stream {stream['state']}{' (healthy)' if stream['healthy'] else ' (UNHEALTHY)'}, "
            f"last message {'never' if age is None else f'{age:.0f} s ago'}, "
            f"{stream['reconnects']} reconnects"
            f"{', REST fallback polling' if stream['fallback_running'] else ''}"
        )
    return f"service: pid {health['pid']}, updated {health['at']}; {stream_text}"


def render_status(config: BotConfig, *, dry_run: bool) -> str:
    state_dir = state_dir_for(config, dry_run=dry_run)
    view = _stored_view(state_dir)
    kill = KillSwitch(state_dir)
    lines = [f"state dir {state_dir} (venue {config.exchange.venue}, dry-run {dry_run})"]
    lines.append(_health_line(state_dir))
    lines.append(f"kill switch: {'ON (' + str(kill.reason()) + ')' if kill.engaged else 'off'}")
    if view is None:
        lines.append("no state yet: run `python main.py --once` first")
        return "\n".join(lines)
    today = datetime.now(UTC).date()
    risk = config.risk
    lines.append(
        f"today ({today} UTC): PnL {view.day_pnl(today)} USDC, limit -{risk.daily_loss_limit}"
    )
    lines.append(f"stop-loss streak: {view.sl_streak}/{risk.max_sl_streak}")
    lines.append(f"USDC wallet: {view.usdc_wallet if view.usdc_wallet is not None else 'unknown'}")
    lines.append("positions:" if view.positions else "positions: none")
    lines.extend(f"  {s}: {p.describe()}" for s, p in sorted(view.positions.items()))
    orders = list(view.open_orders.values())
    lines.append(f"open orders: {len(orders)}")
    lines.extend(f"  {o.symbol} {o.client_order_id} {o.describe()}" for o in orders)
    algos = list(view.open_algo_orders.values())
    lines.append(f"open algo orders (TP/SL): {len(algos)}")
    lines.extend(f"  {a.symbol} {a.client_algo_id} {a.describe()}" for a in algos)
    return "\n".join(lines)
