"""Exact request shapes and rare errors, against canned HTTP answers (responses)."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bot.domain.records import AlgoOrderRequest, OrderRequest
from bot.exchange.client import ExchangeClient
from bot.exchange.errors import (
    AuthError,
    IpBanned,
    MalformedReply,
    NotFound,
    ReadOnlyViolation,
    SymbolNotTradable,
    UnknownOutcome,
)
from bot.exchange.orders import market_order, stop_loss, take_profit
from bot.exchange.venues import Venue
from tests.exchange.conftest import symbol_info

BASE = "https://fapi.test"
SECRET = "s3cr3t-never-printed"
D = Decimal
ORDER_URL = f"{BASE}/fapi/v1/order"
ALGO_URL = f"{BASE}/fapi/v1/algoOrder"


def sent(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def error_body(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def alarms() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def client(sleeps, alarms, tmp_path):
    venue = Venue(BASE, "wss://ws.test", "/private/ws/{listen_key}")
    with ExchangeClient(
        venue,
        "key",
        SECRET,
        timeout_s=2,
        sleep=sleeps.append,
        on_alarm=lambda kind, detail: alarms.append((kind, detail)),
        cache_dir=tmp_path,
    ) as exchange:
        yield exchange


@pytest.fixture
def http():
    with responses.RequestsMock() as mock:
        yield mock


def entry() -> OrderRequest:
    return market_order("BTCUSDC", "BUY", D(0.1) + D(0.2), "ufb-BTCUSDC-1-E")


def order_row(status: str = "FILLED") -> dict:
    return {
        "clientOrderId": "ufb-BTCUSDC-1-E", "orderId": 7, "status": status, "symbol": "BTCUSDC",
        "side": "BUY", "type": "MARKET", "origQty": "0.300", "executedQty": "0.300",
    }  # fmt: skip


def test_bracket_request_shapes(client, http):
    http.post(ORDER_URL, json=order_row(), headers={"X-MBX-USED-WEIGHT-1M": "1"})
    for client_algo_id in ("ufb-BTCUSDC-1-SL", "ufb-BTCUSDC-1-TP"):
        ack = algo_row(client_algo_id)
        http.post(ALGO_URL, json=ack, headers={"X-MBX-USED-WEIGHT-1M": "1"})
    qty = D("0.300")
    client.place_order(market_order("BTCUSDC", "BUY", qty, "ufb-BTCUSDC-1-E"))
    client.place_algo_order(stop_loss("BTCUSDC", "SELL", D("59000.0"), "ufb-BTCUSDC-1-SL", qty=qty))
    client.place_algo_order(
        take_profit(
            "BTCUSDC",
            "SELL",
            D("62000.0"),
            "ufb-BTCUSDC-1-TP",
            close_position=True,
            working_type="LAST_PRICE",
        )
    )
    entry_sent, sl_sent, tp_sent = (sent(call) for call in http.calls)
    assert http.calls[0].request.url.startswith(ORDER_URL)
    assert entry_sent["quantity"] == "0.300" and entry_sent["recvWindow"] == "5000"
    assert "signature" in entry_sent and "timestamp" in entry_sent
    assert all(call.request.url.startswith(ALGO_URL) for call in http.calls[1:])
    assert sl_sent["algoType"] == "CONDITIONAL" and sl_sent["reduceOnly"] == "true"
    assert sl_sent["workingType"] == "MARK_PRICE" and sl_sent["type"] == "STOP_MARKET"
    assert tp_sent["closePosition"] == "true" and "reduceOnly" not in tp_sent
    assert tp_sent["workingType"] == "CONTRACT_PRICE" and tp_sent["type"] == "TAKE_PROFIT_MARKET"


def test_conditional_types_never_reach_the_order_endpoint(client, http):
    with pytest.raises(TypeError, match="place_algo_order"):
        client.place_order(sl_params())
    assert len(http.calls) == 0


def test_entry_with_503_after_execution_is_adopted_not_resent(client, http):
    http.post(
        ORDER_URL, status=503, body="Unknown error, please check your request or try again later."
    )
    http.get(ORDER_URL, json=order_row())
    assert client.place_order(entry()).order_id == 7
    assert [call.request.method for call in http.calls] == ["POST", "GET"]
    assert sent(http.calls[1])["origClientOrderId"] == "ufb-BTCUSDC-1-E"


def test_entry_with_minus_1007_and_confirmed_absence_is_resent_with_the_same_id(client, http):
    http.post(ORDER_URL, status=408, body=error_body(-1007, "Timeout waiting for response"))
    http.get(ORDER_URL, status=400, body=error_body(-2013, "Order does not exist."))
    http.post(ORDER_URL, json=order_row("NEW"))
    assert client.place_order(entry()).status == "NEW"
    posts = [sent(c) for c in http.calls if c.request.method == "POST"]
    assert len(posts) == 2 and posts[0]["newClientOrderId"] == posts[1]["newClientOrderId"]


def test_entry_that_times_out_is_queried_and_a_failed_query_is_retried(client, http):
    http.post(ORDER_URL, body=requests.ReadTimeout("read timed out"))
    http.get(ORDER_URL, status=502, body="Bad Gateway")
    http.get(ORDER_URL, json=order_row())
    assert client.place_order(entry()).status == "FILLED"
    assert [c.request.method for c in http.calls] == ["POST", "GET", "GET"]


def test_duplicate_client_id_adopts_the_open_order(client, http):
    http.post(ORDER_URL, status=400, body=error_body(-4116, "ClientOrderId is duplicated."))
    http.get(ORDER_URL, json=order_row("NEW"))
    assert client.place_order(entry()).status == "NEW"


def test_algo_order_unknown_outcome_is_resolved_by_client_algo_id(client, http):
    http.post(ALGO_URL, status=503, body=error_body(-1006, "Unexpected response"))
    http.get(ALGO_URL, json=algo_row("sl"))
    params = stop_loss("BTCUSDC", "SELL", D("59000"), "sl", qty=D("0.1"))
    assert client.place_algo_order(params).status == "NEW"
    assert sent(http.calls[1])["clientAlgoId"] == "sl"


def test_clock_skew_is_resynced_and_the_request_retried_once(client, http):
    http.get(f"{BASE}/fapi/v3/account", status=400, body=error_body(-1021, "Timestamp outside"))
    http.get(f"{BASE}/fapi/v1/time", json={"serverTime": 4_000_000_000_000})
    http.get(f"{BASE}/fapi/v3/account", json={"assets": [{"asset": "USDC", "walletBalance": "5"}]})
    assert client.usdc_balance().wallet == 5
    retried = int(sent(http.calls[2])["timestamp"])
    assert retried > int(sent(http.calls[0])["timestamp"]) + 10**11


def test_429_waits_retry_after_then_succeeds(client, http, sleeps):
    http.get(
        f"{BASE}/fapi/v1/openOrders",
        status=429,
        headers={"Retry-After": "7"},
        body=error_body(-1003, "Too many requests"),
    )
    http.get(f"{BASE}/fapi/v1/openOrders", json=[])
    assert client.open_orders("BTCUSDC") == []
    assert sleeps and 6 < max(sleeps) <= 7


def test_418_raises_alarm_and_stops_sending(client, http, alarms):
    http.get(
        f"{BASE}/fapi/v1/openOrders",
        status=418,
        headers={"Retry-After": "120"},
        body=error_body(-1003, "Way too many requests; IP banned"),
    )
    with pytest.raises(IpBanned):
        client.open_orders("BTCUSDC")
    with pytest.raises(IpBanned):
        client.place_order(entry())
    assert len(http.calls) == 1
    assert alarms[0][0] == "ip_banned"


def test_auth_error_is_clear_and_not_retried(client, http):
    http.get(
        f"{BASE}/fapi/v3/account",
        status=401,
        body=error_body(-2015, "Invalid API-key, IP, or permissions for action."),
    )
    with pytest.raises(AuthError) as raised:
        client.account()
    assert "IP whitelist" in str(raised.value) and "testnet" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert len(http.calls) == 1


def test_read_only_client_sends_no_write(http):
    venue = Venue(BASE, "wss://ws.test", "/private/ws/{listen_key}")
    with ExchangeClient(venue, "key", SECRET, read_only=True) as dry:
        for write in (
            lambda: dry.place_order(entry()),
            lambda: dry.place_algo_order(stop_loss("BTCUSDC", "SELL", D("1"), "x", qty=D("1"))),
            lambda: dry.cancel_order("BTCUSDC", "x"),
            lambda: dry.cancel_all("BTCUSDC"),
        ):
            with pytest.raises(ReadOnlyViolation):
                write()
        http.post(f"{BASE}/fapi/v1/listenKey", json={"listenKey": "LK"})
        assert dry.new_listen_key() == "LK"
    assert [c.request.method for c in http.calls] == ["POST"]


def test_weight_is_read_from_headers_and_the_budget_slows_down(client, http, sleeps):
    http.get(
        f"{BASE}/fapi/v1/premiumIndex",
        json={"markPrice": "60000.1"},
        headers={"X-MBX-USED-WEIGHT-1M": "1919"},
    )
    http.get(
        f"{BASE}/fapi/v1/premiumIndex",
        json={"markPrice": "60000.2"},
        headers={"X-MBX-USED-WEIGHT-1M": "1920"},
    )
    assert client.mark_price("BTCUSDC") == D("60000.1")
    assert client.used_weight_1m == 1919 and not sleeps
    client.mark_price("BTCUSDC")
    assert client.used_weight_1m == 1920 and client.weight_spent == 1920
    http.get(f"{BASE}/fapi/v1/ticker/price", json={"price": "1.5"})
    assert client.last_price("BTCUSDC") == D("1.5")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 60


def test_benign_codes_make_account_setup_idempotent(client, http):
    http.post(
        f"{BASE}/fapi/v1/positionSide/dual",
        status=400,
        body=error_body(-4059, "No need to change position side."),
    )
    http.post(
        f"{BASE}/fapi/v1/marginType",
        status=400,
        body=error_body(-4046, "No need to change margin type."),
    )
    http.post(f"{BASE}/fapi/v1/leverage", json={"leverage": 5, "symbol": "BTCUSDC"})
    client.setup_account(["BTCUSDC"], leverage=5, margin_type="ISOLATED")
    assert sent(http.calls[1])["marginType"] == "ISOLATED"
    assert sent(http.calls[2])["leverage"] == "5"


def test_hedge_mode_account_is_refused_with_a_clear_message(client, http):
    http.post(
        f"{BASE}/fapi/v1/positionSide/dual",
        status=400,
        body=error_body(-4068, "Position side cannot be changed if there exists position."),
    )
    with pytest.raises(Exception, match="hedge"):
        client.setup_account(["BTCUSDC"], leverage=5, margin_type="CROSSED")


def test_exchange_info_is_cached_on_disk_and_symbols_are_checked(client, http, tmp_path):
    info = {"symbols": [symbol_info(), symbol_info("BTCUSDT", margin_asset="USDT")]}
    http.get(f"{BASE}/fapi/v1/exchangeInfo", json=info)
    assert client.symbol_rules("BTCUSDC").tick_size == D("0.1")
    with pytest.raises(SymbolNotTradable, match="BTCUSDT"):
        client.symbol_rules("BTCUSDT")
    venue = Venue(BASE, "wss://ws.test", "/private/ws/{listen_key}")
    with ExchangeClient(venue, "key", SECRET, cache_dir=tmp_path) as second_process:
        assert second_process.symbol_rules("BTCUSDC").step_size == D("0.001")
    assert len(http.calls) == 1


def test_cancel_of_a_gone_order_returns_none(client, http):
    http.delete(ORDER_URL, status=400, body=error_body(-2011, "Unknown order sent."))
    assert client.cancel_order("BTCUSDC", "x") is None


def test_cancel_all_clears_both_books(client, http):
    http.delete(f"{BASE}/fapi/v1/allOpenOrders", json={"code": 200, "msg": "ok"})
    http.delete(f"{BASE}/fapi/v1/algoOpenOrders", json={"code": 200, "msg": "ok"})
    client.cancel_all("BTCUSDC")
    assert len(http.calls) == 2


def test_income_pages_and_filters(client, http, monkeypatch):
    monkeypatch.setattr("bot.exchange.client.INCOME_PAGE", 2)
    rows = [
        {"tranId": 1, "incomeType": "REALIZED_PNL", "income": "1", "symbol": "BTCUSDC", "time": 10},
        {"tranId": 2, "incomeType": "TRANSFER", "income": "5", "symbol": "", "time": 20},
        {"tranId": 3, "incomeType": "COMMISSION", "income": "-1", "symbol": "BTCUSDC", "time": 20},
    ]
    http.get(f"{BASE}/fapi/v1/income", json=rows[:2])
    http.get(f"{BASE}/fapi/v1/income", json=rows[1:])
    http.get(f"{BASE}/fapi/v1/income", json=rows[2:])
    assert [r.tran_id for r in client.income(5)] == [1, 3]
    assert sent(http.calls[1])["startTime"] == "20"


def test_user_stream_url_follows_the_venue_template(client):
    assert client.user_stream_url("LK") == "wss://ws.test/private/ws/LK"


def test_unknown_outcome_survives_when_the_query_keeps_failing(client, http):
    http.post(ORDER_URL, status=503, body="Service Unavailable.")
    http.get(ORDER_URL, status=503, body="Service Unavailable.")
    with pytest.raises(UnknownOutcome):
        client.place_order(entry())
    assert sum(c.request.method == "POST" for c in http.calls) == 1


def test_expired_listen_key_keepalive_raises_not_found(client, http):
    http.put(
        f"{BASE}/fapi/v1/listenKey",
        status=400,
        body=error_body(-1125, "This listenKey does not exist."),
    )
    with pytest.raises(NotFound):
        client.keepalive_listen_key("old")
    assert len(http.calls) == 1


def test_the_secret_never_reaches_logs_or_errors(client, http, caplog):
    caplog.set_level("DEBUG")
    http.post(ORDER_URL, status=503, body="Service Unavailable.")
    http.get(ORDER_URL, status=400, body=error_body(-1021, "Timestamp outside"))
    http.get(f"{BASE}/fapi/v1/time", json={"serverTime": 1})
    http.get(ORDER_URL, status=400, body=error_body(-1021, "Timestamp outside"))
    with pytest.raises(UnknownOutcome) as raised:
        client.place_order(entry())
    assert SECRET not in caplog.text and SECRET not in str(raised.value)
    assert "-1021" in str(raised.value)  # a second -1021 is not retried again


def sl_params() -> AlgoOrderRequest:
    return stop_loss("BTCUSDC", "SELL", D("56535.0"), "ufb-BTCUSDC-1-SL", qty=D("0.3"))


def algo_row(client_algo_id: str = "ufb-BTCUSDC-1-SL", status: str = "NEW") -> dict:
    return {
        "algoId": 9, "clientAlgoId": client_algo_id, "algoStatus": status, "symbol": "BTCUSDC",
        "side": "SELL", "orderType": "STOP_MARKET", "quantity": "0.300", "triggerPrice": "59000",
    }  # fmt: skip


def test_stop_loss_answered_200_with_an_error_body_is_resolved_by_query_not_taken_as_placed(
    client, http
):
    http.post(ALGO_URL, body=error_body(-2021, "Order would immediately trigger."))
    http.get(ALGO_URL, status=400, body=error_body(-2013, "Order does not exist."))
    http.post(ALGO_URL, json=algo_row())
    assert client.place_algo_order(sl_params()).status == "NEW"
    assert [c.request.method for c in http.calls] == ["POST", "GET", "POST"]
    assert sent(http.calls[1])["clientAlgoId"] == "ufb-BTCUSDC-1-SL"


@pytest.mark.parametrize(
    "reply",
    [
        algo_row("someone-else"),
        {k: v for k, v in algo_row().items() if k != "algoStatus"},
        {**algo_row(), "quantity": "x"},
    ],
    ids=["another-id", "no-status", "bad-number"],
)
def test_algo_reply_that_does_not_acknowledge_this_order_is_resolved_by_query(client, http, reply):
    http.post(ALGO_URL, json=reply)
    http.get(ALGO_URL, json=algo_row())
    placed = client.place_algo_order(sl_params())
    assert (placed.client_algo_id, placed.algo_id) == ("ufb-BTCUSDC-1-SL", 9)
    assert [c.request.method for c in http.calls] == ["POST", "GET"]


@pytest.mark.parametrize(
    "body", ["<html><body>502 Bad Gateway</body></html>", "", "[]", '"ok"', "null"]
)
def test_entry_answered_200_with_a_non_object_is_resolved_by_query(client, http, body):
    http.post(ORDER_URL, body=body)
    http.get(ORDER_URL, json=order_row())
    assert client.place_order(entry()).client_order_id == "ufb-BTCUSDC-1-E"
    assert [c.request.method for c in http.calls] == ["POST", "GET"]


def test_cancel_answered_with_garbage_is_not_taken_as_done(client, http):
    http.delete(ORDER_URL, body="<html>oops</html>")
    http.delete(ORDER_URL, status=400, body=error_body(-2011, "Unknown order sent."))
    assert client.cancel_order("BTCUSDC", "ufb-BTCUSDC-1-E") is None
    assert len(http.calls) == 2
    http.delete(ALGO_URL, json={"code": -1000, "msg": "An unknown error occurred."})
    http.delete(ALGO_URL, json={**algo_row(), "code": "200", "msg": "success"})
    assert client.cancel_algo_order("ufb-BTCUSDC-1-SL") is True
    assert len(http.calls) == 4


@pytest.mark.parametrize(
    "body",
    [
        {"markPrice": "abc"},
        {"markPrice": "NaN"},
        {"markPrice": "-1"},
        {"markPrice": 0},
        {"code": -1000, "msg": "An unknown error occurred."},
        [],
        "<html></html>",
    ],
)
def test_malformed_mark_price_raises_our_error_type(client, http, body):
    if isinstance(body, str):
        http.get(f"{BASE}/fapi/v1/premiumIndex", body=body)
    else:
        http.get(f"{BASE}/fapi/v1/premiumIndex", json=body)
    with pytest.raises(MalformedReply, match="premiumIndex"):
        client.mark_price("BTCUSDC")


@pytest.mark.parametrize(("status", "body"), [(400, '{"message": "no code"}'), (400, "[1, 2]")])
def test_unreadable_error_reply_on_an_order_is_an_unknown_outcome(client, http, status, body):
    http.post(ORDER_URL, status=status, body=body)
    http.get(ORDER_URL, json=order_row())
    assert client.place_order(entry()).client_order_id == "ufb-BTCUSDC-1-E"


def test_garbage_rate_limit_headers_do_not_escape(client, http, sleeps):
    http.get(
        f"{BASE}/fapi/v1/openOrders",
        status=429,
        headers={"Retry-After": "inf", "X-MBX-USED-WEIGHT-1M": "lots"},
        body=error_body(-1003, "Too many requests"),
    )
    http.get(f"{BASE}/fapi/v1/openOrders", json=[])
    assert client.open_orders("BTCUSDC") == []
    assert sleeps and max(sleeps) <= 60


def test_an_exchange_info_cache_of_the_wrong_shape_is_fetched_again(client, http, tmp_path):
    (tmp_path / "exchange_info.json").write_text(
        json.dumps({"fetched_at": 4_000_000_000, "exchange_info": {"symbols": "gone"}})
    )
    http.get(f"{BASE}/fapi/v1/exchangeInfo", json={"symbols": [symbol_info()]})
    assert client.symbol_rules("BTCUSDC").tick_size == D("0.1")
