"""Parity: the backtest trades as the live bot does.

The same window of the bundled sample is (a) replayed by ``backtest`` (one process, the
engine in process) and (b) stepped candle by candle over HTTP on a simulator
(``bot.backtest.stepped``) while separate ``python main.py --once`` processes trade against
it, each with the store and journal the previous one left. Both must send the same
orders (client ids, sides, quantities, prices) and end with the same wallet balance.

A ``--once`` process costs about a second, so (b) runs one only at the strategy closes
where the backtest wrote to the exchange (an entry with its bracket, a cancel of the exit
left over after the other one filled); at every other close the backtest's cycle sent
nothing. A ``--once`` that sent anything at a skipped close would show as an extra order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import yaml

from bot.backtest.run import SAMPLE_DIR, load_market, run
from bot.backtest.stepped import SteppedSimulator
from bot.config import BotConfig
from bot.sim.account import AccountState, Fees
from bot.sim.market import INTERVAL_MS
from bot.sim.symbols import default_symbols

ROOT = Path(__file__).resolve().parents[2]
DAY = "2024-01-03"  # the default ema_cross closes three trades (SL, SL, TP) and opens a fourth


def _config() -> BotConfig:
    return BotConfig.model_validate({"dry_run": {"slippage_bps": "0"}})


def _orders(account: AccountState) -> list[tuple[str, ...]]:
    """What the bot sent, in order: regular and algo orders with their prices, and fills."""
    regular = [
        ("order", o.client_order_id, o.side, o.type, f"{o.orig_qty:f}", f"{o.price:f}", o.status)
        for o in sorted(account.orders.values(), key=lambda o: o.order_id)
        if o.algo_id is None
    ]
    algo = [
        (
            "algo",
            a.client_algo_id,
            a.side,
            a.order_type,
            f"{a.quantity:f}",
            f"{a.trigger_price:f}",
            f"{a.price:f}",
            a.status,
        )
        for a in sorted(account.algo_orders.values(), key=lambda a: a.algo_id)
    ]
    fills = [
        ("fill", _sent_id(account, t.order_id), t.side, f"{t.qty:f}", f"{t.price:f}")
        for t in sorted(account.trades, key=lambda t: t.id)
    ]
    return regular + algo + fills


def _sent_id(account: AccountState, order_id: int) -> str:
    """The bot's client id of what filled: a triggered stop's child has the venue's own."""
    order = account.orders[order_id]
    if order.algo_id is not None:
        return account.algo_orders[order.algo_id].client_algo_id
    return order.client_order_id


def _acting_closes(account: AccountState, interval_ms: int) -> set[int]:
    """Strategy closes at which the backtest created or cancelled an order."""
    times = {o.time for o in account.orders.values() if o.algo_id is None}
    times |= {a.create_time for a in account.algo_orders.values()}
    times |= {
        o.update_time for o in account.orders.values() if o.status == "CANCELED" and not o.algo_id
    }
    times |= {a.update_time for a in account.algo_orders.values() if a.status == "CANCELED"}
    return {t for t in times if t % interval_ms == 0}


def _post(sim: SteppedSimulator, name: str) -> dict:
    request = urllib.request.Request(f"{sim.rest_url}/_sim/{name}", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def _once(workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BINANCE_API_KEY", None)
    env.pop("BINANCE_API_SECRET", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--once"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_backtest_and_once_processes_on_a_stepped_simulator_send_the_same_orders(
    tmp_path: Path,
) -> None:
    config = _config()
    market = load_market(SAMPLE_DIR, config.symbols, DAY, DAY)
    trace = run(config, market, tmp_path / "backtest", tick_order="ohlc")
    assert trace.account is not None
    expected = _orders(trace.account)
    closes = _acting_closes(trace.account, INTERVAL_MS[config.strategy.interval])
    assert len([o for o in expected if o[0] == "fill"]) >= 4  # an entry and an exit at least

    sim = SteppedSimulator(
        market=market,
        specs={s: spec for s, spec in default_symbols().items() if s in market.bars},
        fees=Fees(
            maker=config.dry_run.maker_fee_rate,
            taker=config.dry_run.taker_fee_rate,
            slippage_bps=config.dry_run.slippage_bps,
        ),
        balance=config.sim.starting_balance,
        tick_order="ohlc",
    )
    with sim:
        settings = config.model_dump(mode="json", exclude={"paths", "exchange", "sim"})
        settings["exchange"] = {"venue": "sim", "rest_url": sim.rest_url, "ws_url": sim.ws_url}
        settings["paths"] = {"state_dir": str(tmp_path / "var")}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(settings))
        runs = []
        for _ in range(len(next(iter(market.bars.values())))):
            close_ms = _post(sim, "step_candle")["close_ms"]
            if close_ms in closes:
                result = _once(tmp_path)
                assert result.returncode in (0, 3), result.stdout + result.stderr
                runs.append(close_ms)
        with sim.exchange.lock:
            actual = _orders(sim.exchange.account)
            balance = sim.exchange.account.wallet["USDC"]

    assert runs == sorted(closes)
    assert actual == expected
    assert balance == trace.account.wallet["USDC"] != Decimal(config.sim.starting_balance)
