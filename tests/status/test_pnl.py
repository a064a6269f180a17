from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.sim import Simulator


def test_pnl_days_shows_a_fill_fee_and_a_funding_payment_on_their_days(
    sim: Simulator, other_client, run_json, run
):
    now = datetime.fromtimestamp(sim.now_ms() / 1000, UTC)
    yesterday = now - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=UTC)
    sim.add_income("BTCUSDC", "FUNDING_FEE", Decimal("-0.4321"), int(noon.timestamp() * 1000))
    sim.set_prices("BTCUSDC", mark=Decimal("95000.1"), last=Decimal("95000.1"))
    other_client.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")
    fee = -sum(Decimal(t["commission"]) for t in other_client.get_account_trades("BTCUSDC"))
    assert fee < 0

    table = run_json("pnl", "--days", "2")

    first, second = table["days"]
    assert first["day"] == yesterday.date().isoformat()
    assert second["day"] == now.date().isoformat()
    assert Decimal(first["funding"]) == Decimal("-0.4321") and Decimal(first["commission"]) == 0
    assert Decimal(second["commission"]) == fee and Decimal(second["funding"]) == 0
    assert Decimal(second["net"]) == fee
    code, out = run("pnl", "--days", "2")
    assert code == 0 and "-0.4321" in out and now.date().isoformat() in out


def test_pnl_refuses_more_days_than_binance_keeps(run, capsys):
    try:
        run("pnl", "--days", "91")
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("pnl --days 91 was accepted")
    assert "--days: must be a whole number of days, 1..90" in capsys.readouterr().err
