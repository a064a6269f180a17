"""Binance's successor SDK over REST: every reply parses into its typed models."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures

from bot.sim import Simulator

pytestmark = pytest.mark.conformance
BTC = "BTCUSDC"


def test_sdk_reads_exchange_info_balances_and_account_config(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    rest = sdk.rest_api
    info = rest.exchange_information().data()
    btc = next(s for s in info.symbols if s.symbol == BTC)
    filters = {f.filter_type: f for f in btc.filters}
    assert (btc.margin_asset, filters["PRICE_FILTER"].tick_size) == ("USDC", "0.10")
    assert filters["LOT_SIZE"].step_size == "0.001"
    usdc = next(a for a in rest.futures_account_balance_v3().data() if a.asset == "USDC")
    assert Decimal(usdc.balance) == Decimal(10000)
    assert rest.account_information_v3().data().assets
    assert rest.change_initial_leverage(BTC, 7).data().leverage == 7
    assert rest.change_margin_type(BTC, "ISOLATED").data().code == 200
    config = rest.symbol_configuration(symbol=BTC).data()[0]
    assert (config.leverage, config.margin_type) == (7, "ISOLATED")
    fees = rest.user_commission_rate(BTC).data()
    assert (fees.maker_commission_rate, fees.taker_commission_rate) == ("0.0002", "0.0004")


def test_sdk_reads_ticker_depth_and_funding_history(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60001"))
    rest = sdk.rest_api
    ticker = rest.ticker24hr_price_change_statistics(symbol=BTC).data()
    assert ticker.actual_instance.last_price == "60000.00"
    book = rest.order_book(BTC, limit=5).data()
    assert (book.bids[0][0], book.asks[0][0], len(book.bids)) == ("60000.00", "60000.10", 5)
    funding = rest.get_funding_rate_history(symbol=BTC, limit=3).data()
    assert [row.symbol for row in funding] == [BTC] * 3
    assert funding[1].funding_time - funding[0].funding_time == 8 * 3_600_000
    weights = {r.path: r.weight for r in sim.request_log}
    assert weights["/fapi/v1/ticker/24hr"] == 1 and weights["/fapi/v1/depth"] == 2


def test_sdk_orders_with_client_ids_are_queried_and_cancelled(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    rest = sdk.rest_api
    entry = rest.new_order(
        BTC, "BUY", "MARKET", quantity=0.01, new_client_order_id="conf-entry-1"
    ).data()
    assert entry.client_order_id == "conf-entry-1"
    filled = rest.query_order(BTC, orig_client_order_id="conf-entry-1").data()
    assert (filled.status, Decimal(filled.executed_qty)) == ("FILLED", Decimal("0.01"))
    rest.new_order(
        BTC,
        "BUY",
        "LIMIT",
        time_in_force="GTC",
        quantity=0.01,
        price=59000.0,
        new_client_order_id="conf-limit-1",
    )
    assert [o.client_order_id for o in rest.current_all_open_orders(symbol=BTC).data()] == [
        "conf-limit-1"
    ]
    cancelled = rest.cancel_order(BTC, orig_client_order_id="conf-limit-1").data()
    assert cancelled.status == "CANCELED"
    trades = rest.account_trade_list(BTC).data()
    assert [t.order_id for t in trades] == [entry.order_id]
    income = rest.get_income_history(symbol=BTC).data()
    assert {i.income_type for i in income} == {"COMMISSION"}


def test_sdk_algo_orders_are_placed_listed_and_cancelled(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    rest = sdk.rest_api
    rest.new_order(BTC, "BUY", "MARKET", quantity=0.01)
    stop = rest.new_algo_order(
        "CONDITIONAL",
        BTC,
        "SELL",
        "STOP_MARKET",
        trigger_price=58000.0,
        close_position="true",
        working_type="MARK_PRICE",
        client_algo_id="conf-sl-1",
    ).data()
    assert (stop.client_algo_id, stop.algo_status, stop.close_position) == (
        "conf-sl-1",
        "NEW",
        True,
    )
    listed = rest.current_all_algo_open_orders(symbol=BTC).data()
    assert [a.algo_id for a in listed] == [stop.algo_id]
    assert rest.query_algo_order(client_algo_id="conf-sl-1").data().algo_status == "NEW"
    rest.cancel_algo_order(algo_id=stop.algo_id)
    assert rest.current_all_algo_open_orders(symbol=BTC).data() == []
    history = rest.query_all_algo_orders(BTC).data()
    assert [a.algo_status for a in history] == ["CANCELED"]


def test_sdk_listen_key_keepalive_without_parameters_extends_the_key(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    rest = sdk.rest_api
    key = rest.start_user_data_stream().data().listen_key
    sim.advance(50 * 60)
    assert rest.keepalive_user_data_stream().data().listen_key == key
    sim.advance(50 * 60)  # 100 min after creation: alive only because it was extended
    assert sim._key_is_valid(key)
    rest.close_user_data_stream()
    assert not sim._key_is_valid(key)


def test_sdk_float_quantities_and_prices_are_echoed_at_the_symbol_precision(
    sim: Simulator, sdk: DerivativesTradingUsdsFutures
) -> None:
    """The SDK sends floats as Python prints them ("0.01", "59000.0"); Binance answers at
    the symbol's precision (quantityPrecision 3, pricePrecision 2: "0.010", "59000.00")."""
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))
    rest = sdk.rest_api
    limit = rest.new_order(
        BTC, "BUY", "LIMIT", time_in_force="GTC", quantity=0.01, price=59000.0
    ).data()
    assert (limit.orig_qty, limit.price) == ("0.010", "59000.00")
    [listed] = rest.current_all_open_orders(symbol=BTC).data()
    assert (listed.orig_qty, listed.price) == ("0.010", "59000.00")
    rest.new_order(BTC, "BUY", "MARKET", quantity=0.01)
    stop = rest.new_algo_order(
        "CONDITIONAL", BTC, "SELL", "STOP", quantity=0.01, price=57000.0, trigger_price=58000.0
    ).data()
    assert (stop.quantity, stop.price, stop.trigger_price) == ("0.010", "57000.00", "58000.00")
    trail = rest.new_algo_order(
        "CONDITIONAL",
        BTC,
        "SELL",
        "TRAILING_STOP_MARKET",
        quantity=0.01,
        activate_price=61000.0,
        callback_rate=1.0,
    ).data()
    assert (trail.quantity, trail.activate_price) == ("0.010", "61000.00")
    [position] = rest.position_information_v3(symbol=BTC).data()
    assert position.position_amt == "0.010"
