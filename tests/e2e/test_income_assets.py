"""The daily loss limit is in USDC: income in another asset on the same account (a USDT-M
trade's fee and PnL) must not count against it."""

from decimal import Decimal


def test_a_usdt_trade_on_the_same_account_does_not_count_in_todays_usdc_pnl(bot, other_client):
    bot.sim.exchange.account.wallet["USDT"] = Decimal(10000)
    other_client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.100")
    fees = [r for r in other_client.get_income_history() if r["incomeType"] == "COMMISSION"]
    assert fees and all(r["asset"] == "USDT" for r in fees)  # the fee was charged in USDT

    run = bot.run("--once")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "today's PnL 0.00 USDC" in run.stdout, run.stdout
