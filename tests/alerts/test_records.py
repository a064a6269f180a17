"""The records alerts need that nothing else wrote: a stream down too long, the day's sum."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.alerts import AlertRules, Limits
from bot.alerts.records import StreamWatch, daily_summary
from bot.config import AlertEventsConfig
from bot.oms.state import DayPnl, OmsView
from bot.stream.user_stream import StreamHealth

UP = StreamHealth("connected", True, 5.0, 1.0, 10, 0, 1, False, 0, None)
DOWN = replace(UP, state="reconnecting", connected_for_s=None, last_disconnect="connect failed")


class Journal:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict]] = []

    def append(self, kind: str, data: dict, *, sync: bool = False) -> None:
        self.records.append((kind, data))


def test_a_stream_down_past_the_threshold_is_recorded_once_and_its_return_too():
    now = [0.0]
    journal = Journal()
    watch = StreamWatch(journal, threshold_s=120, clock=lambda: now[0])
    for at, health in [(0, UP), (10, DOWN), (100, DOWN), (130, DOWN), (160, DOWN), (190, UP)]:
        now[0] = at
        watch.check(health)
    assert [kind for kind, _ in journal.records] == ["stream_down", "stream_up"]
    assert journal.records[0][1]["down_for_s"] == 120
    assert journal.records[0][1]["reason"] == "connect failed"
    rules = AlertRules(AlertEventsConfig(), Limits(Decimal(50), 3, 240), tag="ufb")
    alerts = [
        a for kind, data in journal.records for a in rules.alerts_for({"kind": kind, "data": data})
    ]
    assert [a.title for a in alerts] == [
        "user-data stream down for 120 s",
        "user-data stream back after 180 s",
    ]


def test_a_short_drop_is_no_record():
    now = [0.0]
    journal = Journal()
    watch = StreamWatch(journal, threshold_s=120, clock=lambda: now[0])
    for at, health in [(0, DOWN), (60, UP), (90, DOWN), (200, UP)]:
        now[0] = at
        watch.check(health)
    assert journal.records == []


def test_the_daily_summary_holds_the_stored_pnl_of_the_day():
    day = date(2026, 11, 29)
    view = OmsView(day_pnls={day: DayPnl(day, Decimal("12.5"), Decimal("-0.4"), Decimal("-0.1"))})
    summary = daily_summary(view, day)
    assert summary["total"] == Decimal("12.0") and summary["filled_orders"] == 0
    assert daily_summary(OmsView(), datetime(2026, 11, 28, tzinfo=UTC).date())["total"] == 0
