"""Request-weight budget, 429 and 418 against the simulator's rate limiter.

Each test gets its own simulator: the limiter's minute window is shared state.
"""

from __future__ import annotations

import pytest

from bot.exchange.client import ExchangeClient
from bot.exchange.errors import IpBanned, RateLimited
from bot.exchange.venues import Venue
from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator

pytestmark = pytest.mark.sim
HEAVY_READS = 70  # openOrders without a symbol weighs 40: 70 of them are 2800 > 2400


def client_for(sim: Simulator, **options) -> ExchangeClient:
    venue = Venue(sim.rest_url, sim.ws_url, "/private/ws/{listen_key}")
    return ExchangeClient(venue, SIM_API_KEY, SIM_API_SECRET, timeout_s=2, **options)


def test_budget_pauses_until_the_next_minute_instead_of_hitting_429():
    pauses: list[float] = []

    def sleep(seconds: float) -> None:  # waiting moves the exchange's clock instead
        pauses.append(seconds)
        sim.advance(seconds)

    with Simulator() as sim, client_for(sim, sleep=sleep, weight_budget_share=0.8) as client:
        for _ in range(HEAVY_READS):
            client.open_orders()
        statuses = {record.status for record in sim.request_log}
    assert pauses and 429 not in statuses and 418 not in statuses


def test_ip_ban_raises_an_alarm_and_stops_sending():
    alarms: list[tuple[str, dict]] = []
    sleeps: list[float] = []  # a clock that never moves: the client cannot wait the ban out
    with (
        Simulator() as sim,
        client_for(
            sim,
            sleep=sleeps.append,
            weight_budget_share=1.0,
            on_alarm=lambda kind, detail: alarms.append((kind, detail)),
        ) as client,
    ):
        with pytest.raises(IpBanned):
            for _ in range(HEAVY_READS):
                try:
                    client.open_orders()
                except RateLimited:
                    continue
        sent = len(sim.request_log)
        with pytest.raises(IpBanned):
            client.open_orders()
        assert len(sim.request_log) == sent
    kinds = [kind for kind, _ in alarms]
    assert kinds[-1] == "ip_banned" and set(kinds[:-1]) == {"rate_limited"}
    assert sleeps and all(s <= 60 for s in sleeps)
