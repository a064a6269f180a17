from decimal import Decimal

import pytest

from bot.exchange.orders import (
    algo_params,
    market_order,
    order_params,
    stop_loss,
    take_profit,
    wire_working_type,
)

D = Decimal


def test_market_order_sends_plain_strings():
    order = market_order("BTCUSDC", "BUY", D("0.001"), "ufb-BTCUSDC-1-E", reduce_only=True)
    params = order_params(order)
    assert params == {
        "symbol": "BTCUSDC",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.001",
        "newClientOrderId": "ufb-BTCUSDC-1-E",
        "newOrderRespType": "RESULT",
        "reduceOnly": "true",
    }


def test_floats_are_refused():
    with pytest.raises(TypeError, match="Decimal"):
        market_order("BTCUSDC", "BUY", 0.001, "id")


def test_last_price_maps_to_contract_price():
    assert wire_working_type("LAST_PRICE") == "CONTRACT_PRICE"
    assert wire_working_type("MARK_PRICE") == "MARK_PRICE"
    with pytest.raises(ValueError):
        wire_working_type("INDEX_PRICE")


def test_stop_loss_is_a_reduce_only_conditional_algo_order():
    params = algo_params(
        stop_loss(
            "BTCUSDC", "SELL", D("59000.0"), "sl-1", qty=D("0.002"), working_type="LAST_PRICE"
        )
    )
    assert params["algoType"] == "CONDITIONAL" and params["type"] == "STOP_MARKET"
    assert params["triggerPrice"] == "59000.0" and params["quantity"] == "0.002"
    assert params["reduceOnly"] == "true" and params["workingType"] == "CONTRACT_PRICE"
    assert params["priceProtect"] == "true" and "closePosition" not in params


def test_close_position_excludes_quantity_and_reduce_only():
    params = algo_params(stop_loss("BTCUSDC", "SELL", D("59000"), "sl-1", close_position=True))
    assert params["closePosition"] == "true"
    assert "quantity" not in params and "reduceOnly" not in params
    with pytest.raises(ValueError, match="exactly one"):
        stop_loss("BTCUSDC", "SELL", D("59000"), "sl-1", qty=D("1"), close_position=True)


def test_take_profit_styles():
    limit = algo_params(
        take_profit(
            "BTCUSDC",
            "SELL",
            D("62000"),
            "tp-1",
            style="TAKE_PROFIT",
            price=D("62000"),
            qty=D("0.002"),
        )
    )
    assert limit["type"] == "TAKE_PROFIT" and limit["price"] == "62000"
    assert limit["timeInForce"] == "GTC" and limit["reduceOnly"] == "true"
    market = algo_params(take_profit("BTCUSDC", "SELL", D("62000"), "tp-1", close_position=True))
    assert market["type"] == "TAKE_PROFIT_MARKET" and "price" not in market
    with pytest.raises(ValueError, match="needs a price"):
        take_profit("BTCUSDC", "SELL", D("62000"), "tp-1", style="TAKE_PROFIT", qty=D("1"))
