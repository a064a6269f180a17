"""The snapshot after the bot's own cancels and closes: what they explain is applied,
not reported as drift; anything else still is."""

from __future__ import annotations

from dataclasses import replace

from bot.exchange.user_data import parse_user_data
from bot.oms.events import OwnChanges
from bot.oms.state import CLOSED_BY_RECONCILE
from tests.audit_reader import audit_records
from tests.oms import payloads
from tests.oms.test_reconcile import SL, T0, rest_order, snapshot, synced, usdc


def test_own_cancels_and_closes_are_applied_but_an_unknown_order_is_still_drift(oms, audit_dir):
    synced(oms)
    oms.apply(parse_user_data(payloads.new_order(E=T0 + 300, i=60, c="stale-open"), 0))
    after_flatten = snapshot(positions=[], orders=[rest_order()], algos=[], balance=usdc("9990"))
    btc = frozenset({"BTCUSDC"})
    oms.apply(replace(after_flatten, own_changes=OwnChanges(cancelled=btc, closed=btc)))
    applied = {r["data"]["key"] for r in audit_records(audit_dir, "own_change")}
    assert applied == {"BTCUSDC", "USDC", SL, "BTCUSDC:stale-open"}
    drifts = {r["data"]["key"] for r in audit_records(audit_dir, "drift")}
    assert drifts == {"BTCUSDC:ufb-BTCUSDC-1760000000000-TP"}  # on the exchange, not ours to expect
    view = oms.snapshot()
    assert view.positions == {} and view.order("stale-open").status == CLOSED_BY_RECONCILE


def test_own_changes_on_another_symbol_do_not_explain_a_closed_position(oms, audit_dir):
    synced(oms)
    eth = frozenset({"ETHUSDC"})
    closed = snapshot(positions=[], algos=[])
    oms.apply(replace(closed, own_changes=OwnChanges(cancelled=eth, closed=eth)))
    drifts = {r["data"]["key"] for r in audit_records(audit_dir, "drift")}
    assert drifts == {"BTCUSDC", SL}
