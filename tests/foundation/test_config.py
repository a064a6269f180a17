"""Unified Config: sources, validation messages, save/load and migration."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import BotConfig, ConfigError, Secrets, load_config, migrate_file, save

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_defaults_run_on_the_simulator_without_a_file(tmp_path):
    config = load_config(None, environ={})
    assert config.exchange.venue == "sim"
    assert config.symbols == ("BTCUSDC",)


def test_example_config_is_valid_and_keeps_the_contract_keys():
    config = load_config(ROOT / "config.yaml.example", environ={})
    assert config.execution.working_type == "MARK_PRICE"
    assert config.execution.tp_order_style == "TAKE_PROFIT_MARKET"
    assert config.risk.daily_loss_limit == Decimal(50)
    assert config.paths.state_dir == Path("./var")


def test_env_overrides_yaml_and_cli_overrides_env(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("risk: {daily_loss_limit: 40}\nsymbols: [BTCUSDC]\n")
    environ = {"BOT__RISK__DAILY_LOSS_LIMIT": "30", "BOT__SYMBOLS": "[BTCUSDC, ETHUSDC]"}
    config = load_config(path, environ=environ)
    assert config.risk.daily_loss_limit == Decimal(30)
    assert config.symbols == ("BTCUSDC", "ETHUSDC")
    config = load_config(path, environ=environ, overrides={"risk": {"daily_loss_limit": 20}})
    assert config.risk.daily_loss_limit == Decimal(20)


def test_config_is_immutable():
    config = BotConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.risk.max_sl_streak = 9


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("risk: {dayly_loss_limit: 5}", "risk.dayly_loss_limit"),
        ("risk: {daily_loss_limit: -5}", "risk.daily_loss_limit = -5"),
        ("execution: {working_type: LAST}", "'MARK_PRICE' or 'LAST_PRICE'"),
        ("execution: {leverage: lots}", "execution.leverage = 'lots'"),
        ("symbols: [BTCUSDT]", "only USDC-margined symbols"),
        ("exchange: {venue: live}", "allow_live"),
        ("exchange: {rest_url: 127.0.0.1:8080}", "exchange.rest_url = '127.0.0.1:8080'"),
        ("exchange: {ws_url: 'http://x'}", "must start with ws:// or wss://"),
    ],
)
def test_bad_config_names_path_value_and_what_is_allowed(tmp_path, yaml_text, expected):
    path = tmp_path / "config.yaml"
    path.write_text(f"schema_version: 2\n{yaml_text}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(expected in problem for problem in caught.value.problems)


def test_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "symbols: [BTCUSDT]\nrisk: {daily_loss_limit: -1, max_open_positions: 0}\n"
    )
    result = run_main("config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(problems) == 3
    assert any(line.strip().startswith("risk.daily_loss_limit = -1") for line in problems)


def test_unreadable_yaml_exits_2(tmp_path):
    (tmp_path / "config.yaml").write_text("risk: {daily_loss_limit: [\n")
    result = run_main("config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "unreadable YAML" in result.stderr and "Traceback" not in result.stderr


def test_save_round_trips_and_holds_no_secret(tmp_path, monkeypatch):
    config = load_config(
        None, environ={}, overrides={"symbols": ["ETHUSDC"], "risk": {"risk_per_trade_pct": "0.3"}}
    )
    path = tmp_path / "saved.yaml"
    save(config, path)
    assert load_config(path, environ={}) == config
    monkeypatch.setenv("BINANCE_API_SECRET", "s3cr3t-value-xyz")
    assert Secrets.load(tmp_path / ".env").api_secret.get_secret_value() == "s3cr3t-value-xyz"
    save(config, path)
    assert "s3cr3t" not in path.read_text()


def test_secrets_come_from_dotenv_and_never_print(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("BINANCE_API_KEY=key-from-dotenv\nBINANCE_API_SECRET=secret-from-dotenv\n")
    secrets = Secrets.load(env_file, environ={})
    assert secrets.api_key.get_secret_value() == "key-from-dotenv"
    assert "secret-from-dotenv" not in repr(secrets)


V1 = """\
exchange: {testnet: true, recv_window: 6000}
symbol: ETHUSDC
execution: {working_type: LAST, tp_style: TAKE_PROFIT, leverage: 3}
risk: {daily_loss_limit: 25}
"""


def test_v1_file_migrates_to_v2_keeping_a_backup(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(V1)
    version, backup = migrate_file(path)
    assert version == 1 and backup.read_text() == V1
    config = load_config(path, environ={})
    assert config.schema_version == 2
    assert config.exchange.venue == "testnet" and config.exchange.recv_window_ms == 6000
    assert config.symbols == ("ETHUSDC",)
    assert config.execution.working_type == "LAST_PRICE"
    assert config.execution.tp_order_style == "TAKE_PROFIT"


def test_v1_file_loads_without_rewriting(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(V1)
    assert load_config(path, environ={}).execution.leverage == 3
    assert path.read_text() == V1


def test_config_migrate_command_rewrites_in_place(tmp_path):
    (tmp_path / "config.yaml").write_text(V1)
    result = run_main("config", "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "schema_version: 2" in (tmp_path / "config.yaml").read_text()
    assert (tmp_path / "config.yaml.bak").read_text() == V1


def test_explicit_config_path_that_does_not_exist_exits_2_naming_it(tmp_path):
    for args in (["config", "check"], ["--once"]):
        result = run_main("--config", "missing.yaml", *args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "missing.yaml" in result.stderr
    assert not (tmp_path / "var").exists()  # nothing ran on the defaults


def test_absent_default_config_file_still_means_defaults(tmp_path):
    result = run_main("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "defaults" in result.stdout


LATER_CRASHES = [
    ("stream: {silence_timeout_s: .inf}", "stream.silence_timeout_s"),
    ("stream: {fallback_interval_s: 1.0e+300}", "stream.fallback_interval_s"),
    ("risk: {sl_streak_cooldown_min: 99999999999999}", "risk.sl_streak_cooldown_min"),
    ("exchange: {exchange_info_ttl_s: 99999999999999}", "exchange.exchange_info_ttl_s"),
    ("logging: {backups: 99999999999999}", "logging.backups"),
    ("execution: {leverage: true}", "execution.leverage"),
    ("exchange: {venue: live, allow_live: 'yes'}", "exchange.allow_live"),
    ("risk: {daily_loss_limit: 10, daily_loss_limit: 1000}", "risk.daily_loss_limit"),
    ("strategy: {name: no_such_strategy}", "strategy.name"),
    ("strategy: {name: 'no_such_module:Thing'}", "strategy.name"),
    ("strategy: {params: {fastest: 3}}", "strategy.params"),
    ("strategy: {params: {fast: 30, slow: 10}}", "strategy.params"),
    ("strategy: {params: {a: " + "[" * 2000 + "]" * 2000 + "}}", "strategy.params.a"),
    ("a: &x {}\nb: *x", "alias"),
]


@pytest.mark.parametrize(("yaml_text", "expected"), LATER_CRASHES)
def test_config_that_would_crash_later_is_refused_with_its_dotted_path(
    tmp_path, yaml_text, expected
):
    path = tmp_path / "config.yaml"
    path.write_text(f"schema_version: 2\n{yaml_text}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("exchange: [testnet]", "exchange"),
        ("execution: sideways", "execution"),
        ("exchange: 5\nexecution: [1, 2]", "execution"),
    ],
)
def test_v1_sections_that_are_not_mappings_are_refused_with_their_path(
    tmp_path, yaml_text, expected
):
    path = tmp_path / "config.yaml"
    path.write_text(f"{yaml_text}\n")  # no schema_version: a v1 file, migrated on load
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(problem.startswith(expected) for problem in caught.value.problems)


@pytest.mark.parametrize("layout", ["file", "under_a_file"])
def test_unusable_state_dir_is_refused_before_anything_runs(tmp_path, layout):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    state_dir = blocker if layout == "file" else blocker / "var"
    path = tmp_path / "config.yaml"
    path.write_text(f"paths: {{state_dir: '{state_dir}'}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(problem.startswith("paths.state_dir") for problem in caught.value.problems)


def test_config_check_and_run_both_refuse_what_would_crash_later(tmp_path):
    (tmp_path / "config.yaml").write_text("stream: {silence_timeout_s: .inf}\n")
    for args in (["config", "check"], ["--once"]):
        result = run_main(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "stream.silence_timeout_s" in result.stderr and "Traceback" not in result.stderr


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 12):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    (tmp_path / "config.yaml").write_text(
        "strategy:\n  params:\n" + "".join(f"    {line}\n" for line in lines)
    )
    result = run_main("config", "check", cwd=tmp_path, timeout=20)
    assert result.returncode == 2, result.stderr
    assert "alias" in result.stderr
