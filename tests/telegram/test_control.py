"""Telegram control as an operator uses it from a phone: allow-listed chats only,
every command audited, ``/flatten`` only with its one-time code."""

from __future__ import annotations

import re
import socket
from decimal import Decimal

from bot.cycle import CycleReport
from tests.audit_reader import audit_records
from tests.telegram.conftest import ALLOWED, STRANGER, TOKEN, answer, controlled_app, listening
from tests.telegram.fake_api import BOT_USERNAME
from tests.waiting import eventually


def open_long(app, sim) -> Decimal:
    app.trading.force_entry("BTCUSDC", "LONG", CycleReport())
    amount = Decimal(sim.position("BTCUSDC")["positionAmt"])
    assert amount > 0
    return amount


def test_an_allow_listed_stopentries_engages_the_kill_switch_keeps_the_stops_and_is_audited(
    sim, tmp_path, telegram
):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        amount = open_long(app, sim)
        stops = len(sim.open_algo_orders("BTCUSDC"))
        listening(telegram)
        telegram.say(ALLOWED, "/stopentries")
        assert "kill switch ON" in answer(telegram, ALLOWED, 1)
        assert app.kill_switch.engaged
        assert app.kill_switch.pending_request() is None  # nothing for the service to do
        assert Decimal(sim.position("BTCUSDC")["positionAmt"]) == amount
        assert len(sim.open_algo_orders("BTCUSDC")) == stops > 0
        telegram.say(ALLOWED, "/stopentries")  # a switch already ON is left as it is
        assert "already ON (telegram /stopentries)" in answer(telegram, ALLOWED, 2)
        telegram.say(ALLOWED, "/resume")
        assert answer(telegram, ALLOWED, 3) == "kill switch cleared"
        assert not app.kill_switch.engaged
    records = audit_records(tmp_path / "audit")
    assert [r["data"] for r in records if r["kind"] == "telegram_command"] == [
        {"chat_id": ALLOWED, "command": "/stopentries"},
        {"chat_id": ALLOWED, "command": "/stopentries"},
        {"chat_id": ALLOWED, "command": "/resume"},
    ]
    switched = [r["data"]["engaged"] for r in records if r["kind"] == "kill_switch"]
    assert switched == [True, False]


def test_a_chat_not_on_the_allow_list_gets_no_answer_and_its_flatten_does_nothing(
    sim, tmp_path, telegram
):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        amount = open_long(app, sim)
        listening(telegram)
        telegram.say(STRANGER, "/flatten")
        telegram.say(STRANGER, "/status")
        telegram.say(ALLOWED, "/pnl")  # handled after the stranger's messages
        assert "realised" in answer(telegram, ALLOWED, 1)
        assert telegram.replies(STRANGER) == []
        assert not app.kill_switch.engaged
        assert Decimal(sim.position("BTCUSDC")["positionAmt"]) == amount
    records = audit_records(tmp_path / "audit")
    refused = [r["data"] for r in records if r["kind"] == "telegram_refused"]
    assert refused == [{"chat_id": STRANGER}, {"chat_id": STRANGER}]
    assert [r["data"]["chat_id"] for r in records if r["kind"] == "telegram_command"] == [ALLOWED]


def test_flatten_without_its_code_or_with_a_wrong_one_does_not_flatten(sim, tmp_path, telegram):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        amount = open_long(app, sim)
        listening(telegram)
        telegram.say(ALLOWED, "/flatten")
        code = re.search(r"/flatten (\d{6})", answer(telegram, ALLOWED, 1)).group(1)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        telegram.say(ALLOWED, f"/flatten {wrong}")
        assert "nothing done" in answer(telegram, ALLOWED, 2)
        telegram.say(ALLOWED, f"/flatten {code}")  # a code has one try
        assert "nothing done" in answer(telegram, ALLOWED, 3)
        assert not app.kill_switch.engaged
        assert Decimal(sim.position("BTCUSDC")["positionAmt"]) == amount
    steps = [r["data"].get("step") for r in audit_records(tmp_path / "audit", "telegram_command")]
    assert steps == [
        "code sent",
        "refused: wrong or expired code",
        "refused: wrong or expired code",
    ]


def test_messages_sent_while_no_service_polled_are_not_acted_on(sim, tmp_path, telegram):
    telegram.say(ALLOWED, "/stopentries")
    with controlled_app(sim, tmp_path, telegram.base) as app:
        listening(telegram)
        telegram.say(ALLOWED, "/status")
        assert "kill switch: off" in answer(telegram, ALLOWED, 1)
        assert len(telegram.replies(ALLOWED)) == 1
        assert not app.kill_switch.engaged


def test_the_token_never_reaches_the_log_when_telegram_is_unreachable(sim, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    log_file = tmp_path / "logs" / "bot.log"
    with controlled_app(sim, tmp_path, closed, log_level="DEBUG"):
        eventually(lambda: "telegram: getMe" in log_file.read_text(), "a logged failure")
    text = log_file.read_text()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "telegram: getMe: ConnectionError; next try in" in text  # the first call


def test_a_malformed_reply_from_telegram_does_not_stop_the_control(sim, tmp_path, telegram):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        listening(telegram)
        telegram.reply_raw(b"[" * 100_000 + b"]" * 100_000)  # json.loads: RecursionError
        telegram.reply_raw(b'{"ok": true, "result": [{"update_id": true}, 7, {"message": 1}]}')
        eventually(lambda: telegram.raw_pending() == 0, "the malformed replies served")
        telegram.say(ALLOWED, "/pnl")
        assert "realised" in answer(telegram, ALLOWED, 1)
        assert app.telegram is not None and app.telegram.alive


def test_the_service_guard_alarms_once_when_the_control_thread_is_gone(sim, tmp_path, telegram):
    from bot.service import _guard

    with controlled_app(sim, tmp_path, telegram.base) as app:
        listening(telegram)
        app.telegram.stop()  # no longer running, as a thread that died
        _guard(app)
        _guard(app)
    alarms = [r["data"] for r in audit_records(tmp_path / "audit", "alarm")]
    assert alarms == [{"kind": "telegram_down", "reason": "the telegram control thread died"}]


def test_status_answers_what_the_exchange_holds(sim, tmp_path, telegram):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        amount = open_long(app, sim)
        listening(telegram)
        telegram.say(ALLOWED, "/status")
        text = answer(telegram, ALLOWED, 1)
    assert "BTCUSDC" in text and str(amount) in text, text


def test_a_command_addressed_to_another_bot_is_not_obeyed(sim, tmp_path, telegram):
    with controlled_app(sim, tmp_path, telegram.base) as app:
        listening(telegram)
        telegram.say(ALLOWED, "/stopentries@some_other_bot")
        telegram.say(ALLOWED, f"/status@{BOT_USERNAME.upper()}")  # ours, in any case
        answer(telegram, ALLOWED, 1)
        assert not app.kill_switch.engaged
    assert len(telegram.replies(ALLOWED)) == 1
