"""Orders, positions and Binance's rejections, each produced by the situation that causes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance.error import ClientError
from binance.um_futures import UMFutures

from bot.sim import Simulator

BTC = "BTCUSDC"


def _code(call) -> int:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.error_code


def _algo(client: UMFutures, **params) -> dict:
    return client.sign_request("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", **params})


@pytest.fixture
def priced(sim: Simulator) -> Simulator:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    sim.set_prices("ETHUSDC", last=Decimal("3000"), mark=Decimal("3000"))
    return sim


def test_market_entry_opens_position_with_fee_and_exit_realises_pnl(
    priced: Simulator, client: UMFutures
) -> None:
    ack = client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    assert ack["status"] == "NEW"  # ACK answers before the fill, as Binance does
    position = priced.position(BTC)
    assert (position["positionAmt"], position["entryPrice"]) == ("0.010", "60000.00000000")
    assert priced.balance() == Decimal("10000") - Decimal("0.24")  # 600 × 0.0004 taker
    priced.set_prices(BTC, last=Decimal("61000"), mark=Decimal("61000"))
    result = client.new_order(
        symbol=BTC,
        side="SELL",
        type="MARKET",
        quantity="0.010",
        reduceOnly="true",
        newOrderRespType="RESULT",
    )
    assert result["status"] == "FILLED"
    assert priced.position(BTC)["positionAmt"] == "0.000"
    trades = client.get_account_trades(symbol=BTC)
    assert [t["realizedPnl"] for t in trades] == ["0.00000000", "10.00000000"]
    income = client.get_income_history(symbol=BTC)
    assert {i["incomeType"] for i in income} == {"REALIZED_PNL", "COMMISSION"}
    assert priced.balance() == Decimal("10000") - Decimal("0.24") + 10 - Decimal("0.244")


def test_limit_rests_then_fills_as_maker_when_last_crosses(
    priced: Simulator, client: UMFutures
) -> None:
    order = client.new_order(
        symbol=BTC,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.002",
        price="59000",
        newClientOrderId="entry-1",
    )
    assert [o["orderId"] for o in priced.open_orders(BTC)] == [order["orderId"]]
    priced.set_prices(BTC, last=Decimal("58990"))
    filled = client.query_order(symbol=BTC, origClientOrderId="entry-1")
    assert (filled["status"], filled["avgPrice"]) == ("FILLED", "59000.00000000")
    assert priced.open_orders() == []


def test_precision_tick_and_step_errors(priced: Simulator, client: UMFutures) -> None:
    def limit(price: str, qty: str = "0.002"):
        return lambda: client.new_order(
            symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity=qty, price=price
        )

    assert _code(limit("59000.123")) == -1111  # more decimals than pricePrecision
    assert _code(limit("59000.05")) == -4014  # not a multiple of tick 0.10
    assert _code(limit("59000", qty="0.0025")) == -1111  # more decimals than quantityPrecision
    assert _code(limit("70000")) == -4016  # PERCENT_PRICE


def test_min_notional_is_waived_for_reduce_only(priced: Simulator, client: UMFutures) -> None:
    small = {"symbol": "ETHUSDC", "type": "MARKET", "quantity": "0.001"}  # 3 USDC < 5
    assert _code(lambda: client.new_order(side="BUY", **small)) == -4164
    client.new_order(side="BUY", type="MARKET", symbol="ETHUSDC", quantity="0.010")
    client.new_order(side="SELL", reduceOnly="true", **small)
    assert priced.position("ETHUSDC")["positionAmt"] == "0.009"


def test_reduce_only_that_would_open_is_rejected(priced: Simulator, client: UMFutures) -> None:
    order = {"symbol": BTC, "type": "MARKET", "quantity": "0.010", "reduceOnly": "true"}
    assert _code(lambda: client.new_order(side="SELL", **order)) == -2022
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    assert _code(lambda: client.new_order(side="BUY", **order)) == -2022


def test_conditional_types_on_order_endpoint_get_4120(priced: Simulator, client: UMFutures) -> None:
    with pytest.raises(ClientError) as info:
        client.new_order(
            symbol=BTC, side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="59000"
        )
    assert info.value.error_code == -4120
    assert info.value.error_message == (
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints "
        "instead."
    )


def test_client_id_is_unique_among_open_orders_only(priced: Simulator, client: UMFutures) -> None:
    resting = {
        "symbol": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.002",
        "price": "59000",
        "newClientOrderId": "dup-1",
    }
    client.new_order(**resting)
    assert _code(lambda: client.new_order(**resting)) == -4116
    client.cancel_order(symbol=BTC, origClientOrderId="dup-1")
    client.new_order(
        symbol=BTC, side="BUY", type="MARKET", quantity="0.002", newClientOrderId="dup-1"
    )  # the id is free again once not open
    assert client.query_order(symbol=BTC, origClientOrderId="dup-1")["status"] == "FILLED"


def test_unknown_orders_and_algo_ids_on_the_order_endpoint(
    priced: Simulator, client: UMFutures
) -> None:
    assert _code(lambda: client.query_order(symbol=BTC, orderId=123)) == -2013
    assert _code(lambda: client.cancel_order(symbol=BTC, orderId=123)) == -2011
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    algo = _algo(
        client,
        symbol=BTC,
        side="SELL",
        type="STOP_MARKET",
        triggerPrice="59000",
        closePosition="true",
        clientAlgoId="sl-1",
    )
    assert _code(lambda: client.query_order(symbol=BTC, orderId=algo["algoId"])) == -2013
    assert _code(lambda: client.query_order(symbol=BTC, origClientOrderId="sl-1")) == -2013
    assert _code(lambda: client.cancel_order(symbol=BTC, origClientOrderId="sl-1")) == -2011
    assert client.get_orders(symbol=BTC) == []  # untriggered algo orders are not here


def test_margin_insufficient(priced: Simulator, client: UMFutures) -> None:
    priced.seed_balance(Decimal("100"))
    big = lambda: client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.050")  # noqa: E731
    assert _code(big) == -2019  # 3000 notional / 20x = 150 > 100


def test_algo_checks(priced: Simulator, client: UMFutures) -> None:
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")
    stop = {"symbol": BTC, "side": "SELL", "type": "STOP_MARKET"}
    assert _code(lambda: _algo(client, triggerPrice="60500", closePosition="true", **stop)) == -2021
    assert (
        _code(
            lambda: _algo(
                client, triggerPrice="59000", closePosition="true", quantity="0.010", **stop
            )
        )
        == -1106
    )
    assert (
        _code(
            lambda: _algo(
                client, triggerPrice="59000", closePosition="true", reduceOnly="true", **stop
            )
        )
        == -1106
    )
    assert _code(lambda: _algo(client, triggerPrice="59000", **stop)) == -1102  # quantity
    assert (
        _code(lambda: client.sign_request("DELETE", "/fapi/v1/algoOrder", {"algoId": 7})) == -2011
    )


def test_account_configuration_codes(priced: Simulator, client: UMFutures) -> None:
    assert _code(lambda: client.change_margin_type(symbol=BTC, marginType="CROSSED")) == -4046
    assert _code(lambda: client.change_position_mode(dualSidePosition="false")) == -4059
    assert client.get_position_mode() == {"dualSidePosition": False}
    assert client.change_leverage(symbol=BTC, leverage=5)["leverage"] == 5
    assert (
        _code(
            lambda: client.new_order(
                symbol=BTC, side="BUY", type="MARKET", quantity="0.010", positionSide="LONG"
            )
        )
        == -4061
    )
    assert (
        _code(lambda: client.sign_request("POST", "/fapi/v1/order", {"symbol": BTC, "side": "BUY"}))
        == -1102
    )


def test_usdc_balance_lives_in_assets_not_top_level(priced: Simulator, client: UMFutures) -> None:
    account = client.account()
    usdc = next(a for a in account["assets"] if a["asset"] == "USDC")
    assert usdc["walletBalance"] == "10000.00000000"
    assert account["totalWalletBalance"] == "0.00000000"
