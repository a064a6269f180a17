from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.audit import AuditJournal
from bot.exchange.user_data import parse_user_data
from bot.oms.commands import SeedDayPnl
from bot.oms.events import RawMessage
from bot.oms.oms import Oms
from bot.oms.store import Store
from tests.audit_reader import audit_records
from tests.oms import payloads
from tests.oms.conftest import NOW

DAY = date(2025, 10, 9)  # 1_760_000_000_000 ms is 2025-10-09T08:53:20Z
SL = "ufb-BTCUSDC-1760000000000-SL"
TP = "ufb-BTCUSDC-1760000000000-TP"


def feed(oms: Oms, *raws: str) -> None:
    for raw in raws:
        oms.apply(parse_user_data(raw, 0))


def entry_fill_events() -> list[str]:
    return [
        payloads.new_order(E=1_760_000_000_050),
        payloads.order_update(E=1_760_000_000_100, n="0.24"),
        payloads.account_update(E=1_760_000_000_101, wb="9999.76", pa="0.010"),
    ]


def test_entry_fill_updates_order_position_balance_and_day_pnl(oms):
    feed(oms, *entry_fill_events())
    view = oms.snapshot()
    order = view.order("ufb-BTCUSDC-1760000000000-E")
    assert (order.status, order.filled_qty) == ("FILLED", Decimal("0.010"))
    assert view.open_orders == {}
    assert view.positions["BTCUSDC"].amount == Decimal("0.010")
    assert view.usdc_wallet == Decimal("9999.76")
    assert view.day_pnl(DAY) == Decimal("-0.24")


def test_applying_every_event_twice_changes_nothing(oms):
    events = [*entry_fill_events(), payloads.funding_update()]
    feed(oms, *events)
    once = oms.snapshot()
    feed(oms, *events)
    assert oms.snapshot() == once
    assert once.day_pnl(DAY) == Decimal("-0.24") + Decimal("-1.25")


def test_an_older_event_after_a_newer_one_changes_nothing(oms):
    feed(oms, *entry_fill_events())
    before = oms.snapshot()
    feed(
        oms,
        payloads.new_order(E=1_760_000_000_050),  # order back to NEW
        payloads.account_update(E=1_760_000_000_060, wb="10000", pa="0"),  # flat again
    )
    assert oms.snapshot() == before


def test_partial_fills_out_of_order_are_each_counted_once(oms):
    first = payloads.order_update(E=1_760_000_000_100, X="PARTIALLY_FILLED", l="0.004",
                                  z="0.004", t=1, rp="1", n="0.1")  # fmt: skip
    second = payloads.order_update(E=1_760_000_000_200, l="0.006", z="0.010", t=2, rp="2", n="0.1")
    feed(oms, second, first, second, first)
    view = oms.snapshot()
    assert view.day_pnl(DAY) == Decimal("2.8")
    assert view.order("ufb-BTCUSDC-1760000000000-E").status == "FILLED"


def test_funding_fee_feeds_day_pnl_and_is_audited(oms, audit_dir):
    feed(oms, payloads.funding_update(bc="-1.25", wb="9998.51"))
    view = oms.snapshot()
    assert view.day_pnl(DAY) == Decimal("-1.25")
    assert view.usdc_wallet == Decimal("9998.51")
    assert [r["data"]["amount"] for r in audit_records(audit_dir, "funding")] == ["-1.25"]


def test_liquidation_and_adl_fills_are_recognised(oms, audit_dir):
    feed(
        oms,
        payloads.order_update(c="autoclose-1760000000123", S="SELL", rp="-50", t=11, i=90),
        payloads.order_update(c="adl_autoclose", S="SELL", rp="-5", t=12, i=91),
    )
    assert [r["data"]["trade_id"] for r in audit_records(audit_dir, "liquidation_fill")] == [11]
    assert [r["data"]["trade_id"] for r in audit_records(audit_dir, "adl_fill")] == [12]
    assert oms.snapshot().day_pnl(DAY) == Decimal("-55.48")


def test_every_fill_becomes_an_audit_record(oms, audit_dir):
    feed(oms, *entry_fill_events())
    (fill,) = audit_records(audit_dir, "fill")
    assert fill["data"]["client_order_id"] == "ufb-BTCUSDC-1760000000000-E"
    assert fill["data"]["qty"] == "0.010"
    assert fill["data"]["day_pnl"] == "-0.24"


def test_stop_loss_exits_grow_the_streak_and_a_take_profit_resets_it(oms):
    feed(
        oms,
        payloads.order_update(E=1_760_000_100_000, c=SL, i=1, t=1, S="SELL", R=True, rp="-10"),
        payloads.order_update(
            E=1_760_000_200_000,
            c=SL.replace("00000-", "60000-"),
            i=2,
            t=2,
            S="SELL",
            R=True,
            rp="-10",
        ),
    )
    view = oms.snapshot()
    assert view.sl_streak == 2
    assert view.last_sl_exit_at.timestamp() * 1000 == 1_760_000_199_999
    feed(oms, payloads.order_update(E=1_760_000_300_000, c=TP, i=3, t=3, S="SELL", rp="20"))
    assert oms.snapshot().sl_streak == 0


def test_partial_fills_of_one_stop_loss_count_once(oms):
    feed(
        oms,
        payloads.order_update(
            E=1_760_000_100_000, c=SL, i=1, t=1, X="PARTIALLY_FILLED", l="0.004", z="0.004"
        ),
        payloads.order_update(E=1_760_000_100_001, c=SL, i=1, t=2, l="0.006", z="0.010"),
    )
    assert oms.snapshot().sl_streak == 1


def test_triggered_stop_child_fill_before_its_algo_update_counts_once_linked(oms):
    """The child's client id is not ours; the fill arrives before ALGO_UPDATE TRIGGERED."""
    feed(
        oms,
        payloads.algo_update(E=1_760_000_000_200, caid=SL, X="NEW"),
        payloads.order_update(E=1_760_000_100_000, c="web_child_1", i=777, t=5, S="SELL"),
    )
    assert oms.snapshot().sl_streak == 0
    feed(
        oms,
        payloads.algo_update(E=1_760_000_100_001, caid=SL, X="TRIGGERED", ai="777"),
        payloads.algo_update(E=1_760_000_100_002, caid=SL, X="FINISHED", ai="777"),
    )
    view = oms.snapshot()
    assert view.sl_streak == 1
    assert view.open_algo_orders == {}
    assert view.algo_orders[SL].actual_order_id == 777


def test_real_triggered_algo_update_is_tracked(oms):
    feed(oms, payloads.REAL_TRIGGERED_ALGO_UPDATE)
    algo = oms.snapshot().algo_orders["O-20251211-9"]
    assert (algo.status, algo.actual_order_id, algo.qty) == ("TRIGGERED", 88937381063, Decimal(38))


def test_open_algo_orders_follow_algo_updates(oms):
    feed(oms, payloads.algo_update(caid=TP, o="TAKE_PROFIT_MARKET", tp="61000.0"))
    assert list(oms.snapshot().open_algo_orders) == [TP]
    feed(oms, payloads.algo_update(E=1_760_000_000_300, caid=TP, X="CANCELED"))
    assert oms.snapshot().open_algo_orders == {}


def test_account_config_update_records_leverage(oms):
    feed(oms, payloads.DOC_LEVERAGE_UPDATE, payloads.DOC_MARGIN_CALL, payloads.DOC_TRADE_LITE,
         payloads.DOC_LISTEN_KEY_EXPIRED)  # fmt: skip
    assert oms.snapshot().leverage == {"BTCUSDT": 25}


def test_state_survives_a_restart(tmp_path, audit):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        first = Oms(store, audit, clock=lambda: NOW)
        feed(first, *entry_fill_events(), payloads.algo_update(caid=SL))
        feed(first, payloads.order_update(E=1_760_000_100_000, c=SL, i=5, t=9, rp="-3", n="0"))
        before = first.snapshot()
    with Store.open(path) as store:
        second = Oms(store, audit, clock=lambda: NOW)
        assert second.snapshot() == before
        # the same fill replayed after the restart is not counted again
        feed(second, payloads.order_update(E=1_760_000_100_000, c=SL, i=5, t=9, rp="-3", n="0"))
        assert second.snapshot().day_pnl(DAY) == Decimal("-3.24")
        assert second.snapshot().sl_streak == 1


def test_a_view_is_an_unchanging_copy(oms):
    feed(oms, *entry_fill_events())
    view = oms.snapshot()
    feed(oms, payloads.account_update(E=1_760_000_009_000, pa="0", wb="9990"))
    assert view.positions["BTCUSDC"].amount == Decimal("0.010")
    assert oms.snapshot().positions == {}


def test_seeding_day_pnl_keeps_the_larger_loss_without_double_counting(oms):
    feed(oms, payloads.order_update(rp="-30", n="1"))  # local: -31
    oms.apply(SeedDayPnl(DAY, Decimal("-20"), Decimal("-1"), Decimal(0)))
    assert oms.snapshot().day_pnl(DAY) == Decimal("-31")
    oms.apply(SeedDayPnl(DAY, Decimal("-40"), Decimal("-1"), Decimal(0)))
    assert oms.snapshot().day_pnl(DAY) == Decimal("-41")
    # a lost state.db: the exchange's history alone sets the day
    other = date(2025, 10, 8)
    oms.apply(SeedDayPnl(other, Decimal(5), Decimal(-1), Decimal(0)))
    assert oms.snapshot().day_pnl(other) == 4


def test_paper_fills_in_binance_format_are_plain_raw_messages():
    message = RawMessage(payloads.order_update(), received_at_ms=1)
    assert parse_user_data(message.payload, message.received_at_ms).is_fill


def test_commission_in_another_asset_is_not_counted_as_usdc(store):
    with AuditJournal(store.path.parent / "audit") as journal:
        oms = Oms(store, journal, clock=lambda: NOW)
        feed(oms, payloads.order_update(N="BNB", n="0.001", rp="1"))
        assert oms.snapshot().day_pnl(DAY) == Decimal(1)


def test_a_usdt_margined_fill_on_the_same_account_is_not_counted_as_usdc(store):
    with AuditJournal(store.path.parent / "audit") as journal:
        oms = Oms(store, journal, clock=lambda: NOW)
        feed(oms, payloads.order_update(s="BTCUSDT", N="USDT", n="0.5", rp="-30"))
        assert oms.snapshot().day_pnl(DAY) == 0
    (record,) = audit_records(store.path.parent / "audit", "fill")
    assert record["data"]["counted"] == "0"  # what alerts read as the day PnL's change


def test_liquidation_and_adl_closes_raise_an_alarm_naming_the_close_reason(oms, audit_dir, caplog):
    feed(
        oms,
        payloads.order_update(c="autoclose-1760000000123", S="SELL", x="CALCULATED", rp="-50",
                              t=11, i=90),
        payloads.order_update(c="adl_autoclose", S="SELL", rp="-5", t=12, i=91),
    )  # fmt: skip
    alarms = audit_records(audit_dir, "alarm")
    assert [(a["data"]["kind"], a["data"]["close_reason"]) for a in alarms] == [
        ("forced_close", "LIQUIDATION"),
        ("forced_close", "ADL"),
    ]
    assert alarms[0]["data"]["symbol"] == "BTCUSDC" and alarms[0]["data"]["realised_pnl"] == "-50"
    assert [r.levelname for r in caplog.records if "LIQUIDATION" in r.getMessage()] == ["CRITICAL"]
    assert oms.snapshot().day_pnl(DAY) == Decimal("-55.48")


def test_margin_call_raises_an_alarm(oms, audit_dir, caplog):
    margin_call = (
        '{"e":"MARGIN_CALL","E":1760000000500,"cw":"3.16812045","p":[{"s":"BTCUSDC","ps":"BOTH",'
        '"pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}'
    )
    feed(oms, margin_call)
    (alarm,) = audit_records(audit_dir, "alarm")
    assert alarm["data"]["kind"] == "margin_call" and "BTCUSDC" in alarm["data"]["positions"]
    assert any(
        r.levelname == "CRITICAL" and "MARGIN CALL" in r.getMessage() for r in caplog.records
    )


def test_funding_fee_already_in_the_seeded_income_is_not_counted_again(oms):
    funding = payloads.funding_update(E=1_760_003_600_000, bc="-1.25")  # T = E - 1
    seed = SeedDayPnl(
        DAY, Decimal(0), Decimal(0), Decimal("-1.25"), frozenset({"funding:BTCUSDC:1760003599999"})
    )
    oms.apply(seed)
    feed(oms, funding)
    assert oms.snapshot().day_pnl(DAY) == Decimal("-1.25")


def test_fill_already_in_the_seeded_income_is_not_counted_again(oms):
    oms.apply(
        SeedDayPnl(
            DAY, Decimal("-30"), Decimal("-1"), Decimal(0), frozenset({"trade:BTCUSDC:1001"})
        )
    )
    feed(oms, payloads.order_update(rp="-30", n="1", t=1001))
    assert oms.snapshot().day_pnl(DAY) == Decimal("-31")


def test_isolated_funding_fee_takes_its_symbol_from_the_position(oms, audit_dir):
    isolated = payloads.account_update(
        E=1_760_003_600_000, m="FUNDING_FEE", bc="-0.5", wb="9999.5", pa="0.010"
    )
    feed(oms, isolated, isolated)
    assert oms.snapshot().day_pnl(DAY) == Decimal("-0.5")
    assert [r["data"]["symbol"] for r in audit_records(audit_dir, "funding")] == ["BTCUSDC"]


def test_a_reused_client_id_finds_the_newest_order_also_after_a_restart(oms, store, audit_dir):
    feed(
        oms,
        payloads.order_update(E=1_760_000_000_100, c="reused", i=1, t=1),
        payloads.order_update(E=1_760_000_500_000, c="reused", i=2, t=2),
        payloads.order_update(E=1_760_000_000_200, c="reused", i=1, t=3),  # the old one, late
    )
    assert oms.snapshot().order("reused").order_id == 2
    with AuditJournal(audit_dir) as journal:  # a new process reads the same store
        assert Oms(store, journal, clock=lambda: NOW).snapshot().order("reused").order_id == 2
