from __future__ import annotations

from bot.sim import Simulator


def _lines(out: str) -> dict[str, str]:
    """check name -> its line ("FAIL  position mode: ...")."""
    return {line.split(":")[0][6:]: line for line in out.splitlines()}


def test_doctor_passes_a_correctly_set_up_account(sim: Simulator, other_client, run):
    other_client.change_margin_type(symbol="BTCUSDC", marginType="ISOLATED")
    other_client.change_leverage(symbol="BTCUSDC", leverage=5)

    code, out = run("doctor")

    assert code == 0, out
    lines = _lines(out)
    for name in ("state dir", "audit journal", "clock", "position mode", "multi-assets mode",
                 "symbol BTCUSDC", "leverage and margin type", "commission BTCUSDC",
                 "user-data stream", "market stream"):  # fmt: skip
        assert lines[name].startswith("ok"), out
    assert lines["api key"].startswith("warn") and "apiRestrictions" in lines["api key"]
    assert "FAIL" not in out
    assert sim.signed_requests(writes_only=True) == 2  # the test's own two settings


def test_doctor_fails_the_position_mode_line_on_a_hedge_mode_account(other_client, run):
    other_client.change_margin_type(symbol="BTCUSDC", marginType="ISOLATED")
    other_client.change_leverage(symbol="BTCUSDC", leverage=5)
    other_client.change_position_mode(dualSidePosition="true")

    code, out = run("doctor")

    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "position mode: hedge (dual-side) mode" in failed[0], out


def test_doctor_fails_the_leverage_line_when_the_account_differs_from_config(other_client, run):
    other_client.change_margin_type(symbol="BTCUSDC", marginType="ISOLATED")
    other_client.change_leverage(symbol="BTCUSDC", leverage=7)

    code, out = run("doctor")

    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed == [
        "FAIL  leverage and margin type: BTCUSDC ISOLATED x7 (configured ISOLATED x5): the "
        "next `python main.py --once` sets them (Binance refuses a change while a position "
        "or order is open)"
    ], out
