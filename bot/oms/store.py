"""SQLite persistence of trading state: ``state_dir/state.db`` (stdlib sqlite3, WAL).

A cron run (``--once``) is a new process every time, so everything the OMS and
RiskGuard must remember lives here: orders, algo orders, positions, the USDC
balance, processed trade ids (so a replayed fill is not counted twice), per-day
PnL and the stop-loss streak, plus a small key/value metadata table for other
components.

Writers: the OMS consumer thread is the only writer of trading state; it stages
changes and calls :meth:`commit` once per batch, so a batch of events is
persisted atomically. Staging is write-behind: ``put_*`` keeps only the newest
record per primary key in memory, and :meth:`commit` encodes and writes each
table with one ``executemany`` (a fill changes its order row up to three times
in one event; only the last version is written). Staged changes are not visible
to :meth:`load` until committed. Other threads read :class:`bot.oms.state.OmsView`
snapshots, never this database. The connection is opened with
``check_same_thread=False`` only because the composition root opens the store (and
the OMS loads it) on its own thread before it hands both to the OMS thread; from
then on the OMS thread alone uses it (the OMS enforces that), so there is no lock.
Metadata (``set_meta``) is staged and committed with the batch like everything else.

A batch is never stuck: if SQLite refuses a record (an integer beyond int64, text
that is not UTF-8; the OMS's parsers reject such payloads first, this is the last
line), the batch is written again row by row without the refused records and
:class:`UnstorableRecords` names them; an operational error (locked, I/O) keeps the
batch staged for the next commit to retry.

WAL with ``synchronous=NORMAL`` survives a process crash without losing a
committed batch; a power cut may lose the last batch, which the REST snapshot
after start-up and the income-history seed repair.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.domain.enums import OPEN_ALGO_STATUSES, OPEN_ORDER_STATUSES
from bot.oms.state import (
    AlgoOrderState,
    BalanceState,
    DayPnl,
    OrderState,
    PositionState,
    RiskCounters,
    decode,
    encode,
)

SCHEMA_VERSION = 2

_SCHEMA_V1 = """
CREATE TABLE orders (
    symbol TEXT NOT NULL, order_id INTEGER NOT NULL, client_order_id TEXT NOT NULL,
    status TEXT NOT NULL, updated_ms INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (symbol, order_id));
CREATE INDEX orders_by_client_id ON orders (client_order_id);
CREATE TABLE algo_orders (
    client_algo_id TEXT PRIMARY KEY, algo_id INTEGER NOT NULL, status TEXT NOT NULL,
    updated_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE positions (symbol TEXT PRIMARY KEY, updated_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE balances (asset TEXT PRIMARY KEY, updated_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE processed_ids (key TEXT PRIMARY KEY, processed_ms INTEGER NOT NULL);
CREATE TABLE day_pnl (day TEXT PRIMARY KEY, realised TEXT NOT NULL, commission TEXT NOT NULL,
    funding TEXT NOT NULL);
CREATE TABLE risk_counters (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Start-up reads open records and a recent window, retention deletes by age: indexed,
# so neither scans a month of history.
_SCHEMA_V2 = """
CREATE INDEX orders_by_status ON orders (status);
CREATE INDEX orders_by_updated ON orders (updated_ms);
CREATE INDEX algo_orders_by_status ON algo_orders (status);
CREATE INDEX algo_orders_by_updated ON algo_orders (updated_ms);
CREATE INDEX processed_ids_by_time ON processed_ids (processed_ms);
"""

# Upgrades from version N to N+1; append, never edit.
_MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2}
_OPEN_ORDERS = ",".join(f"'{s}'" for s in sorted(OPEN_ORDER_STATUSES))
_OPEN_ALGOS = ",".join(f"'{s}'" for s in sorted(OPEN_ALGO_STATUSES))


class StoreError(RuntimeError):
    """The database cannot be used (e.g. written by a newer version of the bot)."""


class UnstorableRecords(StoreError):
    """A commit wrote everything but these records, which SQLite refused."""

    def __init__(self, refused: list[str]) -> None:
        super().__init__(f"{len(refused)} record(s) not stored: {'; '.join(refused)[:1000]}")
        self.refused = refused


@dataclass(frozen=True)
class StoredState:
    orders: list[OrderState]
    algo_orders: list[AlgoOrderState]
    positions: list[PositionState]
    balances: list[BalanceState]
    processed_ids: dict[str, int]  # key -> when it was processed (ms)
    day_pnls: list[DayPnl]
    counters: RiskCounters
    meta: dict[str, str]  # other components' small records (bracket plans, daily markers)


class Store:
    """The trading-state database. Use :meth:`open`; close with :meth:`close`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._prune_processed_before: int | None = None
        self._prune_orders_before: int | None = None
        self._staged = _empty_stage()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            _migrate(connection)
        except Exception:
            connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        self.commit()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self, *, since_ms: int | None = None, processed_since_ms: int = 0) -> StoredState:
        """The committed state. With ``since_ms``, only open orders and algo orders and
        those updated at or after it (what the OMS keeps in memory); fill ids processed
        at or after ``processed_since_ms``. Older history stays here, read by key."""
        db = self._db
        if since_ms is None:
            order_rows = db.execute("SELECT body FROM orders")
            algo_rows = db.execute("SELECT body FROM algo_orders")
        else:
            order_rows = db.execute(
                f"SELECT body FROM orders WHERE status IN ({_OPEN_ORDERS}) "
                f"UNION ALL SELECT body FROM orders WHERE updated_ms >= ? "
                f"AND status NOT IN ({_OPEN_ORDERS})",
                (since_ms,),
            )
            algo_rows = db.execute(
                f"SELECT body FROM algo_orders WHERE status IN ({_OPEN_ALGOS}) "
                f"UNION ALL SELECT body FROM algo_orders WHERE updated_ms >= ? "
                f"AND status NOT IN ({_OPEN_ALGOS})",
                (since_ms,),
            )
        return StoredState(
            orders=[decode(OrderState, b) for (b,) in order_rows],
            algo_orders=[decode(AlgoOrderState, b) for (b,) in algo_rows],
            positions=[
                decode(PositionState, b) for (b,) in db.execute("SELECT body FROM positions")
            ],
            balances=[decode(BalanceState, b) for (b,) in db.execute("SELECT body FROM balances")],
            processed_ids=dict(
                db.execute(
                    "SELECT key, processed_ms FROM processed_ids WHERE processed_ms >= ?",
                    (processed_since_ms,),
                )
            ),
            day_pnls=[
                DayPnl(date.fromisoformat(d), Decimal(r), Decimal(c), Decimal(f))
                for d, r, c, f in db.execute(
                    "SELECT day, realised, commission, funding FROM day_pnl"
                )
            ],
            counters=self._counters(),
            meta=dict(db.execute("SELECT key, value FROM metadata")),
        )

    def newest_ms(self) -> int:
        """The newest exchange time of any stored order or algo order (0 if none)."""
        (orders,) = self._db.execute("SELECT max(updated_ms) FROM orders").fetchone()
        (algos,) = self._db.execute("SELECT max(updated_ms) FROM algo_orders").fetchone()
        return max(orders or 0, algos or 0)

    def order(self, key: tuple[str, int]) -> OrderState | None:
        """An order by (symbol, order_id), staged or stored: history out of memory."""
        staged: OrderState | None = self._staged["orders"].get(key)
        if staged is not None:
            return staged
        row = self._db.execute(
            "SELECT body FROM orders WHERE symbol = ? AND order_id = ?", key
        ).fetchone()
        return decode(OrderState, row[0]) if row else None

    def algo_order(self, client_algo_id: str) -> AlgoOrderState | None:
        """An algo order by clientAlgoId, staged or stored."""
        staged: AlgoOrderState | None = self._staged["algo_orders"].get(client_algo_id)
        if staged is not None:
            return staged
        row = self._db.execute(
            "SELECT body FROM algo_orders WHERE client_algo_id = ?", (client_algo_id,)
        ).fetchone()
        return decode(AlgoOrderState, row[0]) if row else None

    def is_processed(self, key: str) -> bool:
        """Whether a fill or funding id was processed (staged or stored)."""
        if key in self._staged["processed_ids"]:
            return True
        row = self._db.execute("SELECT 1 FROM processed_ids WHERE key = ?", (key,)).fetchone()
        return row is not None

    def _counters(self) -> RiskCounters:
        row = self._db.execute("SELECT body FROM risk_counters WHERE name = 'sl'").fetchone()
        return decode(RiskCounters, row[0]) if row else RiskCounters()

    def put_order(self, order: OrderState) -> None:
        self._stage("orders", (order.symbol, order.order_id), order)

    def put_algo_order(self, algo: AlgoOrderState) -> None:
        self._stage("algo_orders", algo.client_algo_id, algo)

    def put_position(self, position: PositionState) -> None:
        self._stage("positions", position.symbol, position)

    def put_balance(self, balance: BalanceState) -> None:
        self._stage("balances", balance.asset, balance)

    def put_day_pnl(self, pnl: DayPnl) -> None:
        self._stage("day_pnl", pnl.day, pnl)

    def put_counters(self, counters: RiskCounters) -> None:
        self._stage("risk_counters", "sl", counters)

    def add_processed(self, key: str, processed_ms: int) -> None:
        self._staged["processed_ids"].setdefault(key, processed_ms)

    def prune_orders(self, before_ms: int) -> None:
        """Delete terminal orders and algo orders last updated before ``before_ms``,
        with the next commit (open ones stay whatever their age)."""
        self._prune_orders_before = before_ms

    def prune_processed(self, before_ms: int) -> None:
        """Forget ids processed before ``before_ms`` (events that old are never
        replayed), with the next commit."""
        self._prune_processed_before = before_ms

    def set_meta(self, key: str, value: str) -> None:
        self._stage("metadata", key, value)

    def commit(self) -> None:
        """Write every staged change in one transaction: the batch is durable or absent
        (apart from records SQLite refuses; see the module docstring)."""
        staged, self._staged = self._staged, _empty_stage()
        try:
            self._write(staged, refused=None)
            self._db.commit()
            return
        except sqlite3.OperationalError:
            # Locked or I/O: nothing is written; keep the batch staged to retry.
            self._db.rollback()
            self._staged = staged
            raise
        except Exception:
            self._db.rollback()
        refused: list[str] = []
        try:
            self._write(staged, refused=refused)
            self._db.commit()
        except BaseException:
            self._db.rollback()
            self._staged = staged
            raise
        raise UnstorableRecords(refused)

    def _write(
        self,
        staged: dict[str, dict[Any, Any]],
        *,
        refused: list[str] | None,
    ) -> None:
        """Execute the batch; with ``refused`` row by row, skipping (and naming) the
        rows SQLite will not take instead of failing the whole batch."""
        if self._prune_processed_before is not None:
            self._db.execute(
                "DELETE FROM processed_ids WHERE processed_ms < ?", (self._prune_processed_before,)
            )
            self._prune_processed_before = None
        if self._prune_orders_before is not None:
            before = (self._prune_orders_before,)
            self._db.execute(
                f"DELETE FROM orders WHERE updated_ms < ? AND status NOT IN ({_OPEN_ORDERS})",
                before,
            )
            self._db.execute(
                f"DELETE FROM algo_orders WHERE updated_ms < ? AND status NOT IN ({_OPEN_ALGOS})",
                before,
            )
            self._prune_orders_before = None
        for table, records in staged.items():
            if not records:
                continue
            if refused is None:
                self._db.executemany(
                    _UPSERT[table], map(_ROW[table], records.keys(), records.values())
                )
                continue
            for key, record in records.items():
                try:
                    self._db.execute(_UPSERT[table], _ROW[table](key, record))
                except sqlite3.OperationalError:
                    raise
                except Exception as error:
                    refused.append(f"{table} {key!r}: {error}")

    def _stage(self, table: str, key: Any, record: Any) -> None:
        self._staged[table][key] = record


_Row = tuple[Any, ...]  # the SQLite parameters of one row


def _empty_stage() -> dict[str, dict[Any, Any]]:
    return {table: {} for table in _UPSERT}


_UPSERT = {
    "orders": "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?, ?)",
    "algo_orders": "INSERT OR REPLACE INTO algo_orders VALUES (?, ?, ?, ?, ?)",
    "positions": "INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
    "balances": "INSERT OR REPLACE INTO balances VALUES (?, ?, ?)",
    "processed_ids": "INSERT OR IGNORE INTO processed_ids VALUES (?, ?)",
    "day_pnl": "INSERT OR REPLACE INTO day_pnl VALUES (?, ?, ?, ?)",
    "risk_counters": "INSERT OR REPLACE INTO risk_counters VALUES (?, ?)",
    "metadata": "INSERT OR REPLACE INTO metadata VALUES (?, ?)",
}
# Row parameters of a staged (key, record), in column order.
_ROW: dict[str, Callable[[Any, Any], _Row]] = {
    "orders": lambda key, order: (
        *key,
        order.client_order_id,
        order.status,
        order.updated_ms,
        encode(order),
    ),
    "algo_orders": lambda key, algo: (
        key,
        algo.algo_id,
        algo.status,
        algo.updated_ms,
        encode(algo),
    ),
    "positions": lambda key, position: (key, position.updated_ms, encode(position)),
    "balances": lambda key, balance: (key, balance.updated_ms, encode(balance)),
    "processed_ids": lambda key, processed_ms: (key, processed_ms),
    "day_pnl": lambda day, pnl: (
        day.isoformat(),
        str(pnl.realised),
        str(pnl.commission),
        str(pnl.funding),
    ),
    "risk_counters": lambda name, counters: (name, encode(counters)),
    "metadata": lambda key, value: (key, value),
}


def _migrate(connection: sqlite3.Connection) -> None:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"state.db has schema {version}, this bot knows {SCHEMA_VERSION}: upgrade the bot"
        )
    while version < SCHEMA_VERSION:
        connection.executescript(_MIGRATIONS[version])
        version += 1
        connection.execute(f"PRAGMA user_version = {version}")
    connection.commit()
