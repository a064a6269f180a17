"""Fixtures every test package shares: one simulator fixture (its options overridable
per package, e.g. a short server ping for the stream tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from binance.um_futures import UMFutures

from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """Keyword arguments of the test's simulator; a package's conftest may override it."""
    return {}


@pytest.fixture
def sim(sim_options: dict[str, Any]) -> Iterator[Simulator]:
    """A fresh simulator on loopback for one test, stopped after it."""
    with Simulator(**sim_options) as simulator:
        yield simulator


@pytest.fixture
def other_client(sim: Simulator) -> Iterator[UMFutures]:
    """Another client of the same account (the SDK, not the bot): a trader's hand, or
    another bot. Closed after the test."""
    client = UMFutures(SIM_API_KEY, SIM_API_SECRET, base_url=sim.rest_url, timeout=5)
    yield client
    client.session.close()
