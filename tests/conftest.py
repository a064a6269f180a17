"""Fixtures every test package shares: one simulator fixture (its options overridable
per package, e.g. a short server ping for the stream tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.sim import Simulator


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """Keyword arguments of the test's simulator; a package's conftest may override it."""
    return {}


@pytest.fixture
def sim(sim_options: dict[str, Any]) -> Iterator[Simulator]:
    """A fresh simulator on loopback for one test, stopped after it."""
    with Simulator(**sim_options) as simulator:
        yield simulator
