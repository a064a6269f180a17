"""The kill switch file is written by other processes: its content is untrusted."""

from __future__ import annotations

import json

import pytest

from bot.killswitch import KILL_SWITCH_FILE, KillSwitch


@pytest.mark.parametrize("record", [{"since": "2026-01-01T00:00:00+00:00"}, {"reason": 7}])
def test_kill_switch_file_without_a_text_reason_still_reads_as_engaged(tmp_path, record):
    (tmp_path / KILL_SWITCH_FILE).write_text(json.dumps(record), encoding="utf-8")
    switch = KillSwitch(tmp_path)

    assert switch.engaged
    assert switch.reason() == "kill switch file names no reason (treated as engaged)"
