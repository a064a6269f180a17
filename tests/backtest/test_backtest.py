"""The backtest on tiny hand-made candle files: trades and PnL computed by hand."""

from __future__ import annotations

import argparse
import csv
from decimal import Decimal
from pathlib import Path

from bot import audit_anchor
from bot.backtest.command import backtest
from tests.backtest.data_files import config

T0 = 1704067200000  # 2024-01-01 00:00 UTC
STEP = 300_000


def _write_klines(folder: Path, bars: list[tuple[str, str, str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (o, h, low, c) in enumerate(bars):
        t = T0 + i * STEP
        lines.append(f"{t},{o},{h},{low},{c},1.000,{t + STEP - 1},0,1,0,0,0")
    (folder / "BTCUSDC-5m-2024-01.csv").write_text("\n".join(lines) + "\n")  # no header


def _run(data: Path, out: Path) -> tuple[dict, str]:
    args = argparse.Namespace(
        data=data, start=None, end=None, symbols=None, out=out, tick_order="ohlc"
    )
    return backtest(config(), args)


def _trades(out: Path) -> list[dict[str, str]]:
    with (out / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_stop_inside_a_bar_fills_at_its_trigger_and_a_gap_at_the_open(tmp_path: Path) -> None:
    _write_klines(
        tmp_path / "data",
        [
            ("40000", "40000", "40000", "40000"),  # close: long 0.025 @ 40000, SL 39600
            (
                "40000",
                "40100",
                "39500",
                "39700",
            ),  # SL crossed inside: 39600; close: long @ 39700, SL 39303
            ("39000", "39100", "38900", "39000"),  # gapped through 39303: fills at the open 39000
        ],
    )
    report, _ = _run(tmp_path / "data", tmp_path / "out")
    first, second = _trades(tmp_path / "out")
    assert (first["entry_price"], first["exit_price"], first["exit_reason"]) == (
        "40000.00",
        "39600.00",
        "SL",
    )
    assert Decimal(first["qty"]) == Decimal("0.025")  # max_notional_per_symbol 1000 caps the size
    assert Decimal(first["price_pnl"]) == Decimal("-10")  # (39600 - 40000) × 0.025
    assert Decimal(first["fees"]) == Decimal("0.796")  # taker 0.04 % of 1000 + of 990
    assert (second["entry_price"], second["exit_price"]) == ("39700.00", "39000.00")
    assert Decimal(second["price_pnl"]) == Decimal("-17.5")  # (39000 - 39700) × 0.025
    assert Decimal(second["fees"]) == Decimal("0.787")  # 0.04 % of 992.5 + of 975
    assert report["figures"]["exits_by_reason"] == {
        "SL": 2,
        "TP": 0,
        "liquidation": 0,
        "flatten": 0,
    }


def test_two_runs_give_byte_identical_reports_and_the_journal_verifies(tmp_path: Path) -> None:
    bars = [("40000", "40050", "39950", "40000")] * 6 + [("40000", "40900", "40000", "40800")]
    _write_klines(tmp_path / "data", bars)
    _, first = _run(tmp_path / "data", tmp_path / "one")
    _, second = _run(tmp_path / "data", tmp_path / "two")
    assert first == second
    assert (tmp_path / "one" / "report.json").read_bytes() == (
        tmp_path / "two" / "report.json"
    ).read_bytes()
    result = audit_anchor.check_journal(tmp_path / "one" / "state" / "audit", None, None)
    assert result.ok and result.records > 0


def test_the_daily_loss_limit_blocks_entries_in_simulated_time_until_00_00_utc(
    tmp_path: Path,
) -> None:
    start = T0 + 23 * 3_600_000 + 40 * 60_000  # 2024-01-01 23:40 UTC
    bars = [
        ("40000", "40000", "40000", "40000"),  # close: long @ 40000, SL 39600
        ("40000", "40100", "39500", "39700"),  # SL: -10.8 with fees; close: long @ 39700
        ("39700", "39750", "39200", "39300"),  # SL 39303: -10.7; today -21.5: refused at 23:55
        ("39300", "39300", "39300", "39300"),  # closes 00:00 Jan 2: a new UTC day, enters
        ("39300", "39300", "38800", "38800"),  # its stop (38907) fills: the trade is complete
    ]
    folder = tmp_path / "data"
    folder.mkdir()
    lines = [
        f"{start + i * STEP},{o},{h},{low},{c},1.000,{start + (i + 1) * STEP - 1},0,1,0,0,0"
        for i, (o, h, low, c) in enumerate(bars)
    ]
    (folder / "BTCUSDC-5m-2024-01.csv").write_text("\n".join(lines) + "\n")
    args = argparse.Namespace(
        data=folder, start=None, end=None, symbols=None, out=tmp_path / "out", tick_order="ohlc"
    )

    report, _ = backtest(config(risk={"daily_loss_limit": Decimal(20)}), args)

    entries = [t["entry_time"] for t in _trades(tmp_path / "out")]
    assert entries == ["2024-01-01T23:45:00Z", "2024-01-01T23:50:00Z", "2024-01-02T00:00:00Z"]
    # the third stop in a row then starts the SL-streak cooldown (3 by default), also in
    # simulated time: the last candle's close is refused for that reason
    assert report["figures"]["entries_refused_by_risk"] == {
        "daily_loss": 1,
        "sl_streak_cooldown": 1,
    }
