"""Wiring: how config sections become the venue, credentials and component settings.

Kept apart from the composition root (``bot.app``) so that what each config key
means to a component reads in one place, and the root only assembles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import BotConfig, Secrets
from bot.exchange.venues import SIM_USER_PATH, Venue, resolve_venue
from bot.execution.bracket import ExitSettings
from bot.execution.desk import OrderSettings
from bot.risk.guard import RiskLimits

if TYPE_CHECKING:
    from bot.exchange.client import ExchangeClient
    from bot.sim import Simulator
    from bot.sim.account import Fees
    from bot.sim.market import PriceFeed
    from bot.sim.symbols import SymbolSpec

log = logging.getLogger(__name__)

SIM_STATE_FILE = Path("sim") / "account.json"
VENUE_CACHE_DIR = Path("cache") / "venue"  # the real venue's exchangeInfo, in dry-run


class CredentialsMissing(RuntimeError):
    """testnet/live need BINANCE_API_KEY and BINANCE_API_SECRET (a usage error, exit 2)."""


def start_simulator(
    config: BotConfig,
    state_dir: Path,
    *,
    feed: PriceFeed | None = None,
    fees: Fees | None = None,
    clock_offset_ms: int | None = None,
    specs: dict[str, SymbolSpec] | None = None,
) -> Simulator:
    """The exchange engine in this process, persisting its account in the state dir: the
    embedded venue (seeded prices), or dry-run's paper venue (``feed``: the real one's)."""
    from bot.sim import Simulator

    state_file = state_dir / SIM_STATE_FILE
    state_file.parent.mkdir(parents=True, exist_ok=True)
    fresh = not state_file.exists()
    sim = Simulator(
        state_file=state_file,
        seed=config.sim.seed,
        feed=feed,
        fees=fees,
        clock_offset_ms=clock_offset_ms,
        specs=specs,
    ).start()
    if fresh:
        sim.seed_balance(config.sim.starting_balance)
    return sim


def start_dry_run_engine(config: BotConfig, state_dir: Path) -> Simulator:
    """Dry-run's venue: the engine, trading the paper account in the dry-run state dir.

    On the embedded ``sim`` venue the engine is feed and venue. Otherwise its prices and
    clock follow the configured venue through a client without credentials that only
    reads public market data (``VenueFeed``): no signed request reaches the real venue.
    """
    from bot.sim.account import Fees
    from bot.sim.feeds import VenueFeed

    dry_run = config.dry_run
    fees = Fees(
        maker=dry_run.maker_fee_rate,
        taker=dry_run.taker_fee_rate,
        slippage_bps=dry_run.slippage_bps,
    )
    if _embedded(config):
        return start_simulator(config, state_dir, fees=fees)
    real, _ = _real_venue(config)
    reader = exchange_client(config, real, "", "", state_dir / VENUE_CACHE_DIR, read_only=True)
    try:
        offset_ms = reader.sync_time()
        specs = venue_specs(reader.exchange_info(), config.symbols)
        feed = VenueFeed(reader, interval_s=dry_run.price_interval_s)
        return start_simulator(
            config, state_dir, feed=feed, fees=fees, clock_offset_ms=offset_ms, specs=specs
        )
    except BaseException:
        reader.close()
        raise


def exchange_client(
    config: BotConfig, venue: Venue, key: str, secret: str, cache_dir: Path, **options: Any
) -> ExchangeClient:
    """An ExchangeClient with the config's exchange settings (timeout, recvWindow, weight
    share, exchangeInfo cache); ``options`` are what the caller owns (read-only, hooks,
    an in-process adapter)."""
    from bot.exchange.client import ExchangeClient

    exchange = config.exchange
    return ExchangeClient(
        venue,
        key,
        secret,
        timeout_s=exchange.timeout_s,
        recv_window_ms=exchange.recv_window_ms,
        weight_budget_share=exchange.weight_budget_share,
        cache_dir=cache_dir,
        exchange_info_ttl_s=exchange.exchange_info_ttl_s,
        **options,
    )


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


def venue_specs(exchange_info: dict[str, Any], symbols: Iterable[str]) -> dict[str, SymbolSpec]:
    """The configured symbols' instruments as the real venue lists them (an unlisted or
    unreadable one is left out: the bot then reports it as not tradable)."""
    from bot.sim.symbols import spec_from_info

    wanted = set(symbols)
    specs = {}
    for entry in exchange_info.get("symbols", []):
        if isinstance(entry, dict) and entry.get("symbol") in wanted:
            try:
                specs[entry["symbol"]] = spec_from_info(entry)
            except (KeyError, ValueError, TypeError, ArithmeticError):
                log.warning("dry-run: %s's exchangeInfo is unreadable; left out", entry["symbol"])
    return specs


def connect_venue(
    config: BotConfig, state_dir: Path, *, dry_run: bool = False
) -> tuple[Venue, Simulator | None]:
    """The venue's URLs, and the in-process engine when it is the venue: the embedded
    default (``venue: sim`` without ``rest_url``) or, with ``dry_run``, always (the paper
    venue); the caller owns and stops the engine."""
    if dry_run:
        engine = start_dry_run_engine(config, state_dir)
        return Venue(engine.rest_url, engine.ws_url, SIM_USER_PATH), engine
    if _embedded(config):
        sim = start_simulator(config, state_dir)
        return Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH), sim
    return _real_venue(config)


def _embedded(config: BotConfig) -> bool:
    return config.exchange.venue == "sim" and config.exchange.rest_url is None


def _real_venue(config: BotConfig) -> tuple[Venue, None]:
    """The configured venue's URLs (not the embedded one)."""
    exchange = config.exchange
    sim_venue = None
    if exchange.venue == "sim" and exchange.rest_url is not None:
        sim_venue = Venue(exchange.rest_url, exchange.ws_url or "", SIM_USER_PATH)
    return resolve_venue(exchange.venue, exchange.rest_url, exchange.ws_url, sim=sim_venue), None
