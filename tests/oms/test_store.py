from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from bot.oms.store import SCHEMA_VERSION, Store, StoreError


def test_metadata_is_committed_with_the_batch_and_round_trips_across_reopen(tmp_path):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        assert store.load().meta == {}
        store.set_meta("plan:BTCUSDC", "{}")
        assert store.load().meta == {}  # staged, not yet committed
        store.commit()
    with Store.open(path) as store:
        assert store.load().meta == {"plan:BTCUSDC": "{}"}


def test_database_uses_wal_and_records_its_schema_version(tmp_path):
    path = tmp_path / "state.db"
    Store.open(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_a_database_from_a_newer_bot_is_refused(tmp_path):
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade the bot"):
        Store.open(path)


def test_processed_ids_older_than_retention_are_pruned(tmp_path):
    with Store.open(tmp_path / "state.db") as store:
        store.add_processed("trade:BTCUSDC:1", 1_000)
        store.add_processed("trade:BTCUSDC:2", 5_000)
        store.commit()
        store.prune_processed(before_ms=2_000)
        store.commit()
        assert set(store.load().processed_ids) == {"trade:BTCUSDC:2"}


def test_staged_records_are_written_once_per_key_at_commit(tmp_path):
    from bot.oms.state import BalanceState

    path = tmp_path / "state.db"
    with Store.open(path) as store:
        for wallet in ("1", "2", "3"):
            store.put_balance(BalanceState("USDC", Decimal(wallet), Decimal(wallet), 1))
        assert store.load().balances == []  # not written before the batch commits
        store.commit()
    with Store.open(path) as store:
        assert store.load().balances == [BalanceState("USDC", Decimal(3), Decimal(3), 1)]


def _order(order_id: int, client_order_id: str = "ufb-BTCUSDC-1-E"):
    from bot.oms.state import OrderState

    zero = Decimal(0)
    return OrderState(
        "BTCUSDC", order_id, client_order_id, "BUY", "MARKET", "FILLED",
        zero, zero, zero, zero, zero, False, False, 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "unstorable", [_order(2**63), _order(7, "ufb-\ud800")], ids=["int64", "surrogate"]
)
def test_a_record_sqlite_refuses_never_poisons_later_commits(tmp_path, unstorable):
    from bot.oms.store import UnstorableRecords

    path = tmp_path / "state.db"
    with Store.open(path) as store:
        store.put_order(unstorable)
        store.put_order(_order(1))  # a good record of the same batch
        with pytest.raises(UnstorableRecords, match="1 record"):
            store.commit()
        store.put_order(_order(2))
        store.commit()  # the next batch is not poisoned
    with Store.open(path) as store:
        assert sorted(o.order_id for o in store.load().orders) == [1, 2]
