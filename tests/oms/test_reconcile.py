from __future__ import annotations

from decimal import Decimal

from bot.domain.records import AlgoOrder, Balance, Order, Position
from bot.exchange import replies
from bot.exchange.user_data import parse_user_data
from bot.oms.events import Snapshot
from bot.oms.oms import load_view
from bot.oms.reconcile import diff, format_drift_table
from bot.oms.state import CLOSED_BY_RECONCILE, OmsView
from tests.audit_reader import audit_records
from tests.oms import payloads

T0 = 1_760_000_000_000
LATER = T0 + 60_000
ENTRY = "ufb-BTCUSDC-1760000000000-E"
SL = "ufb-BTCUSDC-1760000000000-SL"


def rest_position(amount: str, entry: str = "60000.0", updated: int = LATER) -> Position:
    return replies.positions([{"symbol": "BTCUSDC", "positionSide": "BOTH", "positionAmt": amount,
            "entryPrice": entry, "breakEvenPrice": entry, "unRealizedProfit": "0",
            "isolatedWallet": "0", "updateTime": updated}], "positionRisk")[0]  # fmt: skip


def rest_order(order_id: int = 50, client_id: str = "ufb-BTCUSDC-1760000000000-TP") -> Order:
    return replies.order({"orderId": order_id, "symbol": "BTCUSDC", "status": "NEW", "clientOrderId": client_id,
            "price": "61000.0", "avgPrice": "0", "origQty": "0.010", "executedQty": "0",
            "type": "LIMIT", "side": "SELL", "reduceOnly": True, "closePosition": False,
            "stopPrice": "0", "updateTime": LATER}, "openOrders")  # fmt: skip


def rest_algo(trigger: str = "59000.0") -> AlgoOrder:
    return replies.algo_order({"algoId": 2148719, "clientAlgoId": SL, "orderType": "STOP_MARKET",
            "symbol": "BTCUSDC", "side": "SELL", "quantity": "0", "algoStatus": "NEW",
            "triggerPrice": trigger, "price": "0", "workingType": "MARK_PRICE",
            "closePosition": True, "reduceOnly": False, "actualOrderId": "",
            "updateTime": LATER}, "openAlgoOrders")  # fmt: skip


def usdc(wallet: str = "9999.76", updated: int = LATER) -> Balance:
    row = {"asset": "USDC", "walletBalance": wallet, "crossWalletBalance": wallet,
           "updateTime": updated}  # fmt: skip
    return replies.account({"assets": [row]}, "account").balances[0]


def snapshot(*, positions=None, orders=(), algos=(), balance=None, symbols=None) -> Snapshot:
    return Snapshot.from_rest(
        [rest_position("0.010")] if positions is None else positions,
        list(orders),
        list(algos),
        usdc() if balance is None else balance,
        taken_at_ms=LATER + 100,
        symbols=symbols,
    )


def synced(oms) -> None:
    """Local state: long 0.010 with its SL algo order, balance 9999.76."""
    for raw in (
        payloads.order_update(E=T0 + 100),
        payloads.account_update(E=T0 + 101),
        payloads.algo_update(E=T0 + 200, caid=SL),
    ):
        oms.apply(parse_user_data(raw, 0))


def test_matching_state_has_no_drift(oms):
    synced(oms)
    assert diff(snapshot(algos=[rest_algo()]), oms.snapshot()) == []
    assert format_drift_table([]) == "no drift: local state matches the exchange"


def test_each_kind_of_drift_is_found(oms):
    synced(oms)
    oms.apply(parse_user_data(payloads.new_order(E=T0 + 300, i=60, c="stale-open"), 0))
    exchange = snapshot(
        positions=[rest_position("0.020", "60500.0")],
        orders=[rest_order()],
        algos=[rest_algo(trigger="58000.0")],
        balance=usdc("9000"),
    )
    drifts = diff(exchange, oms.snapshot())
    found = {(d.kind, d.key, d.local is None, d.exchange is None) for d in drifts}
    assert found == {
        ("order", "BTCUSDC:ufb-BTCUSDC-1760000000000-TP", True, False),  # unknown locally
        ("order", "BTCUSDC:stale-open", False, True),  # gone from the exchange
        ("algo_order", SL, False, False),  # trigger moved
        ("position", "BTCUSDC", False, False),
        ("balance", "USDC", False, False),
    }
    table = format_drift_table(drifts)
    assert "0.02 @ 60500" in table
    assert table.splitlines()[0].split() == ["KIND", "KEY", "LOCAL", "EXCHANGE"]


def test_a_position_closed_on_the_exchange_is_drift(oms):
    synced(oms)
    (drift,) = diff(snapshot(positions=[], algos=[rest_algo()]), oms.snapshot())
    assert (drift.kind, drift.exchange) == ("position", None)


def test_local_state_newer_than_the_snapshot_is_not_drift(oms):
    synced(oms)
    before_the_fill = Snapshot.from_rest([], [], [], usdc("10000", updated=T0),
                                         taken_at_ms=T0 + 50)  # fmt: skip
    assert diff(before_the_fill, oms.snapshot()) == []


def test_symbols_outside_the_snapshot_are_not_compared(oms):
    synced(oms)
    other = snapshot(positions=[], symbols=frozenset({"ETHUSDC"}))
    assert diff(other, oms.snapshot()) == []


def test_applying_a_snapshot_repairs_state_and_audits_each_drift(oms, audit_dir):
    synced(oms)
    oms.apply(parse_user_data(payloads.new_order(E=T0 + 300, i=60, c="stale-open"), 0))
    exchange = snapshot(
        positions=[rest_position("0.020", "60500.0")],
        orders=[rest_order()],
        algos=[rest_algo(trigger="58000.0")],
        balance=usdc("9000"),
    )
    oms.apply(exchange)
    view = oms.snapshot()
    assert view.positions["BTCUSDC"].amount == Decimal("0.020")
    assert view.usdc_wallet == Decimal("9000")
    assert list(view.open_orders) == ["ufb-BTCUSDC-1760000000000-TP"]
    assert view.order("stale-open").status == CLOSED_BY_RECONCILE
    assert view.open_algo_orders[SL].trigger_price == Decimal("58000.0")
    drifts = audit_records(audit_dir, "drift")
    assert len(drifts) == 5
    position = next(d["data"] for d in drifts if d["data"]["kind"] == "position")
    assert position["exchange"] == "0.02 @ 60500"  # as sent, without trailing zeros
    assert diff(exchange, view) == []
    oms.apply(exchange)
    assert len(audit_records(audit_dir, "drift")) == 5


def test_events_older_than_an_applied_snapshot_do_not_undo_it(oms):
    synced(oms)
    oms.apply(snapshot(positions=[], algos=[rest_algo()]))
    oms.apply(parse_user_data(payloads.account_update(E=T0 + 500, pa="0.010"), 0))
    assert oms.snapshot().positions == {}


def test_empty_view_against_an_empty_account_has_no_drift():
    empty = Snapshot.from_rest([], [], [], None, taken_at_ms=T0)
    assert diff(empty, OmsView()) == []


def test_the_read_only_reconcile_view_loads_from_the_store_alone(oms, store):
    synced(oms)
    view = load_view(store)
    assert view == oms.snapshot()
    (drift,) = diff(snapshot(positions=[], algos=[rest_algo()]), view)
    assert (drift.kind, drift.key) == ("position", "BTCUSDC")
