"""The bot's time in a backtest is the engine's: no server-time round trip per cycle."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.backtest import run as backtest_run
from bot.backtest.command import backtest
from bot.backtest.engine import ReplayEngine
from tests.backtest.test_backtest import _config, _write_klines


def test_a_backtest_asks_the_server_time_once_not_at_every_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: list[ReplayEngine] = []

    class Recorded(ReplayEngine):
        def start(self) -> None:
            engines.append(self)
            super().start()

    monkeypatch.setattr(backtest_run, "ReplayEngine", Recorded)
    _write_klines(tmp_path / "data", [("40000", "40050", "39950", "40000")] * 12)
    args = argparse.Namespace(
        data=tmp_path / "data",
        start=None,
        end=None,
        symbols=None,
        out=tmp_path / "out",
        tick_order="ohlc",
    )

    backtest(_config(), args)

    paths = [r.path for r in engines[0].request_log]
    assert paths.count("/fapi/v1/klines") == 12  # a decision at each of the 12 closes
    assert paths.count("/fapi/v1/time") == 1  # at start only: the bot's clock is the engine's
