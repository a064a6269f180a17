from __future__ import annotations

from decimal import Decimal

from bot.exchange.orders import stop_loss
from tests.stream.conftest import Bot
from tests.waiting import eventually


def test_a_fill_updates_position_and_balance_through_the_stream(bot: Bot):
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000000-E")
    eventually(lambda: "BTCUSDC" in bot.oms.snapshot().positions, "position from the stream")
    view = bot.oms.snapshot()
    assert view.positions["BTCUSDC"].amount == Decimal(bot.sim.position("BTCUSDC")["positionAmt"])
    assert view.usdc_wallet == bot.sim.balance()
    assert bot.drift() == []
    health = bot.stream.health()
    assert (health.reconnects, health.fallback_snapshots) == (0, 0)


def test_websocket_dropped_in_the_middle_of_fills_ends_in_sync(bot: Bot):
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000001-E")
    bot.sim.drop_streams()
    bot.market("BUY", "0.020", "ufb-BTCUSDC-1760000000002-E")
    bot.market("SELL", "0.005", "ufb-BTCUSDC-1760000000003-X")
    eventually(lambda: bot.stream.health().fallback_snapshots > 0, "fallback poller ran")
    eventually(lambda: bot.stream.health().reconnects >= 1, "reconnected")
    eventually(bot.in_sync, "OMS equals the exchange")
    assert bot.oms.snapshot().positions["BTCUSDC"].amount == Decimal("0.025")
    assert "WebSocketConnectionClosedException" in bot.stream.health().last_disconnect


def test_expired_listen_key_is_replaced_and_fills_keep_arriving(bot: Bot):
    bot.sim.expire_listen_key()
    eventually(lambda: bot.stream.health().reconnects >= 1, "reconnected with a new key")
    assert bot.stream.health().last_disconnect == "listenKeyExpired event"
    eventually(lambda: bot.stream.health().healthy, "healthy again")
    messages = bot.stream.health().messages
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000004-E")
    eventually(lambda: bot.stream.health().messages > messages, "fills through the new key")
    eventually(bot.in_sync, "OMS equals the exchange")


def test_keepalive_extends_the_key_and_reconnects_after_minus_1125(bot: Bot):
    bot.stream.keepalive()
    assert any(r.method == "PUT" and r.path == "/fapi/v1/listenKey" for r in bot.sim.request_log)
    with bot.sim.exchange.lock:
        for key in list(bot.sim.exchange.listen_keys.expiry):
            bot.sim.exchange.listen_keys.close(key)  # gone without an event, as after 60 min
    bot.stream.keepalive()
    eventually(lambda: bot.stream.health().reconnects >= 1, "reconnected after -1125")
    eventually(lambda: "-1125" in (bot.stream.health().last_disconnect or ""), "reason recorded")


def test_a_silent_stream_is_replaced_and_state_repaired(bot: Bot):
    bot.sim.silence_streams(True)
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000005-E")
    eventually(lambda: bot.stream.health().fallback_snapshots > 0, "fallback poller ran")
    assert "silent" in bot.stream.health().last_disconnect or "Timeout" in (
        bot.stream.health().last_disconnect
    )
    eventually(bot.in_sync, "OMS equals the exchange from REST alone")
    bot.sim.silence_streams(False)
    eventually(lambda: bot.stream.health().healthy, "stream healthy again")
    assert bot.oms.snapshot().positions["BTCUSDC"].amount == Decimal("0.010")


def test_stop_closes_the_listen_key(bot: Bot, sim):
    bot.stream.stop(timeout=5)
    assert any(r.method == "DELETE" and r.path == "/fapi/v1/listenKey" for r in sim.request_log)
    assert bot.stream.health().state == "stopped"


def test_a_triggered_stop_loss_reaches_the_streak_through_the_stream(bot: Bot):
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000006-E")
    entry = Decimal(bot.sim.position("BTCUSDC")["entryPrice"])
    trigger = (entry * Decimal("0.98")).quantize(Decimal("0.1"))
    sl_id = "ufb-BTCUSDC-1760000000006-SL"
    bot.client.place_algo_order(stop_loss("BTCUSDC", "SELL", trigger, sl_id, close_position=True))
    eventually(lambda: sl_id in bot.oms.snapshot().open_algo_orders, "SL tracked as open")
    bot.sim.set_prices("BTCUSDC", mark=trigger - 10, last=trigger - 10)
    eventually(lambda: bot.oms.snapshot().sl_streak == 1, "SL exit counted")
    view = bot.oms.snapshot()
    assert view.positions == {}
    assert view.open_algo_orders == {}
    assert view.algo_orders[sl_id].actual_order_id is not None
    eventually(bot.in_sync, "OMS equals the exchange")


def test_a_frame_that_is_not_utf8_is_counted_malformed_and_the_stream_goes_on(bot: Bot):
    """The socket skips websocket-client's slow UTF-8 check; the decode still refuses."""
    bot.sim.push_raw_frame(b'{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"c":"\xff\xfe"}}')
    bot.market("BUY", "0.010", "ufb-BTCUSDC-1760000000004-E")
    eventually(lambda: "BTCUSDC" in bot.oms.snapshot().positions, "the next event applied")
    assert bot.worker.malformed == 1
    assert bot.stream.health().reconnects == 0
