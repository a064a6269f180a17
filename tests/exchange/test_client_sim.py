"""ExchangeClient driving the real SDK against the local simulator (bot.sim)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.errors import AuthError, NotFound, ReadOnlyViolation, SymbolNotTradable
from bot.exchange.orders import market_order, stop_loss, take_profit
from bot.exchange.venues import Venue, resolve_venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.sim
D = Decimal


@pytest.fixture(scope="module")
def sim():
    with Simulator() as running:
        yield running


def make_client(sim, sleeps=None, **options) -> ExchangeClient:
    venue = resolve_venue("sim", sim=Venue(sim.rest_url, sim.ws_url, "/private/ws/{listen_key}"))
    key = options.pop("api_key", SIM_API_KEY)
    sleep = sleeps.append if sleeps is not None else (lambda _s: None)
    options.setdefault("timeout_s", 2)
    return ExchangeClient(venue, key, SIM_API_SECRET, sleep=sleep, **options)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sim, sleeps):
    sim.clear_request_log()
    with make_client(sim, sleeps) as exchange:
        yield exchange


def test_market_data_and_rules_come_from_the_venue(client):
    rules = client.symbol_rules("BTCUSDC")
    assert rules.margin_asset == "USDC" and rules.tick_size > 0
    assert client.mark_price("BTCUSDC") > 0 and client.last_price("BTCUSDC") > 0
    rows = client.klines("BTCUSDC", "1m", 5)
    assert len(rows) == 5 and len(rows[0]) >= 6
    with pytest.raises(SymbolNotTradable, match="BTCUSDT"):
        client.symbol_rules("BTCUSDT")


def test_weight_is_tracked_from_headers(client):
    client.klines("BTCUSDC", "1m", 5)  # the first answer also carries earlier requests' weight
    before = client.weight_spent
    client.klines("BTCUSDC", "1m", 5)
    assert client.used_weight_1m >= 2 and client.weight_spent == before + 1


def test_clock_skew_is_recovered(sim, client):
    sim.inject("-1021", path="/fapi/v3/account")
    assert client.usdc_balance().asset == "USDC"
    paths = [r.path for r in sim.request_log]
    assert paths == ["/fapi/v3/account", "/fapi/v1/time", "/fapi/v3/account"]


def test_429_waits_for_retry_after(sim, client, sleeps):
    sim.inject("429", path="/fapi/v1/premiumIndex", retry_after_s=3)
    assert client.mark_price("BTCUSDC") > 0
    assert sleeps and 2 < max(sleeps) <= 3
    assert len(sim.request_log) == 2


def test_wrong_key_fails_fast_with_a_clear_message(sim):
    sim.clear_request_log()
    with make_client(sim, api_key="not-the-key") as wrong, pytest.raises(AuthError, match="IP"):
        wrong.account()
    assert len(sim.request_log) == 1


def test_dry_run_client_sends_no_signed_write(sim):
    sim.clear_request_log()
    with make_client(sim, read_only=True) as dry:
        with pytest.raises(ReadOnlyViolation):
            dry.place_order(market_order("BTCUSDC", "BUY", D("0.01"), "ufbd-BTCUSDC-1-E"))
        with pytest.raises(ReadOnlyViolation):
            dry.cancel_all("BTCUSDC")
        assert dry.mark_price("BTCUSDC") > 0
        key = dry.new_listen_key()
        dry.close_listen_key(key)
    assert [r.method for r in sim.request_log] == ["GET", "POST", "DELETE"]


def test_listen_key_lifecycle(sim, client):
    key = client.new_listen_key()
    assert client.user_stream_url(key) == f"{sim.ws_url}/private/ws/{key}"
    client.keepalive_listen_key(key)
    client.close_listen_key(key)
    with pytest.raises(NotFound):
        client.keepalive_listen_key(key)


ENTRY_ID = "ufb-BTCUSDC-{n}-E"


@pytest.fixture
def flat(sim, client):
    """A one-way account with USDC, no orders and no position on BTCUSDC."""
    sim.seed_balance(D("10000"))
    sim.set_prices("BTCUSDC", mark=D("60000"), last=D("60000"))
    client.setup_account(["BTCUSDC"], leverage=5, margin_type="ISOLATED")
    yield sim
    client.cancel_all("BTCUSDC")
    amount = D(sim.position("BTCUSDC")["positionAmt"])
    if amount:
        side = "SELL" if amount > 0 else "BUY"
        close = market_order("BTCUSDC", side, abs(amount), "cleanup", reduce_only=True)
        client.place_order(close)


def bracket(client, n: int, *, tp_style: str, close_position: bool) -> None:
    rules = client.symbol_rules("BTCUSDC")
    qty = rules.round_qty(D(0.1) + D(0.2), market=True)  # float noise must never reach Binance
    client.place_order(market_order("BTCUSDC", "BUY", qty, ENTRY_ID.format(n=n)))
    exit_qty = None if close_position else qty
    client.place_algo_order(
        stop_loss(
            "BTCUSDC",
            "SELL",
            rules.round_price(D("58000.04")),
            f"ufb-BTCUSDC-{n}-SL",
            qty=exit_qty,
            close_position=close_position,
            working_type="LAST_PRICE",
        )
    )
    client.place_algo_order(
        take_profit(
            "BTCUSDC",
            "SELL",
            rules.round_price(D("62000")),
            f"ufb-BTCUSDC-{n}-TP",
            style=tp_style,
            price=rules.round_price(D("62000")) if tp_style == "TAKE_PROFIT" else None,
            qty=exit_qty,
            close_position=close_position,
            working_type="LAST_PRICE",
        )
    )


@pytest.mark.parametrize(
    ("tp_style", "close_position"),
    [("TAKE_PROFIT", False), ("TAKE_PROFIT_MARKET", True), ("TAKE_PROFIT_MARKET", False)],
)
def test_bracket_is_one_entry_and_two_reduce_only_algo_orders(
    flat, client, tp_style, close_position
):
    flat.clear_request_log()
    bracket(client, 1, tp_style=tp_style, close_position=close_position)
    assert D(flat.position("BTCUSDC")["positionAmt"]) == D("0.3")
    assert flat.open_orders("BTCUSDC") == []
    algo = {o["orderType"]: o for o in flat.open_algo_orders("BTCUSDC")}
    assert set(algo) == {"STOP_MARKET", tp_style}
    for order in algo.values():
        assert order["workingType"] == "CONTRACT_PRICE"
        assert order["closePosition"] if close_position else order["reduceOnly"]
    assert [r.status for r in flat.request_log if r.method == "POST"] == [200, 200, 200]


def test_bracket_weight_cost(flat, client):
    client.symbol_rules("BTCUSDC")  # rules are fetched once per process (and cached on disk)
    before = client.weight_spent
    bracket(client, 2, tp_style="TAKE_PROFIT_MARKET", close_position=False)
    assert client.weight_spent - before == 0  # order and algo POSTs cost no IP weight


def test_entry_answered_503_after_execution_is_not_duplicated(flat, client):
    flat.inject("503_after_execute", method="POST", path="/fapi/v1/order")
    client.place_order(market_order("BTCUSDC", "BUY", D("0.01"), ENTRY_ID.format(n=3)))
    assert D(flat.position("BTCUSDC")["positionAmt"]) == D("0.01")


def test_entry_that_times_out_after_execution_is_not_duplicated(sim, flat):
    with make_client(sim, timeout_s=0.3) as impatient:
        sim.inject("delay_after_execute", method="POST", path="/fapi/v1/order", delay_s=0.6)
        params = market_order("BTCUSDC", "BUY", D("0.02"), ENTRY_ID.format(n=4))
        assert impatient.place_order(params).status == "FILLED"
    assert D(flat.position("BTCUSDC")["positionAmt"]) == D("0.02")


def test_algo_order_with_unknown_outcome_is_not_duplicated(flat, client):
    client.place_order(market_order("BTCUSDC", "BUY", D("0.01"), ENTRY_ID.format(n=5)))
    flat.inject("-1007", method="POST", path="/fapi/v1/algoOrder")
    sl = stop_loss("BTCUSDC", "SELL", D("58000"), "ufb-BTCUSDC-5-SL", qty=D("0.01"))
    client.place_algo_order(sl)
    assert len(flat.open_algo_orders("BTCUSDC")) == 1


def test_cancels_are_by_client_id_and_cancel_all_clears_both_books(flat, client):
    bracket(client, 6, tp_style="TAKE_PROFIT_MARKET", close_position=False)
    assert client.cancel_algo_order("ufb-BTCUSDC-6-TP") is not None
    assert client.cancel_algo_order("ufb-BTCUSDC-6-TP") is False
    assert client.query_algo_order("ufb-BTCUSDC-6-SL").status == "NEW"
    assert client.query_order("BTCUSDC", "never-sent") is None
    client.cancel_all("BTCUSDC")
    assert flat.open_algo_orders("BTCUSDC") == [] and client.open_algo_orders("BTCUSDC") == []


def test_account_setup_is_idempotent(flat, client):
    client.setup_account(["BTCUSDC", "ETHUSDC"], leverage=3, margin_type="CROSSED")
    client.setup_account(["BTCUSDC", "ETHUSDC"], leverage=3, margin_type="CROSSED")


def test_reads_return_typed_records(flat, client):
    client.place_order(market_order("BTCUSDC", "BUY", D("0.01"), ENTRY_ID.format(n=7)))
    positions = {p.symbol: p for p in client.position_risk()}
    assert positions["BTCUSDC"].amount == D("0.01")
    assert client.usdc_balance().asset == "USDC"
    commissions = client.income(0, income_types=("COMMISSION",))
    assert commissions and all(r.income_type == "COMMISSION" for r in commissions)


def test_stop_loss_answered_200_with_an_error_body_is_placed_after_the_query(flat, client):
    client.place_order(market_order("BTCUSDC", "BUY", D("0.01"), ENTRY_ID.format(n=8)))
    flat.reply_raw(
        "POST",
        "/fapi/v1/algoOrder",
        '{"code":-2021,"msg":"Order would immediately trigger."}',
        execute=False,
    )
    sl = stop_loss("BTCUSDC", "SELL", D("56535.0"), "ufb-BTCUSDC-8-SL", qty=D("0.01"))
    assert client.place_algo_order(sl).status == "NEW"
    assert [a["clientAlgoId"] for a in flat.open_algo_orders("BTCUSDC")] == ["ufb-BTCUSDC-8-SL"]


def test_entry_executed_but_answered_with_html_is_not_duplicated(flat, client):
    flat.reply_raw("POST", "/fapi/v1/order", "<html>502 Bad Gateway</html>", execute=True)
    params = market_order("BTCUSDC", "BUY", D("0.01"), ENTRY_ID.format(n=9))
    assert client.place_order(params).status == "FILLED"
    assert D(flat.position("BTCUSDC")["positionAmt"]) == D("0.01")
