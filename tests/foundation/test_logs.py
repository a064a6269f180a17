"""Logs must never hold a secret, even what the SDK and urllib3 print at DEBUG."""

import io
import logging

import responses
from binance.um_futures import UMFutures

from bot.logs import setup_logging, teardown_logging
from bot.redact import Redactor

API_KEY = "testnet-key-AbCdEf123456"
API_SECRET = "testnet-secret-ZyXw987654"
LISTEN_KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
REST = "https://fapi.example.test"


@responses.activate
def test_sdk_debug_logs_are_redacted_in_file_and_console(tmp_path):
    responses.get(f"{REST}/fapi/v3/account", json={"assets": [], "apiKey": API_KEY})
    responses.post(f"{REST}/fapi/v1/listenKey", json={"listenKey": LISTEN_KEY})
    console = io.StringIO()
    redactor = Redactor([API_KEY, API_SECRET])
    handlers = setup_logging(
        level="DEBUG",
        log_dir=tmp_path,
        redactor=redactor,
        max_bytes=100_000,
        backups=1,
        console=console,
    )
    try:
        client = UMFutures(key=API_KEY, secret=API_SECRET, base_url=REST, timeout=5)
        client.account()
        client.new_listen_key()
        try:
            raise RuntimeError(f"failed with secret {API_SECRET} in the message")
        except RuntimeError:
            logging.getLogger("bot.test").exception("request failed")
    finally:
        teardown_logging(handlers)
        client.session.close()
    for text in ((tmp_path / "bot.log").read_text(), console.getvalue()):
        assert "url: https://fapi.example.test/fapi/v3/account" in text  # the SDK did log
        assert API_KEY not in text
        assert API_SECRET not in text
        assert LISTEN_KEY not in text
        assert "signature=***" in text or "signature" not in text
        assert "Traceback" in text  # the exception text went through the same filter


def test_log_timestamps_are_utc_iso8601(tmp_path):
    console = io.StringIO()
    handlers = setup_logging(
        level="INFO",
        log_dir=tmp_path,
        redactor=Redactor(),
        max_bytes=100_000,
        backups=1,
        console=console,
    )
    logging.getLogger("bot.test").info("hello")
    teardown_logging(handlers)
    stamp = console.getvalue().split(" ", 1)[0]
    assert stamp.endswith("Z") and "T" in stamp
