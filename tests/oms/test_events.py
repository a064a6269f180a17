from __future__ import annotations

from decimal import Decimal

import pytest

from bot.exchange import replies
from bot.exchange.errors import MalformedReply
from bot.exchange.user_data import parse_user_data
from bot.oms.events import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    ListenKeyExpired,
    MalformedPayload,
    MarginCall,
    OrderTradeUpdate,
    Snapshot,
    TradeLite,
    UnknownEvent,
)
from tests.oms import payloads


def test_documented_order_update_parses_with_decimals():
    event = parse_user_data(payloads.DOC_ORDER_TRADE_UPDATE, 5)
    assert isinstance(event, OrderTradeUpdate)
    assert event.order_id == 8886774
    assert event.stop_price == Decimal("7103.04")
    assert event.orig_qty == Decimal("0.001")
    assert event.status == "NEW"
    assert event.received_at_ms == 5
    assert not event.is_fill


def test_fill_fields_are_exact_decimals():
    event = parse_user_data(payloads.order_update(n="0.00024", rp="-1.5"), 0)
    assert event.is_fill
    assert event.commission == Decimal("0.00024")
    assert event.realised_pnl == Decimal("-1.5")
    assert event.fill_key == "trade:BTCUSDC:1001"


def test_account_update_carries_balances_and_positions():
    event = parse_user_data(payloads.DOC_ACCOUNT_UPDATE, 0)
    assert isinstance(event, AccountUpdate)
    assert event.reason == "ORDER"
    assert event.balances[0].wallet == Decimal("122624.12345678")
    assert event.balances[0].balance_change == Decimal("50.12345678")
    assert event.positions[0].amount == Decimal("20")
    assert event.positions[0].margin_type == "isolated"


def test_real_triggered_algo_update_links_the_child_order():
    event = parse_user_data(payloads.REAL_TRIGGERED_ALGO_UPDATE, 0)
    assert isinstance(event, AlgoUpdate)
    assert event.status == "TRIGGERED"
    assert event.actual_order_id == 88937381063
    assert event.algo_id == 1000000033225453
    assert event.trigger_price == Decimal("0.13855")


def test_untriggered_algo_update_has_no_child():
    event = parse_user_data(payloads.algo_update(), 0)
    assert event.actual_order_id is None
    assert event.close_position


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (payloads.DOC_TRADE_LITE, TradeLite),
        (payloads.DOC_MARGIN_CALL, MarginCall),
        (payloads.DOC_LEVERAGE_UPDATE, AccountConfigUpdate),
        (payloads.DOC_MULTI_ASSETS_UPDATE, AccountConfigUpdate),
        (payloads.DOC_LISTEN_KEY_EXPIRED, ListenKeyExpired),
    ],
)
def test_every_documented_event_type_parses(raw, kind):
    assert isinstance(parse_user_data(raw, 0), kind)


def test_listen_key_expired_event_time_may_be_string_or_int():
    as_text = parse_user_data(payloads.DOC_LISTEN_KEY_EXPIRED, 0)
    as_int = parse_user_data('{"e":"listenKeyExpired","E":1736996475556,"listenKey":"k"}', 0)
    assert as_text.event_time_ms == as_int.event_time_ms == 1736996475556


def test_leverage_and_margin_call_fields():
    leverage = parse_user_data(payloads.DOC_LEVERAGE_UPDATE, 0)
    assert (leverage.symbol, leverage.leverage, leverage.multi_assets) == ("BTCUSDT", 25, None)
    call = parse_user_data(payloads.DOC_MARGIN_CALL, 0)
    assert call.cross_wallet == Decimal("3.16812045")
    assert call.positions[0].maint_margin == Decimal("1.614445")


def test_unknown_event_type_is_reported_not_rejected():
    event = parse_user_data('{"e":"GRID_UPDATE","E":1,"gu":{}}', 7)
    assert event == UnknownEvent("GRID_UPDATE", 7)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"E": 1}',
        '{"e":"ORDER_TRADE_UPDATE","E":1}',
        payloads.order_update().replace('"q": "0.010"', '"q": "abc"'),
        payloads.order_update().replace('"q": "0.010"', '"q": "NaN"'),
        payloads.order_update().replace('"q": "0.010"', '"q": 0.01'),
        payloads.account_update().replace('"E": 1760000000101', '"E": "soon"'),
        '{"e":"ALGO_UPDATE","E":1,"o":"oops"}',
    ],
)
def test_malformed_payload_raises_a_typed_error(raw):
    with pytest.raises(MalformedPayload) as caught:
        parse_user_data(raw, 0)
    assert caught.value.payload == raw


def test_snapshot_from_rest_records_keeps_one_way_rows_only():
    position = replies.positions(
        [
            {"symbol": "BTCUSDC", "positionSide": "BOTH", "positionAmt": "-0.020",
             "entryPrice": "61000.0", "breakEvenPrice": "61010.0", "unRealizedProfit": "3.1",
             "isolatedWallet": "0", "updateTime": 1760000000500},
            {"symbol": "ETHUSDC", "positionSide": "LONG", "positionAmt": "1"},
        ],
        "positionRisk",
    )  # fmt: skip
    order = replies.order(
        {"orderId": 42, "symbol": "BTCUSDC", "status": "NEW", "clientOrderId": "x-1",
         "price": "59000.0", "avgPrice": "0", "origQty": "0.020", "executedQty": "0",
         "type": "LIMIT", "side": "BUY", "reduceOnly": True, "closePosition": False,
         "stopPrice": "0", "updateTime": 1760000000400},
        "openOrders",
    )  # fmt: skip
    algo = replies.algo_order(
        {"algoId": 7, "clientAlgoId": "a-1", "orderType": "STOP_MARKET", "symbol": "BTCUSDC",
         "side": "BUY", "quantity": "0", "algoStatus": "NEW", "triggerPrice": "62000.0",
         "price": "0", "workingType": "MARK_PRICE", "closePosition": True,
         "reduceOnly": False, "actualOrderId": "", "updateTime": 1760000000300},
        "openAlgoOrders",
    )  # fmt: skip
    (usdc,) = replies.account(
        {"assets": [{"asset": "USDC", "walletBalance": "1000.5", "crossWalletBalance": "990.5",
                     "updateTime": 1760000000200}]},
        "account",
    ).balances  # fmt: skip
    snapshot = Snapshot.from_rest(position, [order], [algo], usdc, taken_at_ms=1760000001000)
    assert [p.symbol for p in snapshot.positions] == ["BTCUSDC"]
    assert snapshot.positions[0].amount == Decimal("-0.020")
    assert snapshot.positions[0].margin_type == "cross"
    assert snapshot.open_orders[0].reduce_only
    assert snapshot.open_algo_orders[0].actual_order_id is None
    assert snapshot.balance.wallet == Decimal("1000.5")


def test_a_rest_row_with_a_bad_number_is_malformed_naming_the_field():
    with pytest.raises(MalformedReply, match="positionAmt"):
        replies.positions([{"symbol": "BTCUSDC", "positionAmt": "x"}], "positionRisk")


def test_lenient_forms_binance_may_send_still_parse():
    raw = payloads.order_update().replace('"i": 8886774', '"i": "8886774"')
    raw = raw.replace('"m": false', '"m": "false"')
    event = parse_user_data(raw, 0)
    assert (event.order_id, event.is_maker) == (8886774, False)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (payloads.order_update().replace('"q": "0.010"', '"q": "abc"'), "'q'"),
        (payloads.order_update().replace('"s": "BTCUSDC", ', ""), "'s'"),
        (payloads.algo_update().replace('"X": "NEW"', '"X": 5'), "'X'"),
        (payloads.account_update().replace('"wb": "9999.76"', '"wb": 1.5'), "'wb'"),
    ],
)
def test_a_malformed_payload_names_the_bad_field(raw, field):
    with pytest.raises(MalformedPayload) as caught:
        parse_user_data(raw, 0)
    assert field in caught.value.reason


def test_an_order_update_in_a_status_binance_never_documented_is_malformed_not_guessed():
    raw = payloads.order_update(X="PAUSED")
    with pytest.raises(MalformedPayload, match="'X'"):
        parse_user_data(raw, 0)
