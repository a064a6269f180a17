"""The simulator's state file: the account, the clock offset and price pins, as JSON.

Consecutive bot processes (cron `--once` runs) each start an in-process simulator on the
same file, so what one run traded the next one sees. Writes are atomic (temp file +
os.replace): a process killed mid-write leaves the previous state, never half a file.
Decimals are stored as strings, never floats. listenKeys are not kept, as on Binance
a new process starts a new stream.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot import files
from bot.sim.account import AccountState, AlgoOrder, Income, Order, Position, Trade
from bot.sim.market import Pins
from bot.sim.venue import Json

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FORMAT_VERSION = 1
_Record = TypeVar("_Record", AlgoOrder, Income, Order, Position, Trade)


def _plain(obj: DataclassInstance) -> Json:
    out: Json = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = f"{value:f}" if isinstance(value, Decimal) else value
    return out


def _load(cls: type[_Record], data: Json) -> _Record:
    kwargs: Json = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kwargs[f.name] = Decimal(value) if f.type == "Decimal" else value
    return cls(**kwargs)


def dump_state(account: AccountState, clock_offset_ms: int, pins: dict[str, Pins]) -> Json:
    return {
        "version": FORMAT_VERSION,
        "clock_offset_ms": clock_offset_ms,
        "pins": {
            s: {k: None if v is None else f"{v:f}" for k, v in dataclasses.asdict(p).items()}
            for s, p in pins.items()
        },
        "wallet": {a: f"{v:f}" for a, v in account.wallet.items()},
        "positions": [_plain(p) for p in account.positions.values()],
        "leverage": account.leverage,
        "margin_type": account.margin_type,
        "dual_side": account.dual_side,
        "orders": [_plain(o) for o in account.orders.values()],
        "algo_orders": [_plain(a) for a in account.algo_orders.values()],
        "trades": [_plain(t) for t in account.trades],
        "income": [_plain(i) for i in account.income],
        "countdowns": account.countdowns,
        "last_funding_ms": account.last_funding_ms,
        "next_ids": {
            k: getattr(account, f"next_{k}_id") for k in ("order", "algo", "trade", "tran")
        },
    }


def load_state(data: Json) -> tuple[AccountState, int, dict[str, Pins]]:
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported sim state version {data.get('version')!r}")
    account = AccountState(
        wallet={a: Decimal(v) for a, v in data["wallet"].items()},
        positions={f"{p['symbol']}|{p['side']}": _load(Position, p) for p in data["positions"]},
        leverage=dict(data["leverage"]),
        margin_type=dict(data["margin_type"]),
        dual_side=bool(data["dual_side"]),
        orders={o["order_id"]: _load(Order, o) for o in data["orders"]},
        algo_orders={a["algo_id"]: _load(AlgoOrder, a) for a in data["algo_orders"]},
        trades=[_load(Trade, t) for t in data["trades"]],
        income=[_load(Income, i) for i in data["income"]],
        countdowns=dict(data["countdowns"]),
        last_funding_ms=int(data.get("last_funding_ms", 0)),
    )
    for kind, value in data["next_ids"].items():
        setattr(account, f"next_{kind}_id", value)
    pins = {
        s: Pins(**{k: None if v is None else Decimal(v) for k, v in p.items()})
        for s, p in data["pins"].items()
    }
    return account, int(data["clock_offset_ms"]), pins


def read(path: Path) -> Json | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a sim state (a JSON object)")
    return data


def write_atomic(path: Path, data: Json) -> None:
    files.write_atomic(path, json.dumps(data, separators=(",", ":")))
