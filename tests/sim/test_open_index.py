"""The engine's open-order index answers what a scan of every order would."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.sim.account import OpenIndex


@dataclass
class _Order:
    status: str = "NEW"

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"


def test_the_open_index_matches_a_full_scan_through_fills_cancels_and_lost_orders() -> None:
    rng = random.Random(7)
    orders: dict[int, _Order] = {}
    index: OpenIndex[_Order] = OpenIndex()
    next_id = 1
    for _ in range(3000):
        action = rng.random()
        if action < 0.4:
            orders[next_id] = _Order()
            next_id += 1
        elif action < 0.8 and orders:
            rng.choice(list(orders.values())).status = rng.choice(["FILLED", "CANCELED"])
        elif action < 0.85 and orders:
            del orders[rng.choice(list(orders))]  # Binance lost it (a test's fault)
        assert index.open(orders) == [o for o in orders.values() if o.is_open]
