"""Wiring: how config sections become the venue, credentials and component settings.

Kept apart from the composition root (``bot.app``) so that what each config key
means to a component reads in one place, and the root only assembles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import BotConfig, Secrets
from bot.exchange.venues import SIM_USER_PATH, Venue, resolve_venue
from bot.execution.bracket import ExitSettings
from bot.execution.desk import OrderSettings
from bot.risk.guard import RiskLimits

if TYPE_CHECKING:
    from bot.sim import Simulator

SIM_STATE_FILE = Path("sim") / "account.json"


class CredentialsMissing(RuntimeError):
    """testnet/live need BINANCE_API_KEY and BINANCE_API_SECRET (a usage error, exit 2)."""


def start_simulator(config: BotConfig, state_dir: Path) -> Simulator:
    """The embedded venue: an in-process simulator persisting its account in the state dir."""
    from bot.sim import Simulator

    state_file = state_dir / SIM_STATE_FILE
    state_file.parent.mkdir(parents=True, exist_ok=True)
    fresh = not state_file.exists()
    sim = Simulator(state_file=state_file, seed=config.sim.seed).start()
    if fresh:
        sim.seed_balance(config.sim.starting_balance)
    return sim


def credentials(secrets: Secrets, venue_name: str) -> tuple[str, str]:
    if venue_name == "sim":
        from bot.sim import SIM_API_KEY, SIM_API_SECRET

        return SIM_API_KEY, SIM_API_SECRET
    key, secret = secrets.api_key, secrets.api_secret
    if key is None or secret is None:
        raise CredentialsMissing(
            f"venue {venue_name!r} needs BINANCE_API_KEY and BINANCE_API_SECRET in .env "
            "or the environment (testnet keys until you mean to trade live)"
        )
    return key.get_secret_value(), secret.get_secret_value()


def risk_limits(config: BotConfig) -> RiskLimits:
    risk = config.risk
    return RiskLimits(
        daily_loss_limit=risk.daily_loss_limit,
        max_sl_streak=risk.max_sl_streak,
        sl_streak_cooldown_min=risk.sl_streak_cooldown_min,
        cooldown_until_next_utc_day=risk.cooldown_until_next_utc_day,
        max_open_positions=risk.max_open_positions,
        max_notional_per_symbol=risk.max_notional_per_symbol,
        max_total_notional=risk.max_total_notional,
        max_leverage=risk.max_leverage,
    )


def order_settings(config: BotConfig, *, dry_run: bool) -> OrderSettings:
    execution = config.execution
    return OrderSettings(
        risk_pct=config.risk.risk_per_trade_pct,
        max_notional=config.risk.max_notional_per_symbol,
        leverage=execution.leverage,
        exits=ExitSettings(
            working_type=execution.working_type,
            tp_order_style=execution.tp_order_style,
            price_protect=execution.price_protect,
            use_close_position=execution.close_position_exits,
        ),
        tag=execution.bot_tag + ("d" if dry_run else ""),
        adopted_stop_pct=execution.adopted_stop_pct,
        fill_polls=max(1, int(execution.fill_wait_s / 0.25)),
    )


def connect_venue(config: BotConfig, state_dir: Path) -> tuple[Venue, Simulator | None]:
    """The venue's URLs, and the in-process simulator when it is the embedded default
    (``venue: sim`` without ``rest_url``); the caller owns and stops the simulator."""
    exchange = config.exchange
    sim = None
    sim_venue = None
    if exchange.venue == "sim" and exchange.rest_url is None:
        sim = start_simulator(config, state_dir)
        sim_venue = Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH)
    elif exchange.venue == "sim" and exchange.rest_url is not None:
        sim_venue = Venue(exchange.rest_url, exchange.ws_url or "", SIM_USER_PATH)
    venue = resolve_venue(exchange.venue, exchange.rest_url, exchange.ws_url, sim=sim_venue)
    return venue, sim
