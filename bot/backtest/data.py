"""Binance's public USDⓈ-M data files (data.binance.vision layout), read into typed rows.

Klines have 12 columns and ms timestamps; newer files start with a header row and some
2025+ files stamp in µs: both are detected, never assumed. A ``.zip`` is read as
published (its one CSV inside), checked against its ``.CHECKSUM`` (sha256) when that file
is beside it. Gaps in a series are reported, never filled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SHA256 = re.compile(r"^[0-9a-f]{64}$")  # a .CHECKSUM's first word
US_THRESHOLD = 10**14  # an epoch above this is in µs (ms epochs stay below until year 5138)


class DataError(ValueError):
    """A data file that cannot be trusted: unreadable, a checksum mismatch, a bad row."""


@dataclass(frozen=True)
class Bar:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class FundingRow:
    time_ms: int
    interval_hours: int
    rate: Decimal


@dataclass(frozen=True)
class DataFile:
    path: Path
    sha256: str


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_text(path: Path) -> str:
    """A CSV's text; a zip's single CSV after its ``.CHECKSUM`` (if present) matched.
    A zip or text that cannot be read is a ``DataError`` naming the file, not a traceback."""
    try:
        return _text(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{path.name}: unreadable ({error}); refused") from None


def _text(path: Path) -> str:
    if path.suffix != ".zip":
        return path.read_text()
    checksum = path.with_name(path.name + ".CHECKSUM")
    if checksum.exists():
        words = checksum.read_text(errors="replace").split()
        expected = words[0].lower() if words else ""
        if not SHA256.match(expected):
            raise DataError(f"{checksum.name} does not state a sha256 (<hex>  <name>); refused")
        if sha256_of(path) != expected:
            raise DataError(f"{path.name}: sha256 does not match {checksum.name}; refused")
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".csv")]
        if len(names) != 1:
            raise DataError(f"{path.name}: expected one CSV inside, found {len(names)}")
        return archive.read(names[0]).decode()


def _rows(path: Path) -> list[list[str]]:
    """The data rows, the header dropped. Every row has the first one's columns: a file cut
    short ends in a row with fewer, which would read as a plausible, wrong row."""
    rows = [row for row in csv.reader(io.StringIO(read_text(path))) if row]
    if rows and not rows[0][0].strip().lstrip("-").isdigit():  # the header of newer files
        rows = rows[1:]
    if not rows:
        raise DataError(f"{path.name}: no rows (empty, or a header only); refused")
    for number, row in enumerate(rows, 1):
        if len(row) != len(rows[0]):
            raise DataError(
                f"{path.name}: row {number} has {len(row)} columns, row 1 has {len(rows[0])}"
                " (a truncated file?); refused"
            )
    return rows


def _finite(value: str) -> Decimal:
    """A finite number: ``Decimal`` also reads NaN and Infinity, which no price or rate is."""
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value}")
    return number


def _ms(value: str) -> int:
    stamp = int(value)
    return stamp // 1000 if stamp >= US_THRESHOLD else stamp


def read_klines(path: Path) -> list[Bar]:
    """Kline (or mark-price kline) rows: open time and OHLC(V); volume 0 when absent."""
    bars = []
    for number, row in enumerate(_rows(path), 1):
        try:
            o, h, low, c = (_finite(v) for v in row[1:5])
            bar = Bar(_ms(row[0]), o, h, low, c, _finite(row[5]) if len(row) > 5 else Decimal(0))
        except (IndexError, ValueError, ArithmeticError):
            raise DataError(f"{path.name}: row {number} is not a kline: {row[:6]}") from None
        if not (bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high):
            raise DataError(f"{path.name}: row {number}: OHLC out of order")
        bars.append(bar)
    return bars


def read_funding(path: Path) -> list[FundingRow]:
    """``calc_time,funding_interval_hours,last_funding_rate`` rows."""
    rows = []
    for number, row in enumerate(_rows(path), 1):
        try:
            rows.append(FundingRow(_ms(row[0]), int(row[1]), _finite(row[2])))
        except (IndexError, ValueError, ArithmeticError):
            raise DataError(f"{path.name}: row {number} is not a funding rate: {row}") from None
    return rows


def merge_bars(series: list[list[Bar]]) -> list[Bar]:
    """Files of one symbol joined in time order; a bar present twice is kept once."""
    by_open = {bar.open_ms: bar for bars in series for bar in bars}
    return [by_open[t] for t in sorted(by_open)]


def gaps(bars: list[Bar], step_ms: int) -> list[tuple[int, int]]:
    """(last open before, first open after) of every hole in the series."""
    return [
        (a.open_ms, b.open_ms)
        for a, b in itertools.pairwise(bars)
        if b.open_ms - a.open_ms != step_ms
    ]
