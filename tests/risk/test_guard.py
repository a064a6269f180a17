from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.client_ids import Leg
from bot.domain.enums import Side
from bot.risk import Allowed, OrderIntent, Refused, RiskGuard, RiskLimits, RiskRule, RiskState
from tests.execution.rules_data import btc_rules

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RULES = btc_rules()
LIMITS = RiskLimits(
    daily_loss_limit=Decimal("100"),
    max_sl_streak=3,
    sl_streak_cooldown_min=60,
    cooldown_until_next_utc_day=False,
    max_open_positions=2,
    max_notional_per_symbol=Decimal("5000"),
    max_total_notional=Decimal("8000"),
    max_leverage=10,
)


def state(**changes) -> RiskState:
    base = dict(
        kill_switch=False,
        day_pnl=Decimal("0"),
        sl_streak=0,
        last_sl_exit_at=None,
        open_positions={},
        now=NOW,
        leverage=5,
    )
    return RiskState(**{**base, **changes})


def entry(qty="0.01", symbol="BTCUSDC", price=None) -> OrderIntent:
    return OrderIntent(
        symbol=symbol,
        side=Side.BUY,
        qty=Decimal(qty),
        price=None if price is None else Decimal(price),
        mark_price=Decimal("60000"),
        leg=Leg.ENTRY,
        client_id="ufb-BTCUSDC-1-E",
    )


def stop_loss(qty="0.01") -> OrderIntent:
    return OrderIntent(
        symbol="BTCUSDC",
        side=Side.SELL,
        qty=Decimal(qty),
        price=None,
        mark_price=Decimal("60000"),
        reduce_only=True,
        leg=Leg.STOP_LOSS,
        trigger_price=Decimal("59000.0"),
    )


def check(intent, st):
    return RiskGuard(LIMITS).check(intent, st, RULES)


def test_a_normal_entry_is_allowed():
    assert isinstance(check(entry(), state()), Allowed)


def test_daily_loss_limit_blocks_entries_but_not_exits():
    at_limit = state(day_pnl=Decimal("-100"))

    refused = check(entry(), at_limit)
    exit_decision = check(stop_loss(), at_limit)

    assert isinstance(refused, Refused)
    assert "-100" in refused.reason and "100 USDC" in refused.reason
    assert isinstance(exit_decision, Allowed)


def test_loss_just_under_the_limit_still_allows_entries():
    assert isinstance(check(entry(), state(day_pnl=Decimal("-99.99"))), Allowed)


def test_kill_switch_blocks_entries_but_not_exits():
    killed = state(kill_switch=True)

    assert "kill switch" in check(entry(), killed).reason
    assert isinstance(check(entry(), killed), Refused)
    assert isinstance(check(stop_loss(), killed), Allowed)


def test_sl_streak_blocks_during_cooldown_then_releases():
    last_sl = NOW - timedelta(minutes=30)
    during = state(sl_streak=3, last_sl_exit_at=last_sl)
    after = state(sl_streak=3, last_sl_exit_at=last_sl, now=last_sl + timedelta(minutes=60))

    blocked = check(entry(), during)

    assert isinstance(blocked, Refused)
    assert "3 stop-loss exits in a row" in blocked.reason and "60 min" in blocked.reason
    assert isinstance(check(stop_loss(), during), Allowed)
    assert isinstance(check(entry(), after), Allowed)


def test_sl_streak_below_the_limit_does_not_block():
    assert isinstance(check(entry(), state(sl_streak=2, last_sl_exit_at=NOW)), Allowed)


def test_sl_streak_cooldown_until_next_utc_day():
    guard = RiskGuard(replace(LIMITS, cooldown_until_next_utc_day=True))
    last_sl = NOW - timedelta(hours=11)  # 01:00 UTC today
    late_today = state(sl_streak=3, last_sl_exit_at=last_sl, now=NOW.replace(hour=23, minute=59))
    tomorrow = state(sl_streak=3, last_sl_exit_at=last_sl, now=NOW + timedelta(hours=12))

    blocked = guard.check(entry(), late_today, RULES)

    assert isinstance(blocked, Refused) and "00:00 UTC" in blocked.reason
    assert isinstance(guard.check(entry(), tomorrow, RULES), Allowed)


def test_max_open_positions_blocks_a_new_symbol_only():
    two_open = state(open_positions={"ETHUSDC": Decimal("1000"), "SOLUSDC": Decimal("500")})

    refused = check(entry(), two_open)

    assert isinstance(refused, Refused)
    assert "2 positions are open" in refused.reason and "limit is 2" in refused.reason
    held = state(open_positions={"ETHUSDC": Decimal("1000"), "BTCUSDC": Decimal("600")})
    assert isinstance(check(entry(), held), Allowed)


def test_notional_cap_per_symbol():
    # 0.09 BTC at 60000 = 5400 > 5000
    refused = check(entry(qty="0.09"), state())

    assert isinstance(refused, Refused)
    assert "5400" in refused.reason and "per-symbol cap 5000" in refused.reason


def test_notional_cap_in_total():
    st = state(open_positions={"ETHUSDC": Decimal("4000")})

    refused = check(entry(qty="0.07"), st)  # 4200 new + 4000 held > 8000

    assert isinstance(refused, Refused)
    assert "total cap 8000" in refused.reason


def test_leverage_above_the_cap_refuses_entries():
    refused = check(entry(), state(leverage=20))

    assert isinstance(refused, Refused) and "20x" in refused.reason and "10x" in refused.reason


def test_min_notional_is_checked_for_entries_and_waived_for_exits():
    tiny = "0.001"  # at mark 4000: 4 USDC, below MIN_NOTIONAL 5
    small_entry = OrderIntent(
        symbol="BTCUSDC",
        side=Side.BUY,
        qty=Decimal(tiny),
        price=None,
        mark_price=Decimal("4000"),
    )
    small_exit = OrderIntent(
        symbol="BTCUSDC",
        side=Side.SELL,
        qty=Decimal(tiny),
        price=None,
        mark_price=Decimal("4000"),
        reduce_only=True,
    )

    refused = check(small_entry, state())

    assert isinstance(refused, Refused) and "MIN_NOTIONAL" in refused.reason
    assert isinstance(check(small_exit, state(kill_switch=True)), Allowed)


@pytest.mark.parametrize("intent", [entry(qty="0.0105"), stop_loss(qty="0.0105")])
def test_precision_is_checked_for_entries_and_exits(intent):
    refused = check(intent, state())

    assert isinstance(refused, Refused) and "stepSize" in refused.reason


def test_trigger_off_tick_is_refused():
    bad = OrderIntent(
        symbol="BTCUSDC",
        side=Side.SELL,
        qty=None,
        price=None,
        mark_price=Decimal("60000"),
        close_position=True,
        leg=Leg.STOP_LOSS,
        trigger_price=Decimal("59000.05"),
    )

    refused = check(bad, state())

    assert isinstance(refused, Refused) and "tickSize" in refused.reason


@pytest.mark.parametrize(
    ("intent", "st", "rule"),
    [
        (entry(), state(kill_switch=True), RiskRule.KILL_SWITCH),
        (entry(), state(day_pnl=Decimal("-100")), RiskRule.DAILY_LOSS),
        (entry(), state(sl_streak=3, last_sl_exit_at=NOW), RiskRule.SL_STREAK_COOLDOWN),
        (entry(), state(leverage=11), RiskRule.MAX_LEVERAGE),
        (
            entry(symbol="SOLUSDC"),
            state(open_positions={"BTCUSDC": Decimal(1), "ETHUSDC": Decimal(1)}),
            RiskRule.MAX_OPEN_POSITIONS,
        ),
        (entry(qty="0.1"), state(), RiskRule.MAX_NOTIONAL_PER_SYMBOL),
        (
            entry(qty="0.08"),
            state(open_positions={"ETHUSDC": Decimal(4000)}),
            RiskRule.MAX_TOTAL_NOTIONAL,
        ),
        (entry(qty="0.0101"), state(), RiskRule.PRECISION),
    ],
)
def test_each_refusal_names_the_rule_that_refused_it(intent, st, rule):
    refused = check(intent, st)

    assert isinstance(refused, Refused) and refused.rule is rule
