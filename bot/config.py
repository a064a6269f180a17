"""Unified Config: one validated, immutable model from defaults, YAML, env and CLI.

Sources, lowest to highest: model defaults (which run on the bundled simulator)
< ``config.yaml`` < environment variables ``BOT__SECTION__FIELD`` < CLI flags.
Secrets never live in the model: the API key and secret come from ``.env`` or
the environment (``BINANCE_API_KEY``, ``BINANCE_API_SECRET``) as ``SecretStr``,
so :func:`save` cannot write them. The YAML key names are a contract that
outside tools rely on; older files are upgraded by :func:`migrate`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as _model_validator

SCHEMA_VERSION = 2
ENV_PREFIX = "BOT__"
SECRET_ENV_NAMES = ("BINANCE_API_KEY", "BINANCE_API_SECRET")


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExchangeConfig(_Section):
    venue: Literal["sim", "testnet", "live"] = "sim"
    rest_url: str | None = None
    ws_url: str | None = None
    allow_live: bool = False
    recv_window_ms: int = Field(5000, ge=1, le=60000)
    timeout_s: float = Field(10, gt=0, le=120)
    weight_budget_share: float = Field(0.8, gt=0, le=1)
    exchange_info_ttl_s: int = Field(3600, ge=0)

    @field_validator("rest_url", "ws_url")
    @classmethod
    def _absolute_url(cls, url: str | None, info) -> str | None:
        schemes = ("http://", "https://") if info.field_name == "rest_url" else ("ws://", "wss://")
        if url is not None and not url.startswith(schemes):
            raise ValueError(f"must start with {' or '.join(schemes)}")
        return url


class ExecutionConfig(_Section):
    working_type: Literal["MARK_PRICE", "LAST_PRICE"] = "MARK_PRICE"
    tp_order_style: Literal["TAKE_PROFIT", "TAKE_PROFIT_MARKET"] = "TAKE_PROFIT_MARKET"
    leverage: int = Field(5, ge=1, le=125)
    margin_type: Literal["ISOLATED", "CROSSED"] = "ISOLATED"
    price_protect: bool = True
    close_position_exits: bool = False  # closePosition=true instead of reduceOnly+quantity
    fill_wait_s: float = Field(10, ge=0, le=300)
    # Names this bot in every client id (dry-run adds "d"): two bots on one account need
    # two tags, or each would take the other's orders for its own.
    bot_tag: str = Field("ufb", pattern=r"^[A-Za-z0-9]{1,5}$")
    # Stop distance from the entry, in percent, for a position the bot never planned
    # (opened by hand, or adopted); a position the bot opened gets its planned stop.
    adopted_stop_pct: Decimal = Field(Decimal(2), gt=0, le=50)


class RiskConfig(_Section):
    daily_loss_limit: Decimal = Field(Decimal(50), gt=0)
    max_sl_streak: int = Field(3, ge=1)
    sl_streak_cooldown_min: int = Field(240, ge=0)
    cooldown_until_next_utc_day: bool = False
    max_open_positions: int = Field(2, ge=1)
    risk_per_trade_pct: Decimal = Field(Decimal("1.0"), gt=0, le=100)
    max_notional_per_symbol: Decimal = Field(Decimal(1000), gt=0)
    max_total_notional: Decimal = Field(Decimal(2000), gt=0)
    max_leverage: int = Field(20, ge=1, le=125)


class StrategyConfig(_Section):
    name: str = "ema_cross"  # a built-in name or "package.module:ClassName"
    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"] = "15m"
    candles: int = Field(99, ge=10, le=1500)  # below 100 a klines call weighs 1, not 2
    params: dict[str, Any] = Field(default_factory=dict)


class StreamConfig(_Section):
    keepalive_min: float = Field(30, gt=0, le=59)
    silence_timeout_s: float = Field(240, gt=0)
    fallback_interval_s: float = Field(5, gt=0)
    reconcile_interval_min: float = Field(5, gt=0)


class DryRunConfig(_Section):
    slippage_bps: Decimal = Field(Decimal(5), ge=0)
    taker_fee_rate: Decimal = Field(Decimal("0.0004"), ge=0)


class SimConfig(_Section):
    seed: int = 7
    starting_balance: Decimal = Field(Decimal(10000), ge=0)


class PathsConfig(_Section):
    state_dir: Path = Path("./var")


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    backups: int = Field(5, ge=0)


class BotConfig(_Section):
    schema_version: Literal[2] = SCHEMA_VERSION
    exchange: ExchangeConfig = ExchangeConfig()
    symbols: tuple[str, ...] = ("BTCUSDC",)
    execution: ExecutionConfig = ExecutionConfig()
    risk: RiskConfig = RiskConfig()
    strategy: StrategyConfig = StrategyConfig()
    stream: StreamConfig = StreamConfig()
    dry_run: DryRunConfig = DryRunConfig()
    sim: SimConfig = SimConfig()
    paths: PathsConfig = PathsConfig()
    logging: LoggingConfig = LoggingConfig()

    @field_validator("symbols")
    @classmethod
    def _usdc_symbols_only(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        if not symbols:
            raise ValueError("at least one symbol is required")
        bad = [s for s in symbols if not (s.isalnum() and s.isupper() and s.endswith("USDC"))]
        if bad:
            raise ValueError(f"only USDC-margined symbols such as BTCUSDC are allowed, not {bad}")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols are listed twice")
        return symbols

    @_model_validator(mode="after")
    def _live_needs_consent(self) -> BotConfig:
        if self.exchange.venue == "live" and not self.exchange.allow_live:
            raise ValueError(
                "exchange.venue 'live' trades real money: set exchange.allow_live: true"
            )
        return self


class Secrets(BaseModel):
    """API credentials, kept apart from the config so nothing can save them."""

    model_config = ConfigDict(frozen=True)
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None

    @classmethod
    def load(
        cls, env_file: Path = Path(".env"), environ: Mapping[str, str] = os.environ
    ) -> Secrets:
        values = (
            {k: v for k, v in dotenv_values(env_file).items() if v} if env_file.exists() else {}
        )
        values.update({k: environ[k] for k in SECRET_ENV_NAMES if environ.get(k)})
        return cls(
            api_key=values.get("BINANCE_API_KEY"), api_secret=values.get("BINANCE_API_SECRET")
        )


# --- migration -------------------------------------------------------------------------------


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 had ``symbol``, ``exchange.testnet``, ``execution.tp_style`` and short working types."""
    out = dict(raw)
    exchange = dict(out.get("exchange") or {})
    if "testnet" in exchange:
        exchange["venue"] = "testnet" if exchange.pop("testnet") else "live"
    if "recv_window" in exchange:
        exchange["recv_window_ms"] = exchange.pop("recv_window")
    if exchange:
        out["exchange"] = exchange
    if "symbol" in out:
        out["symbols"] = [out.pop("symbol")]
    execution = dict(out.get("execution") or {})
    if "tp_style" in execution:
        execution["tp_order_style"] = execution.pop("tp_style")
    short_names = {"MARK": "MARK_PRICE", "LAST": "LAST_PRICE"}
    if execution.get("working_type") in short_names:
        execution["working_type"] = short_names[execution["working_type"]]
    if execution:
        out["execution"] = execution
    out["schema_version"] = 2
    return out


MIGRATIONS = {1: _v1_to_v2}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a raw config dict step by step to the current schema version."""
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
        raise ConfigError([f"schema_version: {version!r} — supported: 1..{SCHEMA_VERSION}"])
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


# --- loading ---------------------------------------------------------------------------------


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read ({exc})"]) from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise ConfigError(
            [f"{path}:{line} unreadable YAML ({getattr(exc, 'problem', exc)})"]
        ) from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping, not {type(raw).__name__}"])
    return raw


def _set_dotted(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        node = target.get(key)
        if not isinstance(node, dict):
            node = target[key] = {}
        target = node
    target[path[-1]] = value


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``BOT__RISK__DAILY_LOSS_LIMIT=20`` → ``{"risk": {"daily_loss_limit": 20}}`` (YAML-typed)."""
    out: dict[str, Any] = {}
    for name, text in environ.items():
        if name.startswith(ENV_PREFIX):
            path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
            if path:
                try:
                    value = yaml.safe_load(text)
                except yaml.YAMLError:
                    value = text
                _set_dotted(out, path, value)
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        value = "" if item["type"] == "missing" else f" = {item.get('input')!r}"
        lines.append(f"{where}{value} — {item['msg']}")
    return lines


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    overrides: Mapping[str, Any] | None = None,
) -> BotConfig:
    """Build the config; raises :class:`ConfigError` listing every problem.

    ``path`` None or missing means defaults (the bundled simulator). ``overrides``
    are CLI flags as a nested dict, applied last.
    """
    raw = migrate(read_yaml(path)) if path is not None and path.exists() else {}
    raw = _merge(raw, env_overrides(environ))
    raw = _merge(raw, overrides or {})
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None


def dump_yaml(config: BotConfig) -> str:
    data = config.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save(config: BotConfig, path: Path) -> None:
    """Write YAML that loads back to an equal model. Holds no secret by construction."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dump_yaml(config), encoding="utf-8")
    os.replace(tmp, path)


def migrate_file(path: Path) -> tuple[int, Path]:
    """Rewrite a config file in place at the current schema; keeps ``<name>.bak``.

    Returns the version it was at and the backup path.
    """
    raw = read_yaml(path)
    version = raw.get("schema_version", 1)
    upgraded = migrate(raw)
    try:
        config = BotConfig.model_validate(upgraded)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    save(config, path)
    return version, backup
