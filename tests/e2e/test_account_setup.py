"""A position opened by hand before the bot ever set the account up must still be protected."""

from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET


def test_a_position_that_blocks_the_margin_type_change_still_gets_its_stop(bot):
    # the account is in cross margin (the default) with a position the bot never saw; the bot wants
    # ISOLATED, which Binance refuses to set while the position is open (-4048)
    manual = UMFutures(key=SIM_API_KEY, secret=SIM_API_SECRET, base_url=bot.sim.rest_url)
    try:
        manual.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")
    finally:
        manual.session.close()

    run = bot.run("--once")

    console = run.stdout + run.stderr
    assert run.returncode == 5, console  # a stop had to be placed: attention, not a crash
    assert "margin type not set to ISOLATED" in console and "Traceback" not in console, console
    stops = [a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET"]
    assert len(stops) == 1 and stops[0]["side"] == "SELL", stops

    manual = UMFutures(key=SIM_API_KEY, secret=SIM_API_SECRET, base_url=bot.sim.rest_url)
    try:
        manual.new_order(
            symbol="BTCUSDC", side="SELL", type="MARKET", quantity="0.010", reduceOnly="true"
        )
    finally:
        manual.session.close()
    bot.run("--once")  # flat: the orphaned stop is cancelled (orders block the change too)
    assert bot.run("--once").returncode == 0
    assert bot.sim.exchange.account.margin_type_of("BTCUSDC") == "isolated"  # set at last
