"""End-to-end harness: ``python main.py ...`` as a subprocess against a simulator.

The simulator runs in the test process (its own HTTP and websocket threads), so the
bot in the subprocess talks to it over loopback exactly as it would to Binance,
and the test can move prices, seed income and read the request log directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.sim import Simulator

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
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("BINANCE_API_KEY", None)
        env.pop("BINANCE_API_SECRET", None)
        return subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def audit_records(self, *, dry_run: bool = False) -> list[dict]:
        directory = self.state_dir / ("dry-run" if dry_run else "") / "audit"
        records = []
        for path in sorted(directory.glob("audit-*.jsonl")):
            records.extend(json.loads(line) for line in path.read_text().splitlines())
        return records


@pytest.fixture
def bot(tmp_path):
    with Simulator() as sim:
        runner = BotRunner(sim, tmp_path, tmp_path / "var")
        runner.configure()
        yield runner
