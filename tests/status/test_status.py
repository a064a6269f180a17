from __future__ import annotations

from decimal import Decimal

from bot.sim import Simulator


def test_status_json_shows_a_position_opened_by_another_client_as_uncovered(
    sim: Simulator, other_client, run_json
):
    other_client.change_margin_type(symbol="BTCUSDC", marginType="ISOLATED")
    sim.set_prices("BTCUSDC", mark=Decimal("95000.1"), last=Decimal("95000.1"))
    other_client.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")
    sim.set_prices("BTCUSDC", mark=Decimal("95500.3"), last=Decimal("95500.3"))
    row = sim.position("BTCUSDC")
    sim.clear_request_log()

    status = run_json("status")

    assert [r for r in sim.request_log if r.method != "GET"] == []  # no write, no listenKey

    assert status["source"] == "exchange"
    (position,) = status["positions"]
    assert position["symbol"] == "BTCUSDC"
    assert Decimal(position["amount"]) == Decimal(row["positionAmt"]) == Decimal("0.010")
    assert Decimal(position["mark_price"]) == Decimal(row["markPrice"]) == Decimal("95500.3")
    assert Decimal(position["unrealised_pnl"]) == Decimal(row["unRealizedProfit"]) > 0
    liquidation = Decimal(row["liquidationPrice"])
    assert liquidation > 0 and Decimal(position["liquidation_price"]) == liquidation
    distance = (Decimal("95500.3") - liquidation) / Decimal("95500.3") * 100
    assert Decimal(position["liquidation_distance_pct"]) == distance.quantize(Decimal("0.01"))
    assert position["covered_by_stop"] is False
    assert Decimal(position["uncovered_qty"]) == Decimal("0.010")


def test_status_sees_a_stop_placed_outside_the_bot_as_cover(sim: Simulator, other_client, run):
    sim.set_prices("BTCUSDC", mark=Decimal("95000.1"), last=Decimal("95000.1"))
    other_client.new_order(symbol="BTCUSDC", side="SELL", type="MARKET", quantity="0.010")
    other_client.sign_request(
        "POST",
        "/fapi/v1/algoOrder",
        {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDC",
            "side": "BUY",
            "type": "STOP_MARKET",
            "triggerPrice": "99000.0",
            "closePosition": "true",
            "clientAlgoId": "manual-stop-1",
        },
    )

    code, out = run("status")

    assert code == 0
    assert "BTCUSDC: -0.010 @ 95000.1, mark 95000.1" in out
    assert "covered by a stop" in out and "NOT COVERED" not in out
    assert "BTCUSDC manual-stop-1 BUY STOP_MARKET close-all trigger 99000.0 NEW" in out
    assert "no service running" in out
    assert "fees -0.38 + funding 0; daily loss limit -50 (49.62 left)" in out  # the fee counts
    assert "E+" not in out and "0000000" not in out  # no 25-digit Decimals


def test_status_cached_shows_the_local_view_labelled(sim: Simulator, other_client, run):
    other_client.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")

    code, out = run("status", "--cached")

    assert code == 0
    assert out.startswith("cached view")
    assert "positions: none" in out  # the bot never saw it: that is what cached means
