"""Unified Config: sources, validation messages, save/load and migration."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import BotConfig, ConfigError, Secrets, load_config, migrate_file, save

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_run_on_the_simulator_without_a_file(tmp_path):
    config = load_config(tmp_path / "absent.yaml", environ={})
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
