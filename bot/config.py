"""Unified Config: one validated, immutable model from defaults, YAML, env and CLI.

Sources, lowest to highest: model defaults (which run on the bundled simulator)
< ``config.yaml`` < environment variables ``BOT__SECTION__FIELD`` < CLI flags.
Secrets never live in the model: the API key and secret come from ``.env`` or
the environment (``BINANCE_API_KEY``, ``BINANCE_API_SECRET``) as ``SecretStr``,
so :func:`save` cannot write them. The YAML key names are a contract that
outside tools rely on; older files are upgraded by :func:`migrate`.

A config that passes :func:`load_config` must not fail later: numbers are finite
and bounded (no interval can overflow a timer), a bool is never read as a number,
the strategy is built once with its params, and the state dir is usable. The YAML
reader refuses what could hang or exhaust the process (see :class:`_StrictLoader`).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from bot.files import write_atomic
from bot.strategy.loader import load_strategy

SCHEMA_VERSION: Final = 2
ENV_PREFIX = "BOT__"
SECRET_ENV_NAMES = (
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BOT_TELEGRAM_TOKEN",
    "BOT_ALERT_URLS",
)
MAX_CONFIG_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 20
MAX_MONEY = Decimal(1_000_000_000)  # USDC: any larger limit or balance is a typo
MAX_SHOWN_VALUE = 80  # characters of a refused value quoted in a problem line
MAX_PROBLEMS = 20  # lines listed; a long list of bad items repeats one mistake


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _bools_are_only_flags(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML ``true`` would pass as 1 (``leverage: true``) and ``'yes'`` as a flag."""
        assert info.field_name is not None  # a field validator: pydantic names the field
        is_flag = cls.model_fields[info.field_name].annotation is bool
        if is_flag and not isinstance(value, bool):
            raise ValueError("must be true or false")
        if not is_flag and isinstance(value, bool):
            raise ValueError("true/false is not a valid value here")
        return value


class ExchangeConfig(_Section):
    venue: Literal["sim", "testnet", "live"] = "sim"
    rest_url: str | None = None
    ws_url: str | None = None
    allow_live: bool = False
    recv_window_ms: int = Field(5000, ge=1, le=60000)
    timeout_s: float = Field(10, gt=0, le=120)
    weight_budget_share: float = Field(0.8, gt=0, le=1)
    exchange_info_ttl_s: int = Field(3600, ge=0, le=86400)

    @field_validator("rest_url", "ws_url")
    @classmethod
    def _absolute_url(cls, url: str | None, info: ValidationInfo) -> str | None:
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
    daily_loss_limit: Decimal = Field(Decimal(50), gt=0, le=MAX_MONEY)
    max_sl_streak: int = Field(3, ge=1, le=100)
    sl_streak_cooldown_min: int = Field(240, ge=0, le=10080)  # a week
    cooldown_until_next_utc_day: bool = False
    max_open_positions: int = Field(2, ge=1, le=100)
    risk_per_trade_pct: Decimal = Field(Decimal("1.0"), gt=0, le=100)
    max_notional_per_symbol: Decimal = Field(Decimal(1000), gt=0, le=MAX_MONEY)
    max_total_notional: Decimal = Field(Decimal(2000), gt=0, le=MAX_MONEY)
    max_leverage: int = Field(20, ge=1, le=125)


class StrategyConfig(_Section):
    name: str = "ema_cross"  # a built-in name or "package.module:ClassName"
    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"] = "15m"
    candles: int = Field(99, ge=10, le=1500)  # below 100 a klines call weighs 1, not 2
    params: dict[str, Any] = Field(default_factory=dict)


class StreamConfig(_Section):
    keepalive_min: float = Field(30, gt=0, le=59)
    silence_timeout_s: float = Field(240, gt=0, le=3600)
    fallback_interval_s: float = Field(5, gt=0, le=300)
    reconcile_interval_min: float = Field(5, gt=0, le=1440)


class DryRunConfig(_Section):
    slippage_bps: Decimal = Field(Decimal(5), ge=0, le=1000)
    taker_fee_rate: Decimal = Field(Decimal("0.0004"), ge=0, le=Decimal("0.01"))
    maker_fee_rate: Decimal = Field(Decimal("0.0002"), ge=0, le=Decimal("0.01"))
    price_interval_s: float = Field(2, ge=0.25, le=60)  # the real venue's prices polled


class SimConfig(_Section):
    seed: int = Field(7, ge=0, le=2**32 - 1)
    starting_balance: Decimal = Field(Decimal(10000), ge=0, le=MAX_MONEY)
    # how the bot reaches the engine in its own process (embedded venue, dry-run);
    # bench/transport.py: no --once start-up gain in process, so HTTP stays the default
    transport: Literal["http", "in_process"] = "http"


class PathsConfig(_Section):
    state_dir: Path = Path("./var")


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=1024**3)
    backups: int = Field(5, ge=0, le=100)
    audit_retention_days: int = Field(400, ge=1, le=36500)
    audit_segment_bytes: int = Field(2 * 1024 * 1024, ge=64 * 1024, le=1024**3)


class TelegramConfig(_Section):
    """Optional control over Telegram (``bot/telegram``); the token is a secret
    (``BOT_TELEGRAM_TOKEN``), never a key here."""

    enabled: bool = False
    chat_ids: tuple[StrictInt, ...] = ()  # the only chats whose commands are obeyed
    poll_timeout_s: int = Field(5, ge=1, le=50)  # getUpdates long poll; bounds stop time
    confirm_window_s: int = Field(60, ge=10, le=600)  # a /flatten code is valid this long
    api_base: str = "https://api.telegram.org"

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @_model_validator(mode="after")
    def _enabled_needs_chats(self) -> TelegramConfig:
        if self.enabled and not self.chat_ids:
            raise ValueError("telegram.enabled needs at least one allow-listed chat id")
        if len(set(self.chat_ids)) != len(self.chat_ids):
            raise ValueError("chat_ids are listed twice")
        return self


class MetricsConfig(_Section):
    """Prometheus metrics: the service serves ``/metrics`` and ``/healthz`` when
    ``enabled``; ``--once`` writes ``textfile`` (node_exporter's textfile collector)."""

    enabled: bool = False
    host: str = "127.0.0.1"  # loopback: the figures describe an account, keep them local
    port: int = Field(9464, ge=0, le=65535)  # 0: any free port (tests)
    textfile: Path | None = None  # a *.prom file in node_exporter's textfile directory

    @field_validator("host")
    @classmethod
    def _ip_address(cls, host: str) -> str:
        ipaddress.ip_address(host)  # ValueError names the value
        return host

    @field_validator("textfile")
    @classmethod
    def _prom_suffix(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix != ".prom":
            raise ValueError("node_exporter's textfile collector reads only *.prom files")
        return path


AlertLevel = Literal["info", "warning", "critical"]
ALERT_URLS_ENV = "BOT_ALERT_URLS"
SECRET_IN_CONFIG = "secret_in_config"  # a refusal whose value is never shown (it holds tokens)


class AlertEvent(_Section):
    enabled: bool = True
    level: AlertLevel = "warning"


class AlertEventsConfig(_Section):
    """One switch and level per event (README "Alerts"); on by default: what needs a human."""

    start_stop: AlertEvent = AlertEvent(level="info")  # the service, and any run that failed
    entry_filled: AlertEvent = AlertEvent(level="info")
    exit_filled: AlertEvent = AlertEvent(level="info")  # SL, TP, close; with PnL
    stop_placed: AlertEvent = AlertEvent(enabled=False, level="info")  # routine: off
    stop_repaired: AlertEvent = AlertEvent(level="warning")
    stop_failed: AlertEvent = AlertEvent(level="critical")
    stuck_trigger: AlertEvent = AlertEvent(level="critical")
    forced_close: AlertEvent = AlertEvent(level="critical")  # liquidation, ADL, margin call
    drift: AlertEvent = AlertEvent(level="warning")
    stream_down: AlertEvent = AlertEvent(level="warning")
    rate_limited: AlertEvent = AlertEvent(level="warning")  # 429
    ip_banned: AlertEvent = AlertEvent(level="critical")  # 418
    risk_refusal: AlertEvent = AlertEvent(level="warning")  # daily loss, SL streak cooldown
    kill_switch: AlertEvent = AlertEvent(level="warning")
    daily_summary: AlertEvent = AlertEvent(level="info")
    alarm: AlertEvent = AlertEvent(level="critical")  # every other alarm record


class AlertsConfig(_Section):
    """Where alerts go is not here: ``BOT_ALERT_URLS`` (``.env`` or the environment)."""

    enabled: bool = True  # and BOT_ALERT_URLS set
    events: AlertEventsConfig = AlertEventsConfig()
    dedupe_window_s: float = Field(300, ge=0, le=86400)
    queue_size: int = Field(1000, ge=10, le=100_000)
    send_timeout_s: float = Field(10, gt=0, le=120)
    flush_deadline_s: float = Field(5, ge=0, le=120)  # --once (and stop) waits this long at most
    stream_down_after_s: float = Field(120, gt=0, le=86400)

    @_model_validator(mode="before")
    @classmethod
    def _no_urls_here(cls, raw: Any) -> Any:
        """A URL holds its service's token: it may not sit in a file that is shared and
        saved. The value is never echoed (see ``_problems``)."""
        for where in _url_paths(raw, "alerts"):
            raise PydanticCustomError(
                SECRET_IN_CONFIG,
                f"{where}: alert URLs hold tokens and are read only from {ALERT_URLS_ENV} "
                "in .env or the environment",
            )
        return raw


def _url_paths(value: Any, where: str) -> Iterator[str]:
    """Dotted paths of strings that look like URLs, and of any ``urls`` key."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}"
            if key in ("urls", "url"):
                yield path
            yield from _url_paths(item, path)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _url_paths(item, f"{where}.{index}")
    elif isinstance(value, str) and "://" in value:
        yield where


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
    telegram: TelegramConfig = TelegramConfig()

    metrics: MetricsConfig = MetricsConfig()

    alerts: AlertsConfig = AlertsConfig()

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
    telegram_token: SecretStr | None = None

    alert_urls: SecretStr | None = None  # BOT_ALERT_URLS: apprise URLs, comma/space separated

    @classmethod
    def load(
        cls, env_file: Path = Path(".env"), environ: Mapping[str, str] = os.environ
    ) -> Secrets:
        values = (
            {k: v for k, v in dotenv_values(env_file).items() if v} if env_file.exists() else {}
        )
        values.update({k: environ[k] for k in SECRET_ENV_NAMES if environ.get(k)})
        return cls(
            api_key=values.get("BINANCE_API_KEY"),
            api_secret=values.get("BINANCE_API_SECRET"),
            telegram_token=values.get("BOT_TELEGRAM_TOKEN"),
            alert_urls=values.get(ALERT_URLS_ENV),
        )


# --- migration -------------------------------------------------------------------------------


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 had ``symbol``, ``exchange.testnet``, ``execution.tp_style`` and short working types.

    A section that is not a mapping is passed on untouched, for validation to name it.
    """
    out = dict(raw)
    exchange = out.get("exchange")
    if isinstance(exchange, dict):
        exchange = dict(exchange)
        if "testnet" in exchange:
            exchange["venue"] = "testnet" if exchange.pop("testnet") else "live"
        if "recv_window" in exchange:
            exchange["recv_window_ms"] = exchange.pop("recv_window")
        out["exchange"] = exchange
    if "symbol" in out:
        out["symbols"] = [out.pop("symbol")]
    execution = out.get("execution")
    if isinstance(execution, dict):
        execution = dict(execution)
        if "tp_style" in execution:
            execution["tp_order_style"] = execution.pop("tp_style")
        short_names = {"MARK": "MARK_PRICE", "LAST": "LAST_PRICE"}
        if execution.get("working_type") in short_names:
            execution["working_type"] = short_names[execution["working_type"]]
        out["execution"] = execution
    out["schema_version"] = 2
    return out


MIGRATIONS = {1: _v1_to_v2}


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a raw config dict step by step to the current schema version."""
    version = raw.get("schema_version", 1)
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= SCHEMA_VERSION
    ):
        raise ConfigError([f"schema_version: {version!r} — supported: 1..{SCHEMA_VERSION}"])
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


# --- loading ---------------------------------------------------------------------------------


class YamlRefused(yaml.MarkedYAMLError):
    """Well-formed YAML that a config may not use."""

    problem_mark: yaml.Mark  # always given: the refusal names the line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases or repeated keys, and with a depth limit.

    Aliases let a few hundred bytes expand into billions of nodes (an "alias bomb")
    that hang validation or exhaust memory; a repeated key silently keeps its last
    value; nesting deeper than :data:`MAX_YAML_DEPTH` would end in RecursionError.
    Each refusal names the dotted path and line.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []

    def _where(self) -> str:
        return ".".join(part for part in self._path if part) or "(top level)"

    def _refuse(self, problem: str, event_or_node: Any) -> YamlRefused:
        return YamlRefused(
            problem=f"{self._where()}: {problem}", problem_mark=event_or_node.start_mark
        )

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise self._refuse("anchors and aliases (&, *) are not allowed", event)
        if isinstance(index, yaml.ScalarNode):  # a mapping value: its key
            self._path.append(index.value)
        elif isinstance(index, int):  # a list item: its position
            self._path.append(str(index))
        else:  # the document root or a key
            self._path.append("")
        try:
            if len(self._path) > MAX_YAML_DEPTH:
                raise self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels", event)
            return super().compose_node(parent, index)
        finally:
            self._path.pop()

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in seen:
                    self._path.append(key.value)
                    raise self._refuse("the key is given twice", key)
                seen.add((key.tag, key.value))
        return node


def parse_yaml(text: str) -> Any:
    """One YAML document through :class:`_StrictLoader`."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES} bytes"])
        raw = parse_yaml(data.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read ({exc})"]) from exc
    except YamlRefused as exc:
        raise ConfigError([f"{path}: line {exc.problem_mark.line + 1}: {exc.problem}"]) from None
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
                    value = parse_yaml(text)
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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        hidden = item["type"] in ("missing", SECRET_IN_CONFIG)
        value = "" if hidden else f" = {_shown(item.get('input'))}"
        lines.append(f"{where}{value} — {item['msg']}")
    if len(lines) > MAX_PROBLEMS:
        lines[MAX_PROBLEMS:] = [f"... and {len(lines) - MAX_PROBLEMS} more"]
    return lines


def _strategy_problems(strategy: StrategyConfig) -> list[str]:
    """Build the strategy once, so a bad name or params fail here and not mid-run."""
    try:
        load_strategy(strategy.name, strategy.params)
    except Exception as exc:  # user code: whatever it raises, the config cannot run
        return [
            f"strategy.name = {_shown(strategy.name)}, strategy.params = "
            f"{_shown(strategy.params)} — {exc}"
        ]
    return []


def _state_dir_problems(state_dir: Path) -> list[str]:
    """The state dir must be a writable directory or creatable as one; nothing is created."""
    where = f"paths.state_dir = {_shown(str(state_dir))}"
    try:
        target = state_dir.absolute()
        nearest = next(path for path in (target, *target.parents) if path.exists())
        if not nearest.is_dir():
            return [f"{where} — {nearest} is a file, not a directory"]
        if not os.access(nearest, os.W_OK | os.X_OK):
            return [f"{where} — {nearest} is not writable"]
    except OSError as exc:
        return [f"{where} — cannot be checked ({exc})"]
    return []


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    overrides: Mapping[str, Any] | None = None,
) -> BotConfig:
    """Build the config; raises :class:`ConfigError` listing every problem.

    ``path`` None means defaults (the bundled simulator); a given path must exist.
    ``overrides`` are CLI flags as a nested dict, applied last.
    """
    raw = migrate(read_yaml(path)) if path is not None else {}
    raw = _merge(raw, env_overrides(environ))
    raw = _merge(raw, overrides or {})
    try:
        config = BotConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None
    problems = _strategy_problems(config.strategy) + _state_dir_problems(config.paths.state_dir)
    if problems:
        raise ConfigError(problems)
    return config


def dump_yaml(config: BotConfig) -> str:
    data = config.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save(config: BotConfig, path: Path) -> None:
    """Write YAML that loads back to an equal model. Holds no secret by construction."""
    write_atomic(path, dump_yaml(config))


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
