"""Every data.binance.vision format the backtest reads, on tiny hand-made files."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from bot import cli
from bot.backtest import data
from bot.backtest.run import SAMPLE_DIR, load_market
from tests.backtest.data_files import (
    KLINE_HEADER,
    STEP,
    T0,
    config,
    kline_lines,
    run,
    write_zip,
)

BARS = [
    ("42314.00", "42437.20", "42289.60", "42437.10"),
    ("42437.20", "42474.10", "42420.50", "42446.80"),
]


def test_klines_read_the_same_with_a_header_without_one_and_in_microseconds(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "BTCUSDT-5m-2024-01.csv"
    plain.write_text(kline_lines(BARS))
    headed = tmp_path / "headed.csv"
    headed.write_text(KLINE_HEADER + "\n" + kline_lines(BARS))
    micro = tmp_path / "micro.csv"
    micro.write_text(kline_lines(BARS, us=True))

    bars = data.read_klines(plain)

    assert [b.open_ms for b in bars] == [T0, T0 + STEP]
    assert bars[0].close == Decimal("42437.10")
    assert data.read_klines(headed) == bars
    assert data.read_klines(micro) == bars


def test_a_zip_is_read_as_published_with_or_without_its_checksum(tmp_path: Path) -> None:
    checked = write_zip(
        tmp_path / "BTCUSDT-5m-2024-01.zip", "BTCUSDT-5m-2024-01.csv", kline_lines(BARS)
    )
    unchecked = write_zip(
        tmp_path / "other.zip", "BTCUSDT-5m-2024-01.csv", kline_lines(BARS), checksum=None
    )

    assert [b.open_ms for b in data.read_klines(checked)] == [T0, T0 + STEP]
    assert data.read_klines(unchecked) == data.read_klines(checked)


def test_a_zip_whose_checksum_does_not_match_is_refused_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_zip(
        folder / "BTCUSDC-5m-2024-01.zip",
        "BTCUSDC-5m-2024-01.csv",
        kline_lines(BARS),
        checksum="bad",
    )

    code = cli.main(["backtest", "--data", str(folder), "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "sha256" in err and "BTCUSDC-5m-2024-01.zip" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_mark_price_klines_read_in_the_official_and_the_reduced_layout(tmp_path: Path) -> None:
    official = tmp_path / "BTCUSDT-8h-2024-01.csv"  # 12 columns, volumes 0, no header
    official.write_text(
        f"{T0},42313.9,42809.30826181,42210.1,42522.57785816,0,{T0 + 28_800_000 - 1},0,0,0,0,0\n"
    )
    reduced = tmp_path / "BTCUSDT-markPrice-8h-2024-01-to-04.csv"
    reduced.write_text(
        f"open_time,open,high,low,close\n{T0},42313.9,42809.30826181,42210.1,42522.57785816\n"
    )

    assert data.read_klines(reduced) == data.read_klines(official)
    assert data.read_klines(reduced)[0].close == Decimal("42522.57785816")


def test_a_gap_in_the_klines_is_reported_in_the_console_and_report_json_not_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    flat = ("40000", "40000", "40000", "40000")
    text = kline_lines([flat] * 3) + kline_lines([flat] * 2, start=T0 + 5 * STEP)  # 2 missing
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(text)
    out = tmp_path / "out"

    code = cli.main(["backtest", "--data", str(folder), "--out", str(out)])

    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["market_model"]["gaps"] == [
        {
            "symbol": "BTCUSDC",
            "from": "2024-01-01T00:15:00Z",
            "to": "2024-01-01T00:25:00Z",
            "missing_bars": 2,
        }
    ]
    console = capsys.readouterr().out
    assert "gap: BTCUSDC 2024-01-01T00:15:00Z → 2024-01-01T00:25:00Z, 2 bars missing" in console


def test_bars_off_the_interval_grid_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines(BARS, start=T0 + 60_000))

    with pytest.raises(data.DataError, match="not on the 5m grid"):
        run(config(), folder, tmp_path / "out")


def test_the_default_data_is_the_bundled_four_month_sample_replayed_as_btcusdc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"

    code = cli.main(["backtest", "--from", "2024-04-30", "--to", "2024-04-30", "--out", str(out)])

    assert code == 0
    assert SAMPLE_DIR.name == "sample" and (SAMPLE_DIR / "MANIFEST.md").exists()
    header = capsys.readouterr().out.splitlines()[0]
    assert "BTCUSDT" in header and "replayed as BTCUSDC" in header
    report = json.loads((out / "report.json").read_text())
    assert report["period"] == {"from": "2024-04-30T00:00:00Z", "to": "2024-05-01T00:00:00Z"}
    files = report["data_files"]
    assert files["BTCUSDT-5m-2024-04.csv"] == (
        "1b40db14a84c126512cc59e94f18da1881c63e1eae410c3170d57bedc7eca2be"
    )
    assert "BTCUSDT-markPrice-8h-2024-01-to-04.csv" in files
    assert "mark-price klines" in report["market_model"]["mark_price"]


def test_funding_times_without_a_rate_in_the_file_are_stated_not_invented(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    flat = ("40000", "40000", "40000", "40000")
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines([flat] * 2, start=T0 + 28_500_000))
    (folder / "BTCUSDC-fundingRate-2024-01.csv").write_text(f"{T0},8,0.0001\n")  # 00:00 only

    market = load_market(folder, ("BTCUSDC",), None, None)

    assert market.notes == [
        "BTCUSDC: no funding rate for 1 of 1 funding times (first 2024-01-01T08:00:00Z): "
        "no funding applied there"
    ]


def test_a_funding_file_with_another_interval_than_8h_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines(BARS))
    (folder / "BTCUSDC-fundingRate-2024-01.csv").write_text(
        f"calc_time,funding_interval_hours,last_funding_rate\n{T0},4,0.0001\n"
    )

    with pytest.raises(data.DataError, match="a 4h funding interval"):
        load_market(folder, ("BTCUSDC",), None, None)


def _backtest_error(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = cli.main(["backtest", "--data", str(folder), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "body",
    [b"", b"PK\x03\x04 not a zip", "zip of bytes that are not text"],
    ids=["empty", "corrupt", "not-text"],
)
def test_an_unreadable_zip_is_a_data_error_naming_the_file_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes | str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "BTCUSDC-5m-2024-01.zip"
    if isinstance(body, str):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("BTCUSDC-5m-2024-01.csv", b"\xff\xfe\x00 binary")
    else:
        path.write_bytes(body)

    code, err = _backtest_error(folder, tmp_path, capsys)

    assert code == 2
    assert err.count("\n") == 1 and "BTCUSDC-5m-2024-01.zip" in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["", KLINE_HEADER + "\n"], ids=["empty", "header-only"])
def test_a_kline_file_without_rows_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "BTCUSDC-5m-2024-01.csv").write_text(kline_lines(BARS))
    (folder / "BTCUSDC-5m-2024-02.csv").write_text(text)

    code, err = _backtest_error(folder, tmp_path, capsys)

    assert code == 2
    assert err.count("\n") == 1 and "BTCUSDC-5m-2024-02.csv" in err and "no rows" in err


def test_a_truncated_last_kline_row_is_refused_not_read_with_volume_zero(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDC-5m-2024-01.csv"
    whole = kline_lines(BARS)
    path.write_text(whole[: whole.rindex(",1.000,")] + "\n")  # cut after the last close

    with pytest.raises(data.DataError, match="row 2 has 5 columns, row 1 has 12"):
        data.read_klines(path)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf"])
def test_a_price_or_rate_that_is_not_a_finite_number_is_refused(tmp_path: Path, value: str) -> None:
    klines = tmp_path / "BTCUSDC-5m-2024-01.csv"
    klines.write_text(kline_lines([("40000", value, "39000", "40000")]))
    funding = tmp_path / "BTCUSDC-fundingRate-2024-01.csv"
    funding.write_text(f"{T0},8,{value}\n")

    with pytest.raises(data.DataError, match="row 1 is not a kline"):
        data.read_klines(klines)
    with pytest.raises(data.DataError, match="row 1 is not a funding rate"):
        data.read_funding(funding)


def test_a_checksum_file_in_another_format_is_named_as_such_not_as_a_mismatch(
    tmp_path: Path,
) -> None:
    path = write_zip(tmp_path / "BTCUSDC-5m-2024-01.zip", "a.csv", kline_lines(BARS))
    checksum = path.with_name(path.name + ".CHECKSUM")
    checksum.write_text(f"SHA256 ({path.name}) = {data.sha256_of(path)}\n")  # BSD style

    with pytest.raises(data.DataError, match=r"\.CHECKSUM does not state a sha256"):
        data.read_klines(path)
