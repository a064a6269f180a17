"""Which audit records become alerts, with which words: once per occurrence."""

from __future__ import annotations

from decimal import Decimal

from bot.alerts import AlertRules, Limits
from bot.config import AlertEvent, AlertEventsConfig

ENTRY = "ufb-BTCUSDC-mhx0k2g0CL-E"
STOP = "ufb-BTCUSDC-mhx0k2g0CL-SL"
REPAIR = "ufb-BTCUSDC-mhx0k2g0RN-SL"


def rules(**events: AlertEvent) -> AlertRules:
    limits = Limits(daily_loss_limit=Decimal(50), max_sl_streak=3, cooldown_min=240)
    return AlertRules(AlertEventsConfig(**events), limits, tag="ufb", label="ufb")


def titles(rule: AlertRules, *records: tuple[str, dict]) -> list[str]:
    return [
        a.title for kind, data in records for a in rule.alerts_for({"kind": kind, "data": data})
    ]


def fill(client_id: str, realised: str, day_pnl: str, commission: str = "0.02") -> dict:
    """A USDC fill's record as the ledger writes it (fee paid in USDC)."""
    return {
        "symbol": "BTCUSDC",
        "client_order_id": client_id,
        "side": "SELL",
        "qty": "0.00200",
        "price": "59400.10",
        "realised_pnl": realised,
        "commission": commission,
        "commission_asset": "USDC",
        "counted": str(Decimal(realised) - Decimal(commission)),
        "day_pnl": day_pnl,
    }


def test_an_exit_fill_names_its_reason_and_pnl_at_normal_precision():
    assert titles(rules(), ("fill", fill(STOP, "-1.200", "-1.22"))) == [
        "ufb: BTCUSDC exit by stop loss: SELL 0.002 @ 59400.1, PnL -1.2 USDC"
    ]


def test_the_daily_loss_limit_is_alerted_once_by_the_fill_that_reached_it():
    rule = rules()
    got = titles(
        rule,
        ("fill", fill(STOP, "-30", "-30.02")),
        ("fill", fill(STOP, "-25", "-55.04")),  # crosses -50
        ("fill", fill(STOP, "-5", "-60.06")),  # already past: no second alert
        ("funding", {"symbol": "BTCUSDC", "amount": "-1", "day_pnl": "-61.06"}),
    )
    refusals = [t for t in got if "daily loss" in t]
    assert refusals == [
        "ufb: daily loss limit reached: day PnL -55.04 USDC (limit 50); no new entries until 00:00 UTC"
    ]


def test_the_stop_loss_streak_is_alerted_when_it_reaches_the_limit_only():
    rule = rules()
    streaks = [("sl_streak", {"sl_streak": n, "client_order_id": STOP}) for n in (1, 2, 3)]
    assert titles(rule, *streaks) == ["ufb: stop-loss streak 3 reached: entries paused for 240 min"]


def test_each_stop_loss_past_the_limit_starts_a_new_cooldown_and_is_alerted():
    # the streak is reset by a take profit only: after the cooldown, the next stop-loss
    # exit (streak 4) pauses entries again, and the operator must hear of it too
    rule = rules()
    streaks = [("sl_streak", {"sl_streak": n, "client_order_id": STOP}) for n in (3, 4)]
    assert titles(rule, *streaks) == [
        "ufb: stop-loss streak 3 reached: entries paused for 240 min",
        "ufb: stop-loss streak 4 reached: entries paused for 240 min",
    ]


def test_a_stop_placed_is_off_by_default_and_names_its_trigger_when_on():
    sent = (
        "order_send",
        {"leg": "STOP_LOSS", "client_id": STOP, "params": {"triggerPrice": "59000.00"}},
    )
    accepted = ("order_accepted", {"leg": "STOP_LOSS", "client_id": STOP, "status": "NEW"})
    assert titles(rules(), sent, accepted) == []
    assert titles(rules(stop_placed=AlertEvent(level="info")), sent, accepted) == [
        "ufb: BTCUSDC stop placed at 59000"
    ]


def test_a_switched_off_event_sends_nothing_and_levels_follow_the_config():
    off = rules(kill_switch=AlertEvent(enabled=False))
    assert titles(off, ("kill_switch", {"engaged": True})) == []
    (alarm,) = rules().alerts_for(
        {"kind": "alarm", "data": {"kind": "stop_not_placed", "reason": "x", "symbol": "BTCUSDC"}}
    )
    assert (alarm.event, alarm.level) == ("stop_failed", "critical")


def test_start_and_stop_are_alerted_for_the_service_and_failed_runs_only():
    rule = rules()
    assert titles(
        rule,
        ("start", {"mode": "once", "venue": "sim", "symbols": ["BTCUSDC"]}),
        ("stop", {"mode": "once", "outcome": "refused"}),
        ("start", {"mode": "service", "venue": "sim", "symbols": ["BTCUSDC"]}),
        ("stop", {"mode": "once", "outcome": "error: AuthError"}),
    ) == ["ufb: service started (sim, BTCUSDC)", "ufb: once failed: error: AuthError"]


def test_the_daily_summary_sums_up_yesterday():
    summary = {
        "day": "2026-11-29",
        "realised": "12.50",
        "commission": "-0.40",
        "funding": "-0.10",
        "total": "12.00",
        "filled_orders": 4,
    }
    assert titles(rules(), ("daily_roll", {"day": "2026-11-30", "yesterday": summary})) == [
        "ufb: 2026-11-29: PnL +12 USDC (realised +12.5, fees -0.4, funding -0.1), 4 orders filled"
    ]


def test_a_liquidation_fill_is_an_exit_by_liquidation_and_counts_towards_the_daily_loss():
    liquidation = fill("autoclose-1760000000123", "-60", "-60.02")
    flatten = fill("ufb-BTCUSDC-mhx0k2g0KN-X", "1", "-59.02")
    assert titles(rules(), ("liquidation_fill", liquidation), ("fill", flatten)) == [
        "ufb: BTCUSDC exit by liquidation: SELL 0.002 @ 59400.1, PnL -60 USDC",
        "ufb: daily loss limit reached: day PnL -60.02 USDC (limit 50); no new entries until 00:00 UTC",
        "ufb: BTCUSDC exit by flatten: SELL 0.002 @ 59400.1, PnL +1 USDC",
    ]


def test_a_fill_of_another_margin_asset_never_reaches_the_usdc_daily_loss_limit():
    # a USDT-M trade on the same account is not in the USDC day PnL (the ledger leaves
    # it out), so it can neither cross the limit nor repeat the alert
    crossing = fill(STOP, "-25", "-55.02")
    usdt = {**fill("web_manual_1", "-10", "-55.02"), "symbol": "BTCUSDT", "counted": "0"}
    got = titles(rules(), ("fill", crossing), ("fill", usdt))
    assert [t for t in got if "daily loss" in t] == [
        "ufb: daily loss limit reached: day PnL -55.02 USDC (limit 50); no new entries until 00:00 UTC"
    ]
