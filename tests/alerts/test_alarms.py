"""Every alarm record has one shape, and prints one console line at most."""

from __future__ import annotations

import io

from bot.alarms import raise_alarm
from bot.logs import LOG_FILE, setup_logging, teardown_logging
from bot.redact import Redactor


class Journal:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict]] = []

    def append(self, kind: str, data: dict, *, sync: bool = False) -> None:
        self.records.append((kind, data))


def test_an_alarm_has_one_shape_and_a_429_alarm_stays_off_the_console(tmp_path):
    console = io.StringIO()
    handlers = setup_logging(
        level="INFO",
        log_dir=tmp_path,
        redactor=Redactor(),
        max_bytes=1 << 20,
        backups=1,
        console=console,
    )
    journal = Journal()
    try:
        raise_alarm(journal, "stuck_trigger", "stop stuck", symbol="BTCUSDC", client_id="c1")
        raise_alarm(journal, "rate_limited", "GET /x: rate limited", path="/x")
    finally:
        teardown_logging(handlers)
    assert journal.records == [
        (
            "alarm",
            {
                "kind": "stuck_trigger",
                "reason": "stop stuck",
                "symbol": "BTCUSDC",
                "client_id": "c1",
            },
        ),
        ("alarm", {"kind": "rate_limited", "reason": "GET /x: rate limited", "path": "/x"}),
    ]
    assert "ALARM stuck_trigger BTCUSDC c1: stop stuck" in console.getvalue()
    assert "rate_limited" not in console.getvalue()  # the transport printed its own line
    assert "ALARM rate_limited" in (tmp_path / LOG_FILE).read_text()
