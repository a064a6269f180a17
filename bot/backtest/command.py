"""``python main.py backtest``: arguments in, the report out (console, report.json, trades.csv)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.backtest import report as reporting
from bot.backtest.run import SAMPLE_DIR, Market, load_market, run
from bot.backtest.ticks import TICK_ORDERS
from bot.config import BotConfig

DEFAULT_OUT = Path("var") / "backtest"
PICTURE = "equity.png"
FIXED_MODEL = [
    "decisions at each close of strategy.interval, as the live bot",
    "stops trigger on their working price; a stop crossed inside a candle fills at its "
    "trigger (+ slippage), one gapped through at the candle's open",
    "LIMIT take-profit fills at its price when crossed (maker fee)",
    "fees: dry_run.maker_fee_rate / taker_fee_rate; slippage: dry_run.slippage_bps on market fills",
    "funding: the funding file's rate at each 8h funding time, booked as FUNDING_FEE",
    "liquidation as the engine computes it",
    "symbol filters: the engine's exchangeInfo snapshot (bot/sim/symbols.py)",
    "not modelled: order book depth, queue position, latency, partial fills",
]


def add_parser(sub: Any, common: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "backtest",
        parents=common,
        help="the unchanged bot on the exchange engine replaying historical candles",
    )
    parser.add_argument("--data", type=Path, help="Binance data files (default: data/sample)")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (UTC)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (UTC)")
    parser.add_argument("--symbols", nargs="+", type=str.upper, help="USDC symbols to trade")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report and state dir")
    parser.add_argument("--tick-order", choices=TICK_ORDERS, default="ohlc")
    parser.add_argument(
        "--no-plot", action="store_true", help=f"do not draw {PICTURE} (equity and drawdown)"
    )


class Progress:
    """One rewritten console line, ``backtest 42 %`` of the candles, for a terminal only."""

    def __init__(self, start_ms: int, end_ms: int) -> None:
        self._start, self._span = start_ms, max(1, end_ms - start_ms)
        self._shown = -1

    def __call__(self, at_ms: int) -> None:
        percent = (at_ms - self._start) * 100 // self._span
        if percent != self._shown:
            self._shown = percent
            sys.stdout.write(f"\rbacktest {percent} %")
            sys.stdout.flush()

    def clear(self) -> None:
        sys.stdout.write("\r\x1b[K")
        sys.stdout.flush()


def backtest(config: BotConfig, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Run and write the report; returns it with its sha256."""
    if args.symbols:
        config = config.model_copy(update={"symbols": tuple(args.symbols)})
        config = BotConfig.model_validate(config.model_dump())  # USDC symbols only
    if getattr(args, "log_level", None) is None and not getattr(args, "verbose", False):
        # every decision is in the run's audit journal; the log keeps warnings, unless
        # asked (-v, --log-level): its INFO lines cost ~15 % of a replay
        config = config.model_copy(
            update={"logging": config.logging.model_copy(update={"level": "WARNING"})}
        )
    folder = args.data or SAMPLE_DIR
    market = load_market(folder, config.symbols, args.start, args.end)
    first = next(iter(market.bars.values()))
    start_ms, end_ms = first[0].open_ms, first[-1].open_ms + market.step_ms
    progress = Progress(start_ms, end_ms) if sys.stdout.isatty() else None
    try:
        trace = run(config, market, args.out, tick_order=args.tick_order, progress=progress)
    finally:
        if progress is not None:
            progress.clear()
    report = {
        "period": {"from": reporting._iso(start_ms), "to": reporting._iso(end_ms)},
        "market_model": {
            "data": market.notes or ["candles of the traded symbols"],
            "tick_order": "open → high → low → close"
            if args.tick_order == "ohlc"
            else "open → the extreme nearer the open → the other → close",
            "mark_price": _mark_model(market),
            "rules": FIXED_MODEL,
            "gaps": market.gaps,
        },
        "data_files": {f.path.name: f.sha256 for f in market.files},
        "config": config.model_dump(mode="json", exclude={"paths", "exchange"}),
        "figures": reporting.figures(trace, config.sim.starting_balance, start_ms, end_ms),
    }
    digest = reporting.write(args.out, report, trace)
    if not getattr(args, "no_plot", True):  # drawn when asked: the CLI asks unless --no-plot
        from bot.backtest import picture  # matplotlib: only when drawing

        period = f"{reporting._iso(start_ms)[:10]} → {reporting._iso(end_ms)[:10]}"
        title = f"{', '.join(market.bars)} {period}"
        picture.render(
            [(start_ms, config.sim.starting_balance), *trace.equity], args.out / PICTURE, title
        )
    return report, digest


def _mark_model(market: Market) -> str:
    if not market.marks:
        return "the last price (no mark-price klines given)"
    given = ", ".join(f"{s} {m.interval}" for s, m in market.marks.items())
    missing = [s for s in market.bars if s not in market.marks]
    return (
        f"from the mark-price klines ({given}): the mark candle's open at each of its opens "
        "(so at each funding time), in between the last price plus the premium "
        "(mark − price) at that open"
        + (f"; the last price for {', '.join(missing)}" if missing else "")
    )


def cmd_backtest(config: BotConfig, args: argparse.Namespace) -> int:
    began = time.perf_counter()
    report, digest = backtest(config, args)
    for line in reporting.summary(report, digest):
        print(line)
    for gap in report["market_model"]["gaps"]:  # never filled: the user must know
        print(
            f"gap: {gap['symbol']} {gap['from']} → {gap['to']}, {gap['missing_bars']} bars missing"
        )
    print(f"written to {args.out} in {time.perf_counter() - began:.1f} s")
    return 0
