"""End-to-end harness: ``python main.py ...`` as a subprocess against a simulator.

The simulator runs in the test process (its own HTTP and websocket threads), so the
bot in the subprocess talks to it over loopback exactly as it would to Binance,
and the test can move prices, seed income and read the request log directly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.app import App
from bot.config import Secrets, load_config
from bot.runtime import Runtime
from bot.sim import Simulator
from tests.audit_reader import audit_records

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class BotRunner:
    sim: Simulator
    workdir: Path
    state_dir: Path

    def configure(self, **sections) -> None:
        config = {
            "schema_version": 2,
            "exchange": {"venue": "sim", "rest_url": self.sim.rest_url, "ws_url": self.sim.ws_url},
            "symbols": ["BTCUSDC"],
            "paths": {"state_dir": str(self.state_dir)},
            "stream": {"silence_timeout_s": 10},
        }
        for name, value in sections.items():
            if isinstance(value, dict):
                config.setdefault(name, {}).update(value)
            else:
                config[name] = value
        (self.workdir / "config.yaml").write_text(yaml.safe_dump(config))

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """``main.py ARGS`` to its end."""
        process = self.start(*args)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def start(self, *args: str) -> subprocess.Popen:
        """``main.py ARGS`` started, with no API keys in its environment."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("BINANCE_API_KEY", None)
        env.pop("BINANCE_API_SECRET", None)
        return subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=self.workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def audit_records(self, *, dry_run: bool = False) -> list[dict]:
        return audit_records(self.state_dir / ("dry-run" if dry_run else "") / "audit")


@pytest.fixture
def bot(sim: Simulator, tmp_path: Path) -> BotRunner:
    runner = BotRunner(sim, tmp_path, tmp_path / "var")
    runner.configure()
    return runner


@contextmanager
def running_app(
    tmp_path: Path, *, stream: bool = True, **overrides
) -> Iterator[tuple[Simulator, App]]:
    """The App in this process, prepared against its own simulator; shut down after."""
    with Simulator() as sim, app_on(sim, tmp_path, user_stream=stream, **overrides) as (app, _):
        yield sim, app


@contextmanager
def app_on(
    sim: Simulator,
    tmp_path: Path,
    *,
    user_stream: bool = True,
    secrets: Secrets | None = None,
    log_level: str = "INFO",
    **overrides,
) -> Iterator[tuple[App, Runtime]]:
    """The App in this process prepared against ``sim`` (config ``overrides`` by section,
    ``stream`` among them; state in ``tmp_path``), its user stream started if
    ``user_stream``, with its Runtime; shut down after."""
    config = load_config(
        None,
        environ={},
        overrides={
            "exchange": {"rest_url": sim.rest_url, "ws_url": sim.ws_url},
            "paths": {"state_dir": str(tmp_path)},
            **overrides,
        },
    )
    with Runtime(
        config, secrets or Secrets(), dry_run=False, mode="test", log_level=log_level
    ) as runtime:
        app = App(runtime)
        try:
            app.prepare(stream=user_stream)
            yield app, runtime
        finally:
            app.shutdown()
