"""The backtest's figures, from the engine's own books (fills, fees, funding payments) and
the driver's equity samples; written as ``report.json`` (byte-identical for the same
data, config and code), ``trades.csv`` and a one-screen console summary."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.backtest.driver import Trace
from bot.sim.account import AccountState

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass
class RoundTrip:
    symbol: str
    side: str
    qty: Decimal
    entry_ms: int
    exit_ms: int
    entry_price: Decimal
    exit_price: Decimal
    price_pnl: Decimal
    fees: Decimal
    funding: Decimal
    reason: str

    @property
    def net(self) -> Decimal:
        return self.price_pnl - self.fees + self.funding


def _exit_reason(order_type: str, client_id: str) -> str:
    if client_id.startswith("autoclose-"):
        return "liquidation"
    if order_type.startswith("STOP") or order_type == "TRAILING_STOP_MARKET":
        return "SL"
    if order_type.startswith("TAKE_PROFIT"):
        return "TP"
    return "flatten"


def round_trips(account: AccountState) -> list[RoundTrip]:
    """One row per position opened from flat and closed back to flat."""
    trips: list[RoundTrip] = []
    open_trip: dict[str, dict[str, Any]] = {}
    funding = [i for i in account.income if i.income_type == "FUNDING_FEE"]
    for trade in sorted(account.trades, key=lambda t: t.id):
        order = account.orders[trade.order_id]
        signed = trade.qty if trade.side == "BUY" else -trade.qty
        trip = open_trip.get(trade.symbol)
        if trip is None:
            open_trip[trade.symbol] = {
                "amount": signed,
                "qty": trade.qty,
                "entry_ms": trade.time,
                "cost": trade.price * trade.qty,
                "fees": trade.commission,
                "pnl": ZERO,
                "exit_value": ZERO,
                "exit_qty": ZERO,
            }
            continue
        trip["fees"] += trade.commission
        if (trip["amount"] > 0) == (signed > 0):
            trip["amount"] += signed
            trip["qty"] += trade.qty
            trip["cost"] += trade.price * trade.qty
            continue
        trip["amount"] += signed
        trip["pnl"] += trade.realized_pnl
        trip["exit_value"] += trade.price * trade.qty
        trip["exit_qty"] += trade.qty
        if trip["amount"] == 0:
            paid = sum(
                (
                    i.income
                    for i in funding
                    if i.symbol == trade.symbol and trip["entry_ms"] <= i.time <= trade.time
                ),
                ZERO,
            )
            trips.append(
                RoundTrip(
                    symbol=trade.symbol,
                    side="LONG" if trade.side == "SELL" else "SHORT",
                    qty=trip["qty"],
                    entry_ms=trip["entry_ms"],
                    exit_ms=trade.time,
                    entry_price=(trip["cost"] / trip["qty"]).quantize(CENT),
                    exit_price=(trip["exit_value"] / trip["exit_qty"]).quantize(CENT),
                    price_pnl=trip["pnl"],
                    fees=trip["fees"],
                    funding=paid,
                    reason=_exit_reason(order.orig_type, order.client_order_id),
                )
            )
            del open_trip[trade.symbol]
    return trips


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.00000001')):f}"


def _ratio(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


EXIT_REASONS = ("SL", "TP", "liquidation", "flatten")


@dataclass(frozen=True)
class Drawdown:
    """The largest peak-to-trough fall of equity: its size and when it ran."""

    amount: Decimal
    pct: float  # of the peak it fell from
    start_ms: int | None  # the peak
    end_ms: int | None  # the trough


def max_drawdown(equity: list[tuple[int, Decimal]]) -> Drawdown:
    worst = Drawdown(ZERO, 0.0, None, None)
    peak, peak_ms = equity[0][1], equity[0][0]
    for at, value in equity:
        if value > peak:
            peak, peak_ms = value, at
        if peak - value > worst.amount:
            pct = float((peak - value) / peak * 100) if peak > 0 else 0.0
            worst = Drawdown(peak - value, pct, peak_ms, at)
    return worst


def daily_returns(start_balance: Decimal, equity: list[tuple[int, Decimal]]) -> list[float]:
    """Each UTC day's return: its last equity sample over the previous day's (the first
    day's over the start balance)."""
    closes: dict[str, Decimal] = {}
    for at, value in equity:
        closes[_iso(at)[:10]] = value
    values = [float(start_balance), *(float(v) for v in closes.values())]
    return [b / a - 1 for a, b in itertools.pairwise(values) if a]


def _sharpe_sortino(returns: list[float]) -> tuple[float | None, float | None]:
    """Mean daily return over its sample standard deviation (Sharpe) or over the downside
    deviation (Sortino), annualised by √365 (crypto trades every day); risk-free rate 0."""
    if not returns:
        return None, None
    mean = sum(returns) / len(returns)
    std = (
        math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
        if len(returns) > 1
        else 0.0
    )
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    annual = math.sqrt(365)
    return (
        _ratio(mean / std * annual) if std else None,
        _ratio(mean / downside * annual) if downside else None,
    )


def figures(trace: Trace, start_balance: Decimal, start_ms: int, end_ms: int) -> dict[str, Any]:
    assert trace.account is not None
    account = trace.account
    trips = round_trips(account)
    fees = sum((t.commission for t in account.trades), ZERO)
    funding = sum((i.income for i in account.income if i.income_type == "FUNDING_FEE"), ZERO)
    gross = sum((t.realized_pnl for t in account.trades), ZERO)
    final = account.wallet.get("USDC", ZERO)
    equity = [(start_ms, start_balance), *trace.equity]
    drawdown = max_drawdown(equity)
    sharpe, sortino = _sharpe_sortino(daily_returns(start_balance, trace.equity))
    years = (end_ms - start_ms) / (365 * 86_400_000)
    total_return = float(final / start_balance - 1) if start_balance else 0.0
    cagr = (
        (1 + total_return) ** (1 / years) - 1 if years > 0 and total_return > -1 else float("nan")
    )
    wins = [t for t in trips if t.net > 0]
    losses = [t for t in trips if t.net <= 0]
    won, lost = sum((t.net for t in wins), ZERO), -sum((t.net for t in losses), ZERO)
    exposure_ms = sum(t.exit_ms - t.entry_ms for t in trips)
    reasons = dict.fromkeys(EXIT_REASONS, 0)
    for t in trips:
        reasons[t.reason] += 1
    return {
        "start_balance": _money(start_balance),
        "final_balance": _money(final),
        "net_pnl": _money(final - start_balance),
        "gross_pnl": _money(gross),
        "fees": _money(fees),
        "funding": _money(funding),
        "total_return_pct": round(total_return * 100, 4),
        "cagr_pct": _ratio(cagr * 100),
        "max_drawdown": _money(drawdown.amount),
        "max_drawdown_pct": round(drawdown.pct, 4),
        "max_drawdown_start": _iso(drawdown.start_ms) if drawdown.start_ms is not None else None,
        "max_drawdown_end": _iso(drawdown.end_ms) if drawdown.end_ms is not None else None,
        "max_drawdown_duration_min": (drawdown.end_ms - drawdown.start_ms) // 60_000
        if drawdown.start_ms is not None and drawdown.end_ms is not None
        else None,
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": _ratio(cagr * 100 / drawdown.pct) if drawdown.pct else None,
        "trades": len(trips),
        "trades_long": sum(t.side == "LONG" for t in trips),
        "trades_short": sum(t.side == "SHORT" for t in trips),
        "win_rate_pct": round(len(wins) / len(trips) * 100, 2) if trips else None,
        "profit_factor": _ratio(float(won / lost)) if lost else None,
        "expectancy": _money(sum((t.net for t in trips), ZERO) / len(trips)) if trips else None,
        "avg_duration_min": round(exposure_ms / len(trips) / 60_000, 1) if trips else None,
        "exposure_pct": round(exposure_ms / (end_ms - start_ms) * 100, 2)
        if end_ms > start_ms
        else 0,
        "exits_by_reason": reasons,
        "entries_refused_by_risk": dict(sorted(trace.refusals.items())),
        "refusal_days": {k: v for k, v in sorted(trace.refusal_days.items())},
    }


def write(out: Path, report: dict[str, Any], trace: Trace) -> str:
    """``report.json`` and ``trades.csv`` into ``out``; the report's sha256."""
    out.mkdir(parents=True, exist_ok=True)
    body = json.dumps(report, indent=2, sort_keys=True).encode() + b"\n"
    (out / "report.json").write_bytes(body)
    assert trace.account is not None
    with (out / "trades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "symbol",
                "side",
                "qty",
                "entry_time",
                "entry_price",
                "exit_time",
                "exit_price",
                "price_pnl",
                "fees",
                "funding",
                "net_pnl",
                "exit_reason",
            ]
        )
        for t in round_trips(trace.account):
            writer.writerow(
                [
                    t.symbol,
                    t.side,
                    f"{t.qty:f}",
                    _iso(t.entry_ms),
                    f"{t.entry_price:f}",
                    _iso(t.exit_ms),
                    f"{t.exit_price:f}",
                    _money(t.price_pnl),
                    _money(t.fees),
                    _money(t.funding),
                    _money(t.net),
                    t.reason,
                ]
            )
    return hashlib.sha256(body).hexdigest()


def _usdc(value: str | None, *, sign: bool = False) -> str:
    """USDC for a reader: 2 decimals, thousands separated (report.json keeps them all)."""
    if value is None:
        return "n/a"
    amount = Decimal(value).quantize(CENT)
    return f"{amount:+,.2f}" if sign else f"{amount:,.2f}"


def _num(value: float | None, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,.2f}{suffix}"


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "n/a"
    days, rest = divmod(round(minutes), 1440)
    hours, mins = divmod(rest, 60)
    return f"{days}d {hours}h {mins:02d}m" if days else f"{hours}h {mins:02d}m"


def _minute(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _counts(counts: dict[str, int]) -> str:
    return "  ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def summary(report: dict[str, Any], digest: str) -> list[str]:
    """The figures a trader reads in ten seconds: one line each, USDC to the cent."""
    f = report["figures"]
    period = f"{_minute(report['period']['from'])} → {_minute(report['period']['to'])} UTC"
    drawdown = "none"
    if f["max_drawdown_start"] is not None:
        drawdown = (
            f"{_usdc(f['max_drawdown'])} USDC ({f['max_drawdown_pct']:.2f} %), "
            f"{_minute(f['max_drawdown_start'])} → {_minute(f['max_drawdown_end'])} "
            f"({_duration(f['max_drawdown_duration_min'])})"
        )
    lines = [
        f"backtest {period}: {'; '.join(report['market_model']['data'])}",
        f"balance   {_usdc(f['start_balance'])} → {_usdc(f['final_balance'])} USDC  "
        f"{_usdc(f['net_pnl'], sign=True)} ({f['total_return_pct']:+.2f} %)  "
        f"CAGR {_num(f['cagr_pct'], ' %')}",
        f"pnl       price {_usdc(f['gross_pnl'], sign=True)}  fees -{_usdc(f['fees'])}  "
        f"funding {_usdc(f['funding'], sign=True)}",
        f"drawdown  {drawdown}",
        f"ratios    Sharpe {_num(f['sharpe'])}  Sortino {_num(f['sortino'])}  "
        f"Calmar {_num(f['calmar'])}  (daily returns, ×√365)",
        f"trades    {f['trades']} ({f['trades_long']} long, {f['trades_short']} short)  "
        f"win {_num(f['win_rate_pct'], ' %')}  profit factor {_num(f['profit_factor'])}  "
        f"expectancy {_usdc(f['expectancy'], sign=True)}  "
        f"avg {_duration(f['avg_duration_min'])}",
        f"exits     {_counts(f['exits_by_reason'])}",
        f"refused by RiskGuard: {_counts(f['entries_refused_by_risk'])}",
    ]
    gaps = report["market_model"].get("gaps") or []
    if gaps:
        lines.append(f"data gaps: {len(gaps)} (listed in report.json)")
    lines.append(f"report.json sha256 {digest}")
    return lines
