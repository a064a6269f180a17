"""``python main.py data download``: data.binance.vision's USDⓈ-M files into the folder the
backtest reads (``--data``).

Past months come as monthly zips, the current month (today by the one clock, UTC) as the
daily zips up to yesterday, since a day is published after it ends; funding is published
monthly only. Each zip is kept only after its sha256 matched the ``.CHECKSUM`` published
beside it: it is written to a hidden temp name in the destination and renamed after the
check, so a failed or interrupted download leaves nothing half-written. A file already
present with a matching ``.CHECKSUM`` is not fetched again. Mark-price klines are saved as
``SYMBOL-markPrice-INTERVAL-…``: their published name is the klines', which would collide.
Every reply is untrusted: a checksum that is not a sha256 is refused like a mismatch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import requests

from bot.clock import ExchangeClock
from bot.files import write_atomic
from bot.sim.market import INTERVAL_MS

BASE_URL = "https://data.binance.vision"
DEFAULT_DEST = Path("var") / "data"
TIMEOUT_S = 30
CHUNK_BYTES = 1 << 16
CHECKSUM_BYTES = 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class Remote:
    """One published zip: where it is under the base URL, and the name it is kept as."""

    path: str
    name: str


class Refused(Exception):
    """A file not kept: the one line that says why."""


# published path under data/futures/um/{monthly|daily}/, and the name kept, by kind of file
LAYOUT = {
    "klines": ("klines/{s}/{i}/{s}-{i}-{t}.zip", "{s}-{i}-{t}.zip"),
    "fundingRate": ("fundingRate/{s}/{s}-fundingRate-{t}.zip", "{s}-fundingRate-{t}.zip"),
    "markPriceKlines": ("markPriceKlines/{s}/{i}/{s}-{i}-{t}.zip", "{s}-markPrice-{i}-{t}.zip"),
}
MONTHLY_ONLY = {"fundingRate"}


def plan(
    symbol: str, interval: str, first: date, last: date, today: date, mark: str | None
) -> tuple[list[Remote], list[str]]:
    """The zips for the months ``first``..``last``, and lines about what is not published."""
    kinds = [("klines", interval), ("fundingRate", "")] + (
        [("markPriceKlines", mark)] if mark else []
    )
    remotes, notes = [], []
    month = first.replace(day=1)
    while month <= last:
        if (month.year, month.month) < (today.year, today.month):
            stamps = [("monthly", f"{month:%Y-%m}")]
        else:  # the current month: the days that have ended
            days = range((today - month).days)
            stamps = [("daily", f"{month + timedelta(days=d):%Y-%m-%d}") for d in days]
            notes.append(
                f"{symbol} funding {month:%Y-%m}: published after the month ends; not fetched"
            )
        for period, stamp in stamps:
            for kind, i in kinds:
                if period == "daily" and kind in MONTHLY_ONLY:
                    continue
                path, name = (p.format(s=symbol, i=i, t=stamp) for p in LAYOUT[kind])
                remotes.append(Remote(f"data/futures/um/{period}/{path}", name))
        month = (month + timedelta(days=32)).replace(day=1)
    return remotes, notes


def download(
    symbol: str,
    interval: str,
    first: date,
    last: date,
    *,
    dest: Path,
    base_url: str,
    mark_interval: str | None,
    today: date,
    say: Callable[[str], None],
    progress: Callable[[str], None] | None = None,
) -> bool:
    """Fetch every file of the plan into ``dest``, one line each; True if none failed."""
    remotes, notes = plan(symbol, interval, first, last, today, mark_interval)
    dest.mkdir(parents=True, exist_ok=True)
    ok = True
    with requests.Session() as session:
        for remote in remotes:
            try:
                say(fetch(session, base_url.rstrip("/"), remote, dest, progress))
            except Refused as exc:
                ok = False
                say(f"{remote.name}: {exc}")
            except OSError as exc:  # the destination: full, read-only
                ok = False
                say(f"{remote.name}: cannot write to {dest}: {exc.strerror or exc}")
    for note in notes:
        say(note)
    return ok


def fetch(
    session: requests.Session,
    base_url: str,
    remote: Remote,
    dest: Path,
    progress: Callable[[str], None] | None,
) -> str:
    """One zip, verified then renamed into ``dest``; the line that says so."""
    target = dest / remote.name
    checksum_file = dest / (remote.name + ".CHECKSUM")
    if (
        target.exists()
        and checksum_file.exists()
        and _sha256(target) == _expected(checksum_file.read_text(), checksum_file.name)
    ):
        return f"{remote.name}: already here, sha256 verified"
    url = f"{base_url}/{remote.path}"
    expected = _expected(_head(_get(session, url + ".CHECKSUM")), remote.name + ".CHECKSUM")
    fd, temp_name = tempfile.mkstemp(dir=dest, prefix=f".{remote.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            digest, size = _stream(_get(session, url), handle, remote.name, progress)
        if digest != expected:
            raise Refused(f"sha256 {digest} does not match its CHECKSUM {expected}; not kept")
        write_atomic(checksum_file, f"{expected}  {remote.name}\n")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return f"{remote.name}: {size} bytes, sha256 verified"


def _get(session: requests.Session, url: str) -> requests.Response:
    """The reply, its body not yet read; any status but 200 refused."""
    try:
        response = session.get(url, timeout=TIMEOUT_S, stream=True)
    except requests.RequestException as exc:
        raise Refused(f"network error at {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        response.close()
        raise Refused(f"HTTP {response.status_code} at {url}; not kept")
    return response


def _head(response: requests.Response) -> str:
    """The first bytes of a reply: a ``.CHECKSUM`` is one line, and no more is read."""
    with response:
        try:
            head = next(response.iter_content(CHECKSUM_BYTES), b"")
        except requests.RequestException as exc:
            raise Refused(f"network error while reading: {type(exc).__name__}") from None
    return head.decode("ascii", "replace")


def _stream(
    response: requests.Response,
    handle: BinaryIO,
    name: str,
    progress: Callable[[str], None] | None,
) -> tuple[str, int]:
    """Write the body to ``handle``; its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    total = response.headers.get("Content-Length", "?")
    with response:
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(f"{name}: {size}/{total} bytes")
        except requests.RequestException as exc:
            raise Refused(f"network error while reading: {type(exc).__name__}") from None
    return digest.hexdigest(), size


def _expected(text: str, name: str) -> str:
    """The sha256 a ``.CHECKSUM`` states (``<hex>  <file name>``)."""
    words = text.split()
    if not words or not SHA256.match(words[0].lower()):
        raise Refused(f"{name} does not state a sha256; not kept")
    return words[0].lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the command ---------------------------------------------------------------------------
def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC).date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {text!r}") from None


def _symbol(text: str) -> str:
    if not SYMBOL.match(text.upper()):
        raise argparse.ArgumentTypeError(f"not a symbol: {text!r}")
    return text.upper()


def _interval(text: str) -> str:
    if text not in INTERVAL_MS:
        raise argparse.ArgumentTypeError(f"not an interval: {text!r}")
    return text


def add_parser(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "data", parents=common, help="download Binance USDⓈ-M data files for the backtest"
    )
    parser.add_argument("action", choices=["download"])
    parser.add_argument("symbol", type=_symbol, help="e.g. BTCUSDT (replayed as BTCUSDC)")
    parser.add_argument("--interval", type=_interval, default="5m")
    parser.add_argument("--from", dest="first", type=_month, required=True, metavar="YYYY-MM")
    parser.add_argument(
        "--to",
        dest="last",
        type=_month,
        metavar="YYYY-MM",
        help="last month (default: the current one)",
    )
    parser.add_argument(
        "--mark-price",
        dest="mark",
        type=_interval,
        metavar="INTERVAL",
        help="also the mark-price klines of this interval (e.g. 8h)",
    )
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="default var/data")
    parser.add_argument("--base-url", default=BASE_URL)


def cmd_download(args: argparse.Namespace) -> int:
    """Run ``data download``: 0 if every file was kept, 1 if one failed, 2 on bad months."""
    today = ExchangeClock(lambda: 0).today()  # no exchange here: the local clock, UTC
    last = args.last or today.replace(day=1)
    if not args.first <= last <= today:
        print(
            f"usage error: --from {args.first:%Y-%m} --to {last:%Y-%m}: not an order of "
            f"months up to the current one ({today:%Y-%m})",
            file=sys.stderr,
        )
        return 2
    tty = sys.stdout.isatty()

    def say(line: str) -> None:
        print(("\r\x1b[K" if tty else "") + line, flush=True)

    def progress(line: str) -> None:
        print("\r\x1b[K" + line, end="", flush=True)

    kept = download(
        args.symbol,
        args.interval,
        args.first,
        last,
        dest=args.dest,
        base_url=args.base_url,
        mark_interval=args.mark,
        today=today,
        say=say,
        progress=progress if tty else None,
    )
    return 0 if kept else 1
