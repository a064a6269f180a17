"""Funding and the mark price from the data files, as the backtest books them."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.strategy.base import Candle, Signal
from tests.backtest.data_files import STEP, T0, config, kline_lines, run

H8 = 8 * 3_600_000
FLAT = ("40000", "40000", "40000", "40000")


class AlwaysShort:
    """Signals SHORT on every closed candle (1 % stop, 2 % take profit)."""

    def evaluate(self, symbol: str, candles: Sequence[Candle], view: Any) -> Signal | None:
        last = candles[-1]
        return Signal(
            symbol=symbol,
            side="SHORT",
            stop_distance=last.close / 100,
            take_profit_distance=last.close / 50,
            reason="test strategy: always short",
            candle_open_ms=last.open_time_ms,
        )


def _trades(out: Path) -> list[dict[str, str]]:
    with (out / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("strategy", "rate", "paid"),
    [
        ("tests.e2e.strategies:AlwaysLong", "0.0001", "-0.10025"),  # longs pay a positive rate
        ("tests.backtest.test_data_market:AlwaysShort", "0.0001", "0.10025"),  # shorts receive
        ("tests.e2e.strategies:AlwaysLong", "-0.0002", "0.2005"),  # longs receive a negative one
    ],
)
def test_a_position_held_across_a_funding_time_books_funding_on_its_notional_at_the_mark(
    tmp_path: Path, strategy: str, rate: str, paid: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    start = T0 + H8 - 2 * STEP  # 07:50: enters at 07:55 @ 40000 (0.025 BTC), holds past 08:00
    bars = [FLAT] * 4 + [("40000", "40900", "40000", "40800")]  # then closed by its SL or TP
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines(bars, start=start))
    (folder / "BTCUSDC-fundingRate-2024-01.csv").write_text(  # Binance stamps a few ms late
        f"calc_time,funding_interval_hours,last_funding_rate\n{T0 + H8 + 3},8,{rate}\n"
    )
    (folder / "BTCUSDC-markPrice-8h-2024-01.csv").write_text(  # the reduced sample layout
        "open_time,open,high,low,close\n"
        f"{T0},39900,40200,39800,40100\n"
        f"{T0 + H8},40100,40150,40050,40120\n"  # mark 40100 at 08:00, last 40000
    )
    cfg = config(strategy={"name": strategy, "interval": "5m", "candles": 10, "params": {}})

    report = run(cfg, folder, tmp_path / "out")

    expected = Decimal(paid)  # -qty × mark × rate, mark 40100 (not the last price 40000)
    assert Decimal(report["figures"]["funding"]) == expected
    assert Decimal(_trades(tmp_path / "out")[0]["funding"]) == expected
    with sqlite3.connect(tmp_path / "out" / "state" / "state.db") as db:
        rows = db.execute("SELECT day, funding FROM day_pnl").fetchall()
    assert [(day, Decimal(f)) for day, f in rows] == [("2024-01-01", expected)]
    assert "mark-price klines" in report["market_model"]["mark_price"]


def test_without_mark_price_klines_the_report_says_the_mark_is_the_last_price(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines([FLAT] * 2))

    report = run(config(), folder, tmp_path / "out")

    assert report["market_model"]["mark_price"] == "the last price (no mark-price klines given)"


def test_a_mark_price_stop_fills_where_the_mark_crosses_it_and_at_the_open_when_gapped(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    bars = [
        FLAT,  # close: long 0.025 @ 40000, SL 39600 on the mark
        ("40000", "40000", "39000", "39200"),  # mark 100 above: crosses 39600 at last 39500
        ("38000", "38000", "38000", "38000"),  # re-entered @ 39200 (SL 38808): gapped through
    ]
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines(bars))
    marks = [
        (str(int(o) + 100), str(int(h) + 100), str(int(lo) + 100), str(int(c) + 100))
        for o, h, lo, c in bars
    ]
    (folder / "BTCUSDC-markPrice-5m-2024-01.csv").write_text(kline_lines(marks))  # 12 columns
    cfg = config(execution={"working_type": "MARK_PRICE"})

    run(cfg, folder, tmp_path / "out")

    first, second = _trades(tmp_path / "out")[:2]
    assert (first["exit_price"], first["exit_reason"]) == ("39500.00", "SL")
    assert (second["entry_price"], second["exit_price"], second["exit_reason"]) == (
        "39200.00",
        "38000.00",
        "SL",
    )
