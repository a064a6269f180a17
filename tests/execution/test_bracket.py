from decimal import Decimal
from types import SimpleNamespace

import pytest

from bot.client_ids import Intent, Leg, Source, make_client_id
from bot.exchange.orders import algo_params, order_params
from bot.execution.bracket import ExitSettings, entry_order, exit_orders, exit_prices
from bot.strategy import Signal
from tests.execution.rules_data import btc_rules

RULES = btc_rules()
OPEN_MS = 1_764_000_000_000
INTENT = "midc1z40C"  # OPEN_MS in base 36, then "C": the strategy's candle


def ids(side: str) -> dict[Leg, str]:
    intent = Intent.for_side(OPEN_MS, Source.CANDLE, side)
    return {leg: make_client_id("BTCUSDC", intent, leg, tag="ufb") for leg in Leg}


def signal(side="LONG") -> Signal:
    return Signal(
        symbol="BTCUSDC",
        side=side,
        stop_distance=Decimal("300.04"),
        take_profit_distance=Decimal("600.07"),
        reason="test",
        candle_open_ms=OPEN_MS,
    )


def plan(side="LONG", **settings):
    options = dict(
        working_type="LAST_PRICE",
        tp_order_style="TAKE_PROFIT",
        price_protect=True,
        use_close_position=False,
    )
    sig, qty, leg_ids = signal(side), Decimal("0.012"), ids(side)
    stop, target = exit_prices(
        side, Decimal("60000.0"), sig.stop_distance, sig.take_profit_distance, RULES
    )
    stop_loss, take_profit = exit_orders(
        "BTCUSDC",
        side,
        qty,
        stop,
        target,
        leg_ids[Leg.STOP_LOSS],
        leg_ids[Leg.TAKE_PROFIT],
        ExitSettings(**{**options, **settings}),
    )
    entry = entry_order("BTCUSDC", side, qty, leg_ids[Leg.ENTRY])
    # what is sent: the wire parameters
    return SimpleNamespace(
        entry=order_params(entry),
        stop_loss=algo_params(stop_loss),
        take_profit=algo_params(take_profit),
    )


def test_long_bracket_has_reduce_only_exits_with_configured_working_type_and_tp_style():
    b = plan()

    assert b.entry == {
        "symbol": "BTCUSDC",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.012",
        "newClientOrderId": f"ufb-BTCUSDC-{INTENT}L-E",
        "newOrderRespType": "RESULT",
    }
    assert b.stop_loss["type"] == "STOP_MARKET"
    assert b.take_profit["type"] == "TAKE_PROFIT"
    for exit_params in (b.stop_loss, b.take_profit):
        assert exit_params["side"] == "SELL"
        assert exit_params["reduceOnly"] == "true"
        assert exit_params["quantity"] == "0.012"
        assert exit_params["workingType"] == "CONTRACT_PRICE"
        assert exit_params["priceProtect"] == "true"
        assert exit_params["algoType"] == "CONDITIONAL"
        assert "closePosition" not in exit_params
    assert b.stop_loss["clientAlgoId"] == f"ufb-BTCUSDC-{INTENT}L-SL"
    assert b.take_profit["clientAlgoId"] == f"ufb-BTCUSDC-{INTENT}L-TP"


def test_stop_is_rounded_away_from_entry_and_target_toward_it():
    long, short = plan("LONG"), plan("SHORT")

    # 60000 - 300.04 = 59699.96 -> 59699.9 ; 60000 + 600.07 = 60600.07 -> 60600.0
    assert long.stop_loss["triggerPrice"] == "59699.9"
    assert long.take_profit["triggerPrice"] == "60600.0"
    assert long.take_profit["price"] == "60600.0"
    assert long.take_profit["timeInForce"] == "GTC"
    # 60000 + 300.04 = 60300.04 -> 60300.1 ; 60000 - 600.07 = 59399.93 -> 59400.0
    assert short.stop_loss["triggerPrice"] == "60300.1"
    assert short.take_profit["triggerPrice"] == "59400.0"
    assert short.entry["side"] == "SELL"
    assert short.stop_loss["side"] == "BUY"


def test_take_profit_market_with_close_position_sends_no_quantity():
    b = plan(
        working_type="MARK_PRICE",
        tp_order_style="TAKE_PROFIT_MARKET",
        use_close_position=True,
        price_protect=False,
    )

    for exit_params in (b.stop_loss, b.take_profit):
        assert exit_params["closePosition"] == "true"
        assert "quantity" not in exit_params and "reduceOnly" not in exit_params
        assert exit_params["workingType"] == "MARK_PRICE"
        assert exit_params["priceProtect"] == "false"
    assert b.take_profit["type"] == "TAKE_PROFIT_MARKET"
    assert "price" not in b.take_profit


def test_take_profit_limit_keeps_quantity_even_with_close_position():
    b = plan(use_close_position=True)

    assert b.stop_loss["closePosition"] == "true"
    assert b.take_profit["reduceOnly"] == "true" and b.take_profit["quantity"] == "0.012"


def test_stop_below_zero_is_outside_the_price_filter():
    with pytest.raises(ValueError, match="stop price"):
        exit_prices("LONG", Decimal("60000"), Decimal("70000"), Decimal("1"), RULES)
