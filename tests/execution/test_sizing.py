from decimal import Decimal

from bot.execution.sizing import Refusal, size_entry
from tests.execution.rules_data import btc_rules

RULES = btc_rules()


def test_risk_share_over_stop_distance_rounded_down_to_the_step():
    # 1 % of 10000 = 100 USDC at risk; stop 300 away -> 0.3333.. BTC -> 0.333
    qty = size_entry(
        Decimal("10000"), Decimal("1"), Decimal("300"), Decimal("60000"), RULES, Decimal("50000")
    )

    assert qty == Decimal("0.333")
    assert f"{qty:f}" == "0.333"


def test_capped_by_max_notional():
    qty = size_entry(
        Decimal("10000"), Decimal("1"), Decimal("10"), Decimal("60000"), RULES, Decimal("1000")
    )

    assert qty == Decimal("0.016")  # 1000 / 60000 = 0.01666.. rounded down
    assert qty * Decimal("60000") <= Decimal("1000")


def test_float_noise_never_reaches_the_order():
    # 0.1 + 0.2 as float is 0.30000000000000004; sizing must still send "0.300"
    noisy_pct = Decimal(0.1 + 0.2)  # 0.3000000000000000444089209850062616169452667236328125
    qty = size_entry(
        Decimal("1000"), noisy_pct, Decimal("10"), Decimal("100"), RULES, Decimal("1000000")
    )

    assert f"{qty:f}" == "0.300"
    assert qty % RULES.market_step_size == 0


def test_below_min_qty_is_refused_not_enlarged():
    result = size_entry(
        Decimal("100"), Decimal("0.5"), Decimal("2000"), Decimal("60000"), RULES, Decimal("5000")
    )

    assert isinstance(result, Refusal)
    assert "below minQty 0.001" in result.reason and "refused rather than enlarged" in result.reason


def test_below_min_notional_is_refused():
    # 0.001 BTC at price 4000 = 4 USDC < MIN_NOTIONAL 5
    result = size_entry(
        Decimal("100"), Decimal("1"), Decimal("900"), Decimal("4000"), RULES, Decimal("5000")
    )

    assert isinstance(result, Refusal) and "MIN_NOTIONAL 5" in result.reason


def test_zero_stop_distance_is_refused():
    result = size_entry(
        Decimal("10000"), Decimal("1"), Decimal("0"), Decimal("60000"), RULES, Decimal("5000")
    )

    assert isinstance(result, Refusal) and "stop distance" in result.reason
