"""A local Telegram Bot API per test, and the App in this process polling it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.config import Secrets
from bot.sim import Simulator
from tests.e2e.conftest import app_on
from tests.telegram.fake_api import FakeTelegram
from tests.waiting import eventually

TOKEN = "987654321:AAH-fake_token_for_tests_0123456789abcd"
ALLOWED = 4242
STRANGER = 6666


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


def settings(api_base: str, **extra: object) -> dict[str, object]:
    """The ``telegram:`` section of a test: fast polls, one allow-listed chat."""
    return {
        "enabled": True,
        "chat_ids": [ALLOWED],
        "poll_timeout_s": 1,
        "api_base": api_base,
        **extra,
    }


@contextmanager
def controlled_app(
    sim: Simulator, tmp_path: Path, api_base: str, *, log_level: str = "INFO"
) -> Iterator[App]:
    """The App prepared against ``sim`` with its Telegram control started."""
    secrets = Secrets(telegram_token=SecretStr(TOKEN))
    telegram = settings(api_base)
    with app_on(
        sim, tmp_path, user_stream=False, secrets=secrets, log_level=log_level, telegram=telegram
    ) as (app, _):
        app.start_telegram()
        yield app


def listening(fake: FakeTelegram) -> None:
    """Wait until the backlog was skipped and a long poll is open: said from now on is read."""
    eventually(lambda: fake.polls() >= 2, "the bot's first long poll", timeout=10)


def answer(fake: FakeTelegram, chat_id: int, count: int) -> str:
    """The ``count``-th reply to ``chat_id``, once it has come."""
    eventually(lambda: len(fake.replies(chat_id)) >= count, f"reply {count}", timeout=15)
    return fake.replies(chat_id)[count - 1]
