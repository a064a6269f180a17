"""The backtest's report: RiskGuard's refusals by rule, the figures, the files it writes."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest import command
from bot.backtest import report as reporting
from tests.backtest.data_files import config

START = 1704152400000  # 2024-01-01 23:40 UTC
STEP = 300_000


def _args(data: Path | None, out: Path, start: str | None = None, end: str | None = None):
    return argparse.Namespace(
        data=data, start=start, end=end, symbols=None, out=out, tick_order="ohlc", no_plot=True
    )


def _losing_day(folder: Path) -> Path:
    """A stop-loss before midnight UTC, two closes refused for the day's loss, a new day."""
    bars = [
        ("40000", "40000", "40000", "40000"),  # 23:45 close: long @ 40000, SL 39600
        ("40000", "40100", "39500", "39700"),  # SL fills: a loss; 23:50 close: refused
        ("39700", "39750", "39600", "39700"),  # 23:55 close: refused
        ("39700", "39700", "39700", "39700"),  # 00:00 close, a new UTC day: long again
    ]
    folder.mkdir(parents=True)
    lines = [
        f"{START + i * STEP},{o},{h},{low},{c},1.000,{START + (i + 1) * STEP - 1},0,1,0,0,0"
        for i, (o, h, low, c) in enumerate(bars)
    ]
    (folder / "BTCUSDC-5m-2024-01.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_daily_loss_refusals_are_counted_by_rule_in_report_and_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _losing_day(tmp_path / "data")
    limits = config(risk={"daily_loss_limit": Decimal("0.01"), "max_sl_streak": 10})

    assert command.cmd_backtest(limits, _args(folder, tmp_path / "out")) == 0

    figures = json.loads((tmp_path / "out" / "report.json").read_text())["figures"]
    assert figures["entries_refused_by_risk"] == {"daily_loss": 2}
    assert figures["refusal_days"] == {"daily_loss": ["2024-01-01"]}
    console = capsys.readouterr().out
    assert "refused by RiskGuard: daily_loss 2" in console


def test_max_drawdown_is_the_largest_fall_from_a_peak_with_its_start_end_and_duration() -> None:
    hour = 3_600_000
    equity = [
        (0, Decimal(1000)),
        (1 * hour, Decimal(1100)),  # peak
        (2 * hour, Decimal(1050)),
        (3 * hour, Decimal(990)),  # trough: -110 from 1100, the largest
        (4 * hour, Decimal(1200)),
        (5 * hour, Decimal(1120)),  # -80: smaller in USDC
    ]
    drawdown = reporting.max_drawdown(equity)
    assert (drawdown.amount, drawdown.start_ms, drawdown.end_ms) == (Decimal(110), hour, 3 * hour)
    assert drawdown.pct == pytest.approx(10.0)


def test_sharpe_and_sortino_use_daily_returns_from_the_start_balance_annualised_by_sqrt_365() -> (
    None
):
    day = 86_400_000
    equity = [
        (day - 1, Decimal(1010)),
        (2 * day - 1, Decimal("999.99")),
        (3 * day - 1, Decimal(1020)),
    ]
    returns = reporting.daily_returns(Decimal(1000), equity)
    assert returns == pytest.approx([0.01, 999.99 / 1010 - 1, 1020 / 999.99 - 1])
    sharpe, sortino = reporting._sharpe_sortino(returns)
    mean = sum(returns) / 3
    std = (sum((r - mean) ** 2 for r in returns) / 2) ** 0.5
    downside = (min(returns) ** 2 / 3) ** 0.5
    assert sharpe == pytest.approx(mean / std * 365**0.5, abs=1e-4)
    assert sortino == pytest.approx(mean / downside * 365**0.5, abs=1e-4)


def test_no_progress_line_is_written_when_stdout_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _losing_day(tmp_path / "data")

    command.cmd_backtest(config(), _args(folder, tmp_path / "out"))

    console = capsys.readouterr().out
    assert "\r" not in console and "backtest 0 %" not in console
    assert console.startswith("backtest 2024-01-01 23:40")
