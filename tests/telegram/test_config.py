"""The ``telegram:`` section: off by default, allow-listed ints only, the token never in it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Secrets, load_config


def problems(**telegram) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_config(None, environ={}, overrides={"telegram": telegram})
    return refused.value.problems


def test_telegram_control_is_off_by_default():
    assert load_config(None, environ={}).telegram.enabled is False


def test_enabled_without_an_allow_listed_chat_is_refused():
    (problem,) = problems(enabled=True)
    assert problem.startswith("telegram") and "at least one allow-listed chat id" in problem


@pytest.mark.parametrize("chat_id", [True, "4242", 4.5])
def test_a_chat_id_that_is_not_an_integer_is_refused(chat_id):
    (problem,) = problems(enabled=True, chat_ids=[chat_id])
    assert problem.startswith("telegram.chat_ids.0")


def test_the_token_is_refused_in_the_yaml_and_read_from_the_environment_only(tmp_path):
    (problem,) = problems(token="123:abc")
    assert problem.startswith("telegram.token")
    env_file = tmp_path / ".env"
    env_file.write_text("BOT_TELEGRAM_TOKEN=from-dotenv-123\n")
    assert Secrets.load(env_file, environ={}).telegram_token.get_secret_value() == "from-dotenv-123"
    overridden = Secrets.load(env_file, environ={"BOT_TELEGRAM_TOKEN": "from-env-456"})
    assert overridden.telegram_token.get_secret_value() == "from-env-456"
