"""A position opened by hand before the bot ever set the account up must still be protected."""


def test_a_position_that_blocks_the_margin_type_change_still_gets_its_stop(bot, other_client):
    # the account is in cross margin (the default) with a position the bot never saw; the
    # bot wants ISOLATED, which Binance refuses to set while the position is open (-4048)
    other_client.new_order(symbol="BTCUSDC", side="BUY", type="MARKET", quantity="0.010")

    run = bot.run("--once")

    console = run.stdout + run.stderr
    assert run.returncode == 5, console  # a stop had to be placed: attention, not a crash
    assert "margin type not set to ISOLATED" in console and "Traceback" not in console, console
    stops = [a for a in bot.sim.open_algo_orders() if a["orderType"] == "STOP_MARKET"]
    assert len(stops) == 1 and stops[0]["side"] == "SELL", stops

    other_client.new_order(
        symbol="BTCUSDC", side="SELL", type="MARKET", quantity="0.010", reduceOnly="true"
    )
    bot.run("--once")  # flat: the orphaned stop is cancelled (orders block the change too)
    assert bot.run("--once").returncode == 0
    assert bot.sim.exchange.account.margin_type_of("BTCUSDC") == "isolated"  # set at last
