from __future__ import annotations

import pytest


@pytest.fixture
def sim_options() -> dict[str, int]:
    return {"clock_offset_ms": 10_000}  # the venue's clock 10 s ahead of this machine's


def test_doctor_fails_the_clock_line_when_the_local_clock_is_beyond_recv_window(run):
    code, out = run("doctor")

    assert code == 1
    (clock,) = [line for line in out.splitlines() if line.startswith("FAIL  clock")]
    assert "behind the venue" in clock and "enable NTP" in clock, out
