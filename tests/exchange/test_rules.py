from decimal import ROUND_DOWN, ROUND_UP, Decimal

from bot.domain.rules import SymbolRules
from bot.exchange.rules import rules_from_exchange_info, tradable_usdc_perpetual
from tests.exchange.conftest import symbol_info

D = Decimal


def rules() -> SymbolRules:
    return rules_from_exchange_info(symbol_info())


def test_filters_are_parsed_as_decimals():
    r = rules()
    assert r.tick_size == D("0.1") and r.step_size == D("0.001")
    assert r.market_max_qty == D("120") and r.min_notional == D("100")
    assert r.multiplier_up == D("1.05") and r.margin_asset == "USDC"


def test_only_trading_usdc_perpetuals_are_tradable():
    assert tradable_usdc_perpetual(symbol_info())
    assert not tradable_usdc_perpetual(symbol_info("BTCUSDT", margin_asset="USDT"))
    assert not tradable_usdc_perpetual(symbol_info(status="SETTLING"))
    assert not tradable_usdc_perpetual({**symbol_info(), "contractType": "CURRENT_QUARTER"})


def test_float_noise_quantity_rounds_down_to_a_plain_step_multiple():
    qty = rules().round_qty(D(0.1) + D(0.2), market=True)
    assert f"{qty:f}" == "0.300"
    assert f"{rules().round_qty(D('0.0019999'), market=False):f}" == "0.001"


def test_price_rounds_to_tick_with_chosen_direction():
    r = rules()
    assert f"{r.round_price(D('60000.06')):f}" == "60000.1"
    assert f"{r.round_price(D('60000.06'), rounding=ROUND_DOWN):f}" == "60000.0"
    assert f"{r.round_price(D('60000.01'), rounding=ROUND_UP):f}" == "60000.1"


def test_gate_accepts_a_valid_order():
    r = rules()
    assert (
        r.violation(
            qty=D("0.002"), price=None, mark_price=D("60000"), market=True, reduce_only=False
        )
        is None
    )


def test_gate_names_the_filter_that_refuses():
    r = rules()
    mark = D("60000")
    assert "stepSize" in r.violation(
        qty=D("0.0015"), price=None, mark_price=mark, market=True, reduce_only=False
    )
    assert "minQty" in r.violation(
        qty=D("0"), price=None, mark_price=mark, market=True, reduce_only=False
    )
    assert "MIN_NOTIONAL" in r.violation(
        qty=D("0.001"), price=None, mark_price=mark, market=True, reduce_only=False
    )
    assert "tickSize" in r.violation(
        qty=D("0.01"), price=D("60000.05"), mark_price=mark, market=False, reduce_only=False
    )
    assert "PERCENT_PRICE" in r.violation(
        qty=D("0.01"), price=D("70000"), mark_price=mark, market=False, reduce_only=False
    )
    assert "PERCENT_PRICE" in r.violation(
        qty=D("0.01"),
        price=D("50000"),
        mark_price=mark,
        market=False,
        reduce_only=False,
        side="SELL",
    )


def test_min_notional_uses_mark_price_for_market_orders_and_is_waived_for_exits():
    r = rules()
    assert r.violation(
        qty=D("0.002"), price=None, mark_price=D("40000"), market=True, reduce_only=False
    )
    assert (
        r.violation(
            qty=D("0.001"), price=None, mark_price=D("60000"), market=True, reduce_only=True
        )
        is None
    )
