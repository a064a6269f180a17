"""Wait for something another thread or process does, within a bound, or fail saying what."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(
    condition: Callable[[], object],
    what: str = "the condition",
    timeout: float = 10.0,
    interval: float = 0.01,
) -> None:
    """Poll ``condition`` until it is true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(interval)
