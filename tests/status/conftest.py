"""The operator's read commands run in this process against the ``sim`` fixture, as the
bot's CLI (``bot.cli.main``), with the account changed by another client (the SDK)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot import cli
from bot.sim import Simulator

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def config_file(sim: Simulator, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    config = {
        "schema_version": 2,
        "exchange": {"venue": "sim", "rest_url": sim.rest_url, "ws_url": sim.ws_url},
        "symbols": ["BTCUSDC"],
        "execution": {"leverage": 5, "margin_type": "ISOLATED"},
        "paths": {"state_dir": str(tmp_path / "var")},
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def run(config_file: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """``main.py ARGS --config FILE`` in this process: (exit code, stdout)."""

    def run(*args: str) -> tuple[int, str]:
        code = cli.main([*args, "--config", str(config_file)])
        return code, capsys.readouterr().out

    return run


@pytest.fixture
def run_json(run: Run) -> Callable[..., dict]:
    def run_json(*args: str) -> dict:
        code, out = run(*args, "--json")
        assert code == 0, out
        return json.loads(out)

    return run_json
