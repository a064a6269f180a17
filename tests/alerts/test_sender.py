"""The sender against a local webhook: duplicates collapsed, failures counted."""

from __future__ import annotations

from bot.alerts import Alert, AlertSender
from bot.alerts.channel import AppriseChannel, url_secrets
from tests.alerts.conftest import URL_PASSWORD
from tests.waiting import eventually


def sender_to(url: str, *, window_s: float) -> AlertSender:
    channel = AppriseChannel([url], timeout_s=0.5)
    return AlertSender(channel.send, queue_size=100, dedupe_window_s=window_s)


def alert(number: int, key: str = "kill_switch:on") -> Alert:
    return Alert("kill_switch", "warning", key, f"kill switch ON ({number})")


def test_duplicates_within_the_window_are_collapsed_into_one_more_line(receiver):
    sender = sender_to(receiver.url, window_s=60)
    sender.start()
    for number in range(4):
        sender.submit(alert(number))
    sender.submit(alert(9, key="drift:drift"))  # another event: not collapsed
    eventually(lambda: len(receiver.messages) == 2, "the first of each key sent at once")
    assert sender.close(deadline_s=2)
    assert receiver.titles() == [
        "kill switch ON (0)",
        "kill switch ON (9)",
        "kill switch ON (3) (…and 3 more)",  # at close, the window's rest in one line
    ]
    assert (sender.stats.sent, sender.stats.collapsed, sender.stats.failed) == (3, 3, 0)


def test_the_window_ends_by_itself_and_the_next_alert_goes_at_once(receiver):
    sender = sender_to(receiver.url, window_s=0.2)
    sender.start()
    sender.submit(alert(1))
    sender.submit(alert(2))
    eventually(lambda: len(receiver.messages) == 2, "the collapsed one after the window")
    sender.submit(alert(3))
    eventually(lambda: len(receiver.messages) == 3, "a new window")
    assert sender.close(deadline_s=2)
    assert receiver.titles()[1:] == ["kill switch ON (2) (…and 1 more)", "kill switch ON (3)"]


def test_a_receiver_answering_500_counts_as_failed(receiver):
    receiver.mode = "error"
    sender = sender_to(receiver.url, window_s=0)
    sender.start()
    sender.submit(alert(1))
    assert sender.close(deadline_s=2)
    assert (sender.stats.sent, sender.stats.failed) == (0, 1)


def test_every_part_of_an_alert_url_that_may_be_a_token_is_a_secret():
    secrets = set(url_secrets(f"json://alerts:{URL_PASSWORD}@127.0.0.1:9/hook"))
    assert URL_PASSWORD in secrets and "127.0.0.1:9" not in secrets
    bot_token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    assert bot_token in set(url_secrets(f"tgram://{bot_token}/-100123456"))
    assert "-100123456" in set(url_secrets(f"tgram://{bot_token}/-100123456"))


def test_a_sender_that_died_is_noticed_and_later_alerts_are_counted_dropped(caplog):
    def broken(alert: Alert) -> bool:
        raise RuntimeError("a bug in a channel")

    sender = AlertSender(broken, queue_size=10, dedupe_window_s=0)
    sender.start()
    sender.submit(alert(1))
    eventually(lambda: sender.died is not None, "the sender's death recorded")
    sender.submit(alert(2))
    assert sender.stats.dropped == 1 and not sender.alive
    assert "the alert sender thread died" in caplog.text
    assert sender.close(deadline_s=1)


def test_a_webhook_id_in_the_host_place_is_a_secret_too():
    assert "123456789012345678" in set(url_secrets("discord://123456789012345678/Tok3n"))
