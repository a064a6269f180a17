"""``python main.py backtest``: data → engine → the unchanged bot → report.

The bot is built by the composition root (``bot.app.App``) from the config, with its
own state dir under ``--out`` (store, audit journal, logs), on the engine in this
process through the SDK's request path (``sim.transport: in_process``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.app import App
from bot.backtest import data
from bot.backtest.driver import Driver, Trace
from bot.backtest.engine import ReplayEngine
from bot.backtest.feed import CandleFeed
from bot.config import BotConfig, Secrets
from bot.runtime import Runtime
from bot.sim.account import Fees
from bot.sim.funding import FUNDING_INTERVAL_MS
from bot.sim.market import INTERVAL_MS
from bot.sim.symbols import default_symbols

SAMPLE_DIR = Path(__file__).parent / "sample"
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
    gaps: list[str] = field(default_factory=list)


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
        source = symbol
        if not any(folder.glob(f"{symbol}-*")) and symbol.endswith("USDC"):
            source = symbol[: -len("USDC")] + "USDT"
            market.notes.append(f"{source} candles and funding replayed as {symbol}")
        klines = _kline_files(folder, source)
        if not klines:
            raise data.DataError(f"no kline files for {source} in {folder}")
        interval = min(klines, key=lambda i: INTERVAL_MS[i])
        paths = klines[interval]
        bars = data.merge_bars([data.read_klines(p) for p in paths])
        bars = [
            b
            for b in bars
            if (first is None or b.open_ms >= first)
            and (last is None or b.open_ms < last + 86_400_000)
        ]
        if not bars:
            raise data.DataError(f"no {source} candles between {start} and {end}")
        market.step_ms = INTERVAL_MS[interval]
        market.files += [data.DataFile(p, data.sha256_of(p)) for p in paths]
        market.gaps += [
            f"{source}: no candles between {_stamp(a)} and {_stamp(b)}"
            for a, b in data.gaps(bars, market.step_ms)
        ]
        market.bars[symbol] = bars
        rates: dict[int, Decimal] = {}
        funding_paths = sorted(folder.glob(f"{source}-fundingRate-*"))
        funding_paths = [p for p in funding_paths if p.suffix in (".csv", ".zip")]
        for path in funding_paths:
            market.files.append(data.DataFile(path, data.sha256_of(path)))
            for row in data.read_funding(path):  # Binance stamps a few ms past the boundary
                rates[row.time_ms - row.time_ms % FUNDING_INTERVAL_MS] = row.rate
        if not funding_paths:
            market.notes.append(f"no funding file for {source}: funding not applied")
        market.funding[symbol] = rates
    lengths = {len(b) for b in market.bars.values()}
    if len(lengths) != 1:
        raise data.DataError("the symbols' candle series do not cover the same times")
    return market


def _kline_files(folder: Path, source: str) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    pattern = re.compile(rf"^{re.escape(source)}-(\w+)-\d{{4}}-\d{{2}}(-\d{{2}})?\.(csv|zip)$")
    for path in sorted(folder.iterdir()):
        match = pattern.match(path.name)
        if match and match.group(1) in INTERVAL_MS:
            found.setdefault(match.group(1), []).append(path)
    return found


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


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


def run(config: BotConfig, market: Market, out: Path, *, tick_order: str) -> Trace:
    """Replay ``market`` to the bot; its state (store, journal, logs) in ``out/state``."""
    shutil.rmtree(out / STATE_SUBDIR, ignore_errors=True)  # each run starts from nothing
    with _scratch_dir(out) as scratch:
        try:
            return _replay(backtest_config(config, scratch), market, tick_order)
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


def _replay(config: BotConfig, market: Market, tick_order: str) -> Trace:
    specs = {s: spec for s, spec in default_symbols().items() if s in market.bars}
    missing = set(market.bars) - set(specs)
    if missing:
        raise data.DataError(f"no instrument for {', '.join(sorted(missing))}")
    feed = CandleFeed(market.bars, market.step_ms)
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
                    app, engine, feed, market.bars, market.funding, tick_order=tick_order
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
