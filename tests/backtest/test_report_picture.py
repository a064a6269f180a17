"""``equity.png``: drawn by the backtest command only, and matplotlib imported by nothing else."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bot.backtest.command import backtest
from bot.cli import build_parser
from tests.backtest.data_files import config
from tests.backtest.test_report import START, STEP

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    bars = [("40000", "40050", "39950", "40000")] * 5 + [("40000", "40900", "40000", "40800")]
    lines = [
        f"{START + i * STEP},{o},{h},{low},{c},1.000,{START + (i + 1) * STEP - 1},0,1,0,0,0"
        for i, (o, h, low, c) in enumerate(bars)
    ]
    (folder / "BTCUSDC-5m-2024-01.csv").write_text("\n".join(lines) + "\n")
    return folder


def _args(*argv: str) -> argparse.Namespace:
    """The command's arguments as the CLI parses them."""
    return build_parser().parse_args(["backtest", *argv])


def test_the_backtest_draws_its_equity_curve_as_a_png_unless_told_not_to(tmp_path: Path) -> None:
    data = str(_data(tmp_path / "data"))

    backtest(config(), _args("--data", data, "--out", str(tmp_path / "drawn")))
    backtest(config(), _args("--data", data, "--out", str(tmp_path / "plain"), "--no-plot"))

    assert (tmp_path / "drawn" / "equity.png").read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "plain" / "equity.png").exists()
    assert (tmp_path / "plain" / "report.json").exists()


def test_the_bot_and_its_commands_do_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.cli, bot.app, bot.service, bot.backtest.command\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
