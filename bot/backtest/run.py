"""``python main.py backtest``: data → engine → the unchanged bot → report.

The bot is built by the composition root (``bot.app.App``) from the config, with its
own state dir under ``--out`` (store, audit journal, logs), on the engine in this
process through the SDK's request path (``sim.transport: in_process``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.app import App
from bot.backtest import data
from bot.backtest.driver import Driver, Trace
from bot.backtest.engine import ReplayEngine
from bot.backtest.feed import CandleFeed, MarkSeries
from bot.config import BotConfig, Secrets
from bot.runtime import Runtime
from bot.sim.account import Fees
from bot.sim.funding import FUNDING_INTERVAL_MS
from bot.sim.market import INTERVAL_MS
from bot.sim.symbols import default_symbols

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"  # MANIFEST.md there
STATE_SUBDIR = "state"
MEMORY_DIR = Path("/dev/shm")  # Linux's RAM-backed tmpfs: an fsync there costs nothing


@dataclass
class Market:
    """The data a run replays, and what it says about itself."""

    bars: dict[str, list[data.Bar]]
    funding: dict[str, dict[int, Decimal]]
    step_ms: int
    files: list[data.DataFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gaps: list[dict[str, str | int]] = field(default_factory=list)
    marks: dict[str, MarkSeries] = field(default_factory=dict)  # mark-price klines


def _parse_day(text: str | None) -> int | None:
    if text is None:
        return None
    day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(day.timestamp() * 1000)


def load_market(
    folder: Path, symbols: tuple[str, ...], start: str | None, end: str | None
) -> Market:
    """Each traded symbol's candles and funding from ``folder``; a USDC symbol without
    files of its own is replayed from the USDT series of the same base, and says so."""
    first, last = _parse_day(start), _parse_day(end)
    market = Market({}, {}, 0)
    for symbol in symbols:
        source, notes_at = symbol, len(market.notes)
        if not any(folder.glob(f"{symbol}-*")) and symbol.endswith("USDC"):
            source = symbol[: -len("USDC")] + "USDT"
        klines = _kline_files(folder, source)
        if not klines:
            raise data.DataError(f"no kline files for {source} in {folder}")
        interval = min(klines, key=lambda i: INTERVAL_MS[i])
        paths = klines[interval]
        market.step_ms = INTERVAL_MS[interval]
        bars = _window(_read_series(paths, interval), first, last)
        if not bars:
            raise data.DataError(f"no {source} candles between {start} and {end}")
        market.files += [data.DataFile(p, data.sha256_of(p)) for p in paths]
        market.gaps += [
            {
                "symbol": symbol,
                "from": _iso(a + market.step_ms),
                "to": _iso(b),
                "missing_bars": (b - a) // market.step_ms - 1,
            }
            for a, b in data.gaps(bars, market.step_ms)
        ]
        market.bars[symbol] = bars
        _load_marks(market, folder, source, symbol, first, last)
        rates: dict[int, Decimal] = {}
        funding_paths = sorted(folder.glob(f"{source}-fundingRate-*"))
        funding_paths = [p for p in funding_paths if p.suffix in (".csv", ".zip")]
        for path in funding_paths:
            market.files.append(data.DataFile(path, data.sha256_of(path)))
            for row in data.read_funding(path):  # Binance stamps a few ms past the boundary
                if row.interval_hours * 3_600_000 != FUNDING_INTERVAL_MS:
                    raise data.DataError(
                        f"{path.name}: a {row.interval_hours}h funding interval; "
                        "the engine settles funding every 8h"
                    )
                rates[row.time_ms - row.time_ms % FUNDING_INTERVAL_MS] = row.rate
        if not funding_paths:
            market.notes.append(f"no funding file for {source}: funding not applied")
        else:
            market.notes += _missing_funding(source, bars, market.step_ms, rates)
        if source != symbol:  # said plainly, never a silent rename
            what = "candles" + (", funding" if funding_paths else "")
            what += ", mark price" if symbol in market.marks else ""
            market.notes.insert(notes_at, f"{source} {what} replayed as {symbol}")
        market.funding[symbol] = rates
    lengths = {len(b) for b in market.bars.values()}
    if len(lengths) != 1:
        raise data.DataError("the symbols' candle series do not cover the same times")
    return market


def _missing_funding(
    source: str, bars: list[data.Bar], step_ms: int, rates: dict[int, Decimal]
) -> list[str]:
    """A note when funding times inside the run have no rate (none is then applied)."""
    first = bars[0].open_ms - bars[0].open_ms % FUNDING_INTERVAL_MS + FUNDING_INTERVAL_MS
    due = range(first, bars[-1].open_ms + step_ms + 1, FUNDING_INTERVAL_MS)
    missing = [t for t in due if t not in rates]
    if not missing:
        return []
    return [
        f"{source}: no funding rate for {len(missing)} of {len(due)} funding times "
        f"(first {_iso(missing[0])}): no funding applied there"
    ]


def _read_series(paths: list[Path], interval: str) -> list[data.Bar]:
    """The files' candles in time order; a candle off the interval's grid is refused."""
    step = INTERVAL_MS[interval]
    series = []
    for path in paths:
        bars = data.read_klines(path)
        off = next((b for b in bars if b.open_ms % step), None)
        if off is not None:
            raise data.DataError(
                f"{path.name}: a candle at {_iso(off.open_ms)} is not on the {interval} grid"
            )
        series.append(bars)
    return data.merge_bars(series)


def _window(bars: list[data.Bar], first: int | None, last: int | None) -> list[data.Bar]:
    return [
        b
        for b in bars
        if (first is None or b.open_ms >= first) and (last is None or b.open_ms < last + 86_400_000)
    ]


def _load_marks(
    market: Market, folder: Path, source: str, symbol: str, first: int | None, last: int | None
) -> None:
    """``SOURCE-markPrice-INTERVAL-*.csv|zip``: the mark price of ``symbol`` when present."""
    found = _kline_files(folder, source, prefix="markPrice-")
    if not found:
        return
    interval = min(found, key=lambda i: INTERVAL_MS[i])
    step = INTERVAL_MS[interval]
    # the mark candles that overlap the window (one may open before its first candle)
    marks = _window(_read_series(found[interval], interval), None, last)
    marks = [m for m in marks if first is None or m.open_ms + step > first]
    if marks:
        market.marks[symbol] = MarkSeries(interval, marks)
        market.files += [data.DataFile(p, data.sha256_of(p)) for p in found[interval]]


def _kline_files(folder: Path, source: str, prefix: str = "") -> dict[str, list[Path]]:
    """``SOURCE-[prefix]INTERVAL-YYYY-MM[-DD|-to-MM].csv|zip`` by interval."""
    found: dict[str, list[Path]] = {}
    name = re.escape(source + "-" + prefix)
    pattern = re.compile(rf"^{name}(\w+)-\d{{4}}-\d{{2}}(-\d{{2}}|-to-\d{{2}})?\.(csv|zip)$")
    for path in sorted(folder.iterdir()):
        match = pattern.match(path.name)
        if match and match.group(1) in INTERVAL_MS:
            found.setdefault(match.group(1), []).append(path)
    return found


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def backtest_config(config: BotConfig, state_dir: Path) -> BotConfig:
    """The config as given, but its state in ``state_dir`` and the venue the engine in process."""
    return config.model_copy(
        update={
            "paths": config.paths.model_copy(update={"state_dir": state_dir}),
            "exchange": config.exchange.model_copy(
                update={"venue": "sim", "rest_url": None, "ws_url": None}
            ),
            "sim": config.sim.model_copy(update={"transport": "in_process"}),
        }
    )


def run(
    config: BotConfig,
    market: Market,
    out: Path,
    *,
    tick_order: str,
    progress: Callable[[int], None] | None = None,
) -> Trace:
    """Replay ``market`` to the bot; its state (store, journal, logs) in ``out/state``;
    ``progress`` is told each strategy close (ms) once decided."""
    shutil.rmtree(out / STATE_SUBDIR, ignore_errors=True)  # each run starts from nothing
    with _scratch_dir(out) as scratch:
        try:
            return _replay(backtest_config(config, scratch), market, tick_order, progress)
        finally:
            if scratch != out / STATE_SUBDIR:
                shutil.copytree(scratch, out / STATE_SUBDIR)


@contextmanager
def _scratch_dir(out: Path) -> Iterator[Path]:
    """Where the bot's state lives during the run: in memory when the OS offers it.

    The bot fsyncs every audit record and its head, as it must live; on a disk that is
    milliseconds each, thousands of times in a four-month replay, for a state that the
    same command rebuilds. The state is copied to ``out/state`` at the end, as it was."""
    try:
        memory = tempfile.TemporaryDirectory(prefix="backtest-", dir=MEMORY_DIR)
    except OSError:  # no such dir, or not writable here: the disk, fsyncs and all
        yield out / STATE_SUBDIR
        return
    with memory as scratch:
        yield Path(scratch) / STATE_SUBDIR


def _replay(
    config: BotConfig,
    market: Market,
    tick_order: str,
    progress: Callable[[int], None] | None,
) -> Trace:
    specs = {s: spec for s, spec in default_symbols().items() if s in market.bars}
    missing = set(market.bars) - set(specs)
    if missing:
        raise data.DataError(f"no instrument for {', '.join(sorted(missing))}")
    feed = CandleFeed(market.bars, market.step_ms, market.marks)
    fees = Fees(
        maker=config.dry_run.maker_fee_rate,
        taker=config.dry_run.taker_fee_rate,
        slippage_bps=config.dry_run.slippage_bps,
    )
    start = next(iter(market.bars.values()))[0].open_ms
    engine = ReplayEngine(
        feed=feed, specs=specs, fees=fees, start_ms=start, balance=config.sim.starting_balance
    )
    engine.start()
    try:
        with Runtime(
            config,
            Secrets(),
            dry_run=False,
            mode="backtest",
            log_level=config.logging.level,
            console_level="ERROR",
        ) as runtime:
            app = App(runtime, engine=engine)  # from here on the App owns and stops it
            try:
                app.prepare(stream=False)
                driver = Driver(
                    app,
                    engine,
                    feed,
                    market.bars,
                    market.funding,
                    tick_order=tick_order,
                    progress=progress,
                )
                trace = driver.run()
                app.finish()
                trace.account = engine.exchange.account
            finally:
                app.shutdown()
    except BaseException:
        engine.stop()  # the App may not have taken it over yet (stopping twice is harmless)
        raise
    return trace
