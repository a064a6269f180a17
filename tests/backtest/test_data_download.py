"""``main.py data download`` against a local HTTP server in data.binance.vision's layout."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.backtest.download import download
from tests.backtest.data_files import STEP, kline_lines, write_zip

KLINES = "data/futures/um/monthly/klines/BTCUSDT/5m"
FUNDING = "data/futures/um/monthly/fundingRate/BTCUSDT"
MARKS = "data/futures/um/monthly/markPriceKlines/BTCUSDT/8h"
JAN_END = 1706745600000 - 3 * STEP  # 2024-01-31 23:45 UTC
FEB_1 = 1706745600000
FLAT = ("40000.00", "40000.00", "40000.00", "40000.00")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Not on the test's output."""

    def do_GET(self) -> None:
        """A file with a ``.cut`` beside it is cut off halfway: the connection drops."""
        path = Path(self.translate_path(self.path))
        if not path.with_name(path.name + ".cut").exists():
            super().do_GET()
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on a free port: (root, base URL); stopped and joined."""
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _publish(root: Path, folder: str, name: str, text: str, checksum: str = "good") -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    write_zip(root / folder / name, name.replace(".zip", ".csv"), text, checksum=checksum)


def _publish_two_months(root: Path) -> None:
    _publish(root, KLINES, "BTCUSDT-5m-2024-01.zip", kline_lines([FLAT] * 3, start=JAN_END))
    _publish(root, KLINES, "BTCUSDT-5m-2024-02.zip", kline_lines([FLAT] * 3, start=FEB_1))
    funding = "calc_time,funding_interval_hours,last_funding_rate\n"
    _publish(root, FUNDING, "BTCUSDT-fundingRate-2024-01.zip", funding + "1706688000000,8,0.0001\n")
    _publish(root, FUNDING, "BTCUSDT-fundingRate-2024-02.zip", funding + f"{FEB_1 + 2},8,0.0001\n")
    mark = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
    _publish(
        root,
        MARKS,
        "BTCUSDT-8h-2024-01.zip",
        mark + f"{FEB_1 - 28_800_000},40010,40020,40000,40010,0,{FEB_1 - 1},0,0,0,0,0\n",
    )
    _publish(
        root,
        MARKS,
        "BTCUSDT-8h-2024-02.zip",
        mark + f"{FEB_1},40010,40020,40000,40010,0,{FEB_1 + 28_799_999},0,0,0,0,0\n",
    )


def test_downloaded_months_are_verified_kept_skipped_next_time_and_backtest_runs_on_them(
    tmp_path: Path, site: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, url = site
    _publish_two_months(root)
    dest = tmp_path / "cache"
    argv = [
        "data",
        "download",
        "BTCUSDT",
        "--interval",
        "5m",
        "--from",
        "2024-01",
        "--to",
        "2024-02",
    ]
    argv += ["--mark-price", "8h", "--dest", str(dest), "--base-url", url]

    assert cli.main(argv) == 0

    first = capsys.readouterr().out.splitlines()
    assert len(first) == 6 and all("verified" in line for line in first)
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [
            *(f"BTCUSDT-5m-2024-0{m}.zip" for m in (1, 2)),
            *(f"BTCUSDT-5m-2024-0{m}.zip.CHECKSUM" for m in (1, 2)),
            *(f"BTCUSDT-fundingRate-2024-0{m}.zip" for m in (1, 2)),
            *(f"BTCUSDT-fundingRate-2024-0{m}.zip.CHECKSUM" for m in (1, 2)),
            *(f"BTCUSDT-markPrice-8h-2024-0{m}.zip" for m in (1, 2)),
            *(f"BTCUSDT-markPrice-8h-2024-0{m}.zip.CHECKSUM" for m in (1, 2)),
        ]
    )
    assert (dest / "BTCUSDT-5m-2024-01.zip").read_bytes() == (
        root / KLINES / "BTCUSDT-5m-2024-01.zip"
    ).read_bytes()

    (root / KLINES / "BTCUSDT-5m-2024-01.zip").unlink()  # a second run does not fetch again
    assert cli.main(argv) == 0
    again = capsys.readouterr().out.splitlines()
    assert len(again) == 6 and all("already here" in line for line in again)

    out = tmp_path / "out"
    assert cli.main(["backtest", "--data", str(dest), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["period"] == {"from": "2024-01-31T23:45:00Z", "to": "2024-02-01T00:15:00Z"}
    assert "mark-price klines" in report["market_model"]["mark_price"]
    assert report["market_model"]["data"] == [
        "BTCUSDT candles, funding, mark price replayed as BTCUSDC"
    ]


def test_a_wrong_checksum_and_a_missing_file_keep_nothing_and_exit_non_zero(
    tmp_path: Path, site: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, url = site
    _publish_two_months(root)
    _publish(root, KLINES, "BTCUSDT-5m-2024-02.zip", kline_lines([FLAT]), checksum="bad")
    dest = tmp_path / "cache"
    argv = ["data", "download", "BTCUSDT", "--from", "2024-02", "--to", "2024-03"]

    code = cli.main([*argv, "--dest", str(dest), "--base-url", url])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert any("BTCUSDT-5m-2024-02.zip" in line and "sha256" in line for line in lines)
    assert any("BTCUSDT-5m-2024-03.zip" in line and "404" in line for line in lines)
    assert not any("Traceback" in line for line in lines)
    assert sorted(p.name for p in dest.iterdir()) == [  # only what verified; no partial file
        "BTCUSDT-fundingRate-2024-02.zip",
        "BTCUSDT-fundingRate-2024-02.zip.CHECKSUM",
    ]


def test_the_current_month_comes_from_the_daily_files_up_to_yesterday(
    tmp_path: Path, site: tuple[Path, str]
) -> None:
    root, url = site
    _publish_two_months(root)
    daily = "data/futures/um/daily/klines/BTCUSDT/5m"
    for day in (1, 2):
        start = 1709251200000 + (day - 1) * 86_400_000  # 2024-03-0{day}
        _publish(root, daily, f"BTCUSDT-5m-2024-03-0{day}.zip", kline_lines([FLAT], start=start))
    dest = tmp_path / "cache"
    lines: list[str] = []

    ok = download(
        "BTCUSDT",
        "5m",
        date(2024, 2, 1),
        date(2024, 3, 1),
        dest=dest,
        base_url=url,
        mark_interval=None,
        today=date(2024, 3, 3),
        say=lines.append,
    )

    assert ok
    assert {p.name for p in dest.glob("*.zip")} == {
        "BTCUSDT-5m-2024-02.zip",
        "BTCUSDT-fundingRate-2024-02.zip",
        "BTCUSDT-5m-2024-03-01.zip",
        "BTCUSDT-5m-2024-03-02.zip",
    }
    assert any(
        "funding" in line and "2024-03" in line and "published after the month ends" in line
        for line in lines
    )


def test_a_download_cut_off_halfway_leaves_nothing_behind(
    tmp_path: Path, site: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, url = site
    _publish_two_months(root)
    (root / KLINES / "BTCUSDT-5m-2024-01.zip.cut").touch()
    dest = tmp_path / "cache"
    argv = ["data", "download", "BTCUSDT", "--from", "2024-01", "--to", "2024-01"]

    code = cli.main([*argv, "--dest", str(dest), "--base-url", url])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert any("BTCUSDT-5m-2024-01.zip" in line and "network error" in line for line in lines)
    assert sorted(p.name for p in dest.iterdir()) == [
        "BTCUSDT-fundingRate-2024-01.zip",
        "BTCUSDT-fundingRate-2024-01.zip.CHECKSUM",
    ]


def test_months_out_of_order_are_a_usage_error_and_nothing_is_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "cache"
    argv = ["data", "download", "BTCUSDT", "--from", "2024-03", "--to", "2024-02"]

    code = cli.main([*argv, "--dest", str(dest), "--base-url", "http://127.0.0.1:9"])

    assert code == 2
    assert capsys.readouterr().err.startswith("usage error: --from 2024-03 --to 2024-02")
    assert not dest.exists()
