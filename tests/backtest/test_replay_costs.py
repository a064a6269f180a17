"""What a replay does not spend: a server-time round trip per cycle, a disk fsync per record."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import audit_anchor
from bot.backtest import run as backtest_run
from bot.backtest.engine import ReplayEngine
from tests.backtest.test_backtest import _run, _write_klines


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
    _run(tmp_path / "data", tmp_path / "out")

    paths = [r.path for r in engines[0].request_log]
    assert paths.count("/fapi/v1/klines") == 12  # a decision at each of the 12 closes
    assert paths.count("/fapi/v1/time") == 1  # at start only: the bot's clock is the engine's


@pytest.mark.parametrize("memory", [True, False])
def test_the_state_of_a_run_ends_in_out_state_with_a_journal_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory: bool
) -> None:
    if not memory:  # an OS without /dev/shm: the state is written in place
        monkeypatch.setattr(backtest_run, "MEMORY_DIR", tmp_path / "no-such-dir")
    _write_klines(tmp_path / "data", [("40000", "40050", "39950", "40000")] * 3)
    _run(tmp_path / "data", tmp_path / "out")

    state = tmp_path / "out" / "state"
    assert (state / "state.db").is_file() and (state / "logs" / "bot.log").is_file()
    result = audit_anchor.check_journal(state / "audit", None, None)
    assert result.ok and result.records > 0
