"""Tiny, format-faithful data.binance.vision files written by the tests into tmp_path."""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path
from typing import Any

from bot.backtest.command import backtest
from bot.config import BotConfig

T0 = 1704067200000  # 2024-01-01 00:00 UTC
STEP = 300_000  # 5m
KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
Bar = tuple[str, str, str, str]  # open, high, low, close


def kline_lines(bars: list[Bar], *, start: int = T0, step: int = STEP, us: bool = False) -> str:
    """The official 12 columns, one row per bar (``us``: µs stamps, as some 2025+ files)."""
    scale = 1000 if us else 1
    lines = []
    for i, (o, h, low, c) in enumerate(bars):
        t = start + i * step
        lines.append(
            f"{t * scale},{o},{h},{low},{c},1.000,{(t + step - 1) * scale},{o},1,0.500,{o},0"
        )
    return "\n".join(lines) + "\n"


def write_zip(path: Path, inner_name: str, text: str, *, checksum: str | None = "good") -> Path:
    """A zip with one CSV, and its ``.CHECKSUM`` (``good``, ``bad`` or None: absent)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner_name, text)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if checksum == "bad":
        digest = "0" * 64
    if checksum is not None:
        path.with_name(path.name + ".CHECKSUM").write_text(f"{digest}  {path.name}\n")
    return path


def config(**sections: dict[str, Any]) -> BotConfig:
    """AlwaysLong on 5m, no slippage, Binance's USDC-M fees; ``sections`` override."""
    raw: dict[str, Any] = {
        "strategy": {
            "name": "tests.e2e.strategies:AlwaysLong",
            "interval": "5m",
            "candles": 10,
            "params": {"stop_pct": "1", "take_profit_pct": "2"},
        },
        "execution": {"working_type": "LAST_PRICE"},
        "dry_run": {"slippage_bps": "0", "taker_fee_rate": "0.0004", "maker_fee_rate": "0.0002"},
    }
    raw.update(sections)
    return BotConfig.model_validate(raw)


def run(
    cfg: BotConfig, data: Path, out: Path, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    args = argparse.Namespace(
        data=data, start=start, end=end, symbols=None, out=out, tick_order="ohlc"
    )
    report, _ = backtest(cfg, args)
    return report
