"""``equity.png``: the backtest's equity curve with its drawdown underneath.

matplotlib is imported here only, when the picture is drawn (never by the bot, nor by
``import bot.cli``): it costs ~0.3 s to import, which the live bot and the other commands
should not pay. The Agg backend (no display) and the object-oriented ``Figure`` (no
pyplot global state) keep it a pure file writer. Four months at a 15m interval are
~11,600 samples; they are thinned to at most ``MAX_POINTS`` buckets (the bucket's last
equity, its deepest drawdown, so no trough disappears), which keeps the render short.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

MAX_POINTS = 2000


def drawdown_pct(equity: list[tuple[int, Decimal]]) -> list[float]:
    """At each sample, how far equity is below its running peak, in % of that peak (≤ 0)."""
    out: list[float] = []
    peak = Decimal(0)
    for _, value in equity:
        peak = max(peak, value)
        out.append(float((value - peak) / peak * 100) if peak > 0 else 0.0)
    return out


def thin(
    equity: list[tuple[int, Decimal]], limit: int = MAX_POINTS
) -> tuple[list[int], list[float], list[float]]:
    """Times, equity and drawdown in at most ``limit`` buckets."""
    drawdown = drawdown_pct(equity)
    size = max(1, -(-len(equity) // limit))
    times, values, depths = [], [], []
    for start in range(0, len(equity), size):
        end = min(start + size, len(equity))
        times.append(equity[end - 1][0])
        values.append(float(equity[end - 1][1]))
        depths.append(min(drawdown[start:end]))
    return times, values, depths


def render(equity: list[tuple[int, Decimal]], path: Path, title: str) -> None:
    """Write the PNG to ``path`` (equity in USDC above, drawdown in % below)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    times, values, depths = thin(equity)
    when = [datetime.fromtimestamp(ms / 1000, UTC) for ms in times]
    figure = Figure(figsize=(10, 6), dpi=100)
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05}
    )
    top.plot(when, values, color="tab:blue", linewidth=1, antialiased=False)
    top.set_ylabel("equity (USDC)")
    top.set_title(title, fontsize=10)
    top.grid(True, alpha=0.3)
    bottom.fill_between(when, depths, 0, color="tab:red", alpha=0.5, linewidth=0)
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(True, alpha=0.3)
    figure.autofmt_xdate()
    figure.savefig(path, format="png", metadata={"Software": None})
