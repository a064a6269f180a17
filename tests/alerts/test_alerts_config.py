"""Alert URLs come only from the environment, and never show anywhere."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Secrets, load_config
from bot.runtime import Runtime

URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123456"


def test_an_alert_url_in_the_yaml_is_refused_naming_its_path_without_showing_it(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"alerts:\n  events:\n    drift:\n      level: warning\n  urls: ['{URL}']\n")
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})
    (problem,) = refused.value.problems
    assert "alerts.urls" in problem and "BOT_ALERT_URLS" in problem
    assert "AAHdqTcv" not in problem


def test_alert_urls_are_read_from_dotenv_and_masked_in_the_log(tmp_path, caplog):
    env = tmp_path / ".env"
    env.write_text(f"BOT_ALERT_URLS={URL}, json://127.0.0.1:9/hook\n")
    secrets = Secrets.load(env, environ={})
    assert secrets.alert_urls is not None and URL in secrets.alert_urls.get_secret_value()
    config = load_config(
        None, environ={}, overrides={"paths": {"state_dir": str(tmp_path / "var")}}
    )
    with Runtime(config, secrets, dry_run=False, mode="test", log_level="INFO") as runtime:
        logging.getLogger("bot.test").warning("sending to %s", URL)
        assert runtime.alerts is not None
    log = (tmp_path / "var" / "logs" / "bot.log").read_text()
    assert "sending to ***" in log and "AAHdqTcv" not in log


def test_alerts_are_off_without_urls_or_when_disabled(tmp_path):
    config = load_config(
        None,
        environ={},
        overrides={"paths": {"state_dir": str(tmp_path)}, "alerts": {"enabled": False}},
    )
    on = Secrets(alert_urls=SecretStr(URL))
    assert Runtime(config, on, dry_run=False, mode="test", log_level="INFO").alerts is None
    default = load_config(None, environ={}, overrides={"paths": {"state_dir": str(tmp_path)}})
    assert Runtime(default, Secrets(), dry_run=False, mode="test", log_level="INFO").alerts is None
