"""Leverage brackets, maintenance margin, liquidation and funding, as Binance does them."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests
from binance.error import ClientError
from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
from tests.sim.conftest import StreamReader
from tests.sim.test_stream_and_triggers import _wait_connected

BTC = "BTCUSDC"
EIGHT_HOURS_S = 8 * 3600


def _at_60000(sim: Simulator) -> None:
    sim.set_prices(BTC, last=Decimal("60000"), mark=Decimal("60000"))


def _signed_get_at_server_time(sim: Simulator, path: str, params: dict) -> list:
    """A signed GET stamped with the sim's clock (after `advance`, local time is behind)."""
    query = urlencode({**params, "timestamp": sim.now_ms()})
    signature = hmac.new(SIM_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    url = f"{sim.rest_url}{path}?{query}&signature={signature}"
    return requests.get(url, headers={"X-MBX-APIKEY": SIM_API_KEY}, timeout=5).json()


def _error_code(call) -> int:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.error_code


def test_leverage_brackets_are_served_with_binance_tiers(client: UMFutures) -> None:
    [btc] = client.sign_request("GET", "/fapi/v1/leverageBracket", {"symbol": BTC})
    first, second = btc["brackets"][:2]
    assert btc["symbol"] == BTC
    assert first == {
        "bracket": 1,
        "initialLeverage": 125,
        "notionalCap": 50000,
        "notionalFloor": 0,
        "maintMarginRatio": 0.004,
        "cum": 0,
    }
    assert (second["notionalFloor"], second["maintMarginRatio"], second["cum"]) == (
        50000,
        0.005,
        50,
    )
    every = client.sign_request("GET", "/fapi/v1/leverageBracket", {})
    assert {row["symbol"] for row in every} >= {"BTCUSDC", "ETHUSDC"}


def test_leverage_beyond_the_bracket_is_refused(sim: Simulator, client: UMFutures) -> None:
    _at_60000(sim)
    assert _error_code(lambda: client.change_leverage(symbol=BTC, leverage=126)) == -4028
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="1.000")  # 60 000 notional
    assert _error_code(lambda: client.change_leverage(symbol=BTC, leverage=125)) == -2027
    reply = client.change_leverage(symbol=BTC, leverage=100)
    assert reply["maxNotionalValue"] == "600000"


def test_isolated_liquidation_price_follows_binance_formula(
    sim: Simulator, client: UMFutures
) -> None:
    _at_60000(sim)
    client.change_margin_type(symbol=BTC, marginType="ISOLATED")
    client.change_leverage(symbol=BTC, leverage=20)
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")
    [row] = client.get_position_risk(symbol=BTC)
    # WB = isolated wallet 300; LP = (300 - 0.1 × 60000) / (0.1 × 0.004 - 0.1)
    assert row["liquidationPrice"] == "57228.91566265"
    assert row["maintMargin"] == "24.00000000"  # 6000 × 0.4 % - 0


def test_cross_liquidation_price_uses_the_cross_wallet(sim: Simulator, client: UMFutures) -> None:
    _at_60000(sim)
    sim.seed_balance(Decimal("1000"))
    client.new_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.100")  # fee 2.4
    [row] = client.get_position_risk(symbol=BTC)
    expected = (Decimal("997.6") + Decimal("6000")) / (Decimal("0.0004") + Decimal("0.1"))
    assert row["liquidationPrice"] == f"{expected.quantize(Decimal('0.00000001')):f}"
    sim.set_prices(BTC, mark=Decimal("69690"))
    assert sim.position(BTC)["positionAmt"] == "-0.100"
    sim.set_prices(BTC, mark=Decimal("69700"))
    assert sim.position(BTC)["positionAmt"] == "0.000"


def test_mark_crossing_the_liquidation_price_liquidates_after_a_margin_call(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    _at_60000(sim)
    client.change_margin_type(symbol=BTC, marginType="ISOLATED")
    client.change_leverage(symbol=BTC, leverage=20)
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")
    client.new_order(
        symbol=BTC, side="SELL", type="LIMIT", quantity="0.100", price="61000", timeInForce="GTC"
    )

    sim.set_prices(BTC, mark=Decimal("57280"))  # margin ratio past 80 %, not yet liquidated
    call = stream.next("MARGIN_CALL")
    assert call["p"][0]["s"] == BTC and call["p"][0]["mt"] == "ISOLATED"
    assert sim.position(BTC)["positionAmt"] == "0.100"

    sim.set_prices(BTC, mark=Decimal("57200"))  # past 57228.92
    assert sim.position(BTC)["positionAmt"] == "0.000"
    assert sim.open_orders(BTC) == []  # its open orders were cancelled first
    events = [stream.next()]
    while events[-1]["e"] != "ACCOUNT_UPDATE" or events[-1]["a"]["m"] != "INSURANCE_CLEAR":
        events.append(stream.next())
    liquidation = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
    liquidation = [o for o in liquidation if o["c"].startswith("autoclose-")]
    assert [(o["x"], o["X"]) for o in liquidation] == [("NEW", "NEW"), ("CALCULATED", "FILLED")]
    fill = liquidation[-1]
    assert (fill["S"], fill["o"], fill["f"], fill["z"], fill["L"]) == (
        "SELL",
        "LIMIT",
        "IOC",
        "0.100",
        "57200.00",
    )
    clear = events[-1]["a"]
    assert clear["B"][0]["bc"] == "-17.71200000"  # what was left of the 300 margin
    assert sim.balance() == Decimal("9697.6")  # lost: the isolated margin and the entry fee
    rows = client.sign_request("GET", "/fapi/v1/income", {"incomeType": "INSURANCE_CLEAR"})
    assert [r["income"] for r in rows] == ["-17.71200000"]


def test_funding_is_settled_every_eight_hours_with_its_symbol_and_change(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    _wait_connected(sim)
    _at_60000(sim)
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")
    before = sim.balance()
    # to one minute past the next funding time (whatever the time of day the test runs
    # at), in steps that keep the listenKey (60 min) alive
    period_ms = EIGHT_HOURS_S * 1000
    left_s = (period_ms - sim.now_ms() % period_ms) / 1000 + 60
    while left_s > 0:
        step = min(left_s, 50 * 60)
        sim.advance(step)
        client.new_listen_key()
        left_s -= step
    event = stream.next("ACCOUNT_UPDATE")
    while event["a"]["m"] != "FUNDING_FEE":
        event = stream.next("ACCOUNT_UPDATE")
    account = event["a"]
    assert (account["S"], account["B"][0]["bc"], account["P"]) == (BTC, "-0.60000000", [])
    assert event["T"] % (EIGHT_HOURS_S * 1000) == 0  # at the funding time
    assert sim.balance() == before - Decimal("0.6")  # 6000 notional × 0.01 %, long pays
    [row] = _signed_get_at_server_time(sim, "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
    assert (row["symbol"], row["income"], row["time"]) == (BTC, "-0.60000000", event["T"])


def test_injected_funding_fee_reports_its_balance_change(
    sim: Simulator, stream: StreamReader
) -> None:
    _wait_connected(sim)
    sim.add_income(BTC, "FUNDING_FEE", Decimal("-7"))
    account = stream.next("ACCOUNT_UPDATE")["a"]
    assert (account["m"], account["S"], account["B"][0]["bc"]) == ("FUNDING_FEE", BTC, "-7")


def test_liquidation_expires_the_symbols_open_and_conditional_orders(
    sim: Simulator, client: UMFutures, stream: StreamReader
) -> None:
    """Binance: "during liquidation, all open orders are immediately canceled"; they end
    EXPIRED with expiry reason 5 ("Order has expired when the account was liquidated")."""
    _wait_connected(sim)
    _at_60000(sim)
    client.change_margin_type(symbol=BTC, marginType="ISOLATED")
    client.change_leverage(symbol=BTC, leverage=20)
    client.new_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")
    client.new_order(
        symbol=BTC,
        side="SELL",
        type="LIMIT",
        quantity="0.100",
        price="61000",
        timeInForce="GTC",
        newClientOrderId="tp-1",
    )
    algo = {"algoType": "CONDITIONAL", "symbol": BTC, "quantity": "0.100"}
    stop = {"side": "SELL", "type": "STOP_MARKET", "triggerPrice": "50000", "reduceOnly": "true"}
    client.sign_request("POST", "/fapi/v1/algoOrder", algo | stop | {"clientAlgoId": "sl-1"})
    add = {"side": "BUY", "type": "STOP_MARKET", "triggerPrice": "65000"}
    client.sign_request("POST", "/fapi/v1/algoOrder", algo | add | {"clientAlgoId": "add-1"})

    sim.set_prices(BTC, mark=Decimal("57200"))  # past the liquidation price 57228.92
    assert sim.position(BTC)["positionAmt"] == "0.000"
    assert sim.open_orders(BTC) == [] and sim.open_algo_orders(BTC) == []
    ended: dict = {}
    while len(ended) < 3:
        event = stream.next()
        if event["e"] == "ORDER_TRADE_UPDATE" and event["o"]["c"] == "tp-1":
            ended["tp-1"] = (event["o"]["X"], event["o"]["er"])
        elif event["e"] == "ALGO_UPDATE" and event["o"]["X"] != "NEW":
            ended[event["o"]["caid"]] = (event["o"]["X"], event["o"]["rm"])
    assert ended == {"tp-1": ("EXPIRED", "5"), "sl-1": ("EXPIRED", ""), "add-1": ("EXPIRED", "")}


def test_income_history_pages_oldest_first_whatever_order_rows_were_booked_in(
    sim: Simulator, client: UMFutures
) -> None:
    """Binance answers a startTime query in time order from startTime; a row booked with
    an earlier time after a later one must still come first."""
    now = sim.now_ms()
    sim.add_income(BTC, "FUNDING_FEE", Decimal("-2"), now - 1_000)
    sim.add_income(BTC, "FUNDING_FEE", Decimal("-1"), now - 2_000)

    rows = client.get_income_history(startTime=now - 10_000, limit=1)

    assert [(r["time"], r["income"]) for r in rows] == [(now - 2_000, "-1.00000000")]


def test_income_history_without_a_time_range_answers_the_last_seven_days_only(
    sim: Simulator, client: UMFutures
) -> None:
    """Binance: "If neither startTime nor endTime is sent, the recent 7-day data will be
    returned"; a client that forgets startTime must not see older rows here either."""
    day_ms = 86_400_000
    now = sim.now_ms()
    sim.add_income(BTC, "FUNDING_FEE", Decimal("-3"), now - 8 * day_ms)
    sim.add_income(BTC, "FUNDING_FEE", Decimal("-1"), now - 1 * day_ms)

    rows = client.get_income_history(incomeType="FUNDING_FEE")
    since = client.get_income_history(incomeType="FUNDING_FEE", startTime=now - 9 * day_ms)

    assert [r["income"] for r in rows] == ["-1.00000000"]
    assert [r["income"] for r in since] == ["-3.00000000", "-1.00000000"]
