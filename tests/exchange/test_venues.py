import pytest

from bot.exchange.venues import VENUES, Venue, resolve_venue


def test_live_user_stream_is_on_the_private_root():
    assert (
        resolve_venue("live").user_stream_url("KEY") == "wss://fstream.binance.com/private/ws/KEY"
    )


def test_overrides_replace_roots_but_keep_the_path_template():
    venue = resolve_venue("testnet", rest_url="http://proxy:1/", ws_url="ws://proxy:2")
    assert venue.rest == "http://proxy:1"
    assert venue.user_stream_url("K") == "ws://proxy:2/ws/K"
    assert VENUES["testnet"].rest == "https://testnet.binancefuture.com"


def test_sim_needs_the_running_simulator():
    sim = Venue("http://127.0.0.1:5", "ws://127.0.0.1:6", "/private/ws/{listen_key}")
    assert resolve_venue("sim", sim=sim) is sim
    with pytest.raises(ValueError, match="sim"):
        resolve_venue("sim")
    with pytest.raises(ValueError, match="unknown venue"):
        resolve_venue("mainnet")
