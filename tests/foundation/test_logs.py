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


def test_listen_keys_never_reach_the_debug_log_even_when_replaced(tmp_path, monkeypatch):
    """The stream against the simulator at DEBUG (SDK, urllib3, websocket-client and our
    own loggers): neither a listenKey nor any 8-character piece of one is written.
    The simulator's keys use the URL-safe alphabet (``-`` and ``_``), as Binance may."""
    import itertools
    import queue

    import bot.sim.stream
    from bot.exchange.client import ExchangeClient
    from bot.exchange.venues import SIM_USER_PATH, Venue
    from bot.sim import SIM_API_KEY, SIM_API_SECRET, Simulator
    from bot.stream.user_stream import UserStream
    from tests.waiting import eventually

    numbers = itertools.count()
    keys: list[str] = []

    def token_urlsafe(_nbytes: int) -> str:
        key = f"Lk-{next(numbers)}_q9-Zr_{'x7-Y_' * 12}"[:64]
        keys.append(key)
        return key

    monkeypatch.setattr(bot.sim.stream.secrets, "token_urlsafe", token_urlsafe)
    console = io.StringIO()
    redactor = Redactor([SIM_API_KEY, SIM_API_SECRET])
    handlers = setup_logging(
        level="DEBUG", log_dir=tmp_path, redactor=redactor, max_bytes=10**7, backups=1,
        console=console,
    )  # fmt: skip
    try:
        with Simulator(ping_interval_s=0.2) as sim:
            client = ExchangeClient(
                Venue(sim.rest_url, sim.ws_url, SIM_USER_PATH),
                SIM_API_KEY,
                SIM_API_SECRET,
                timeout_s=3,
                on_secret=redactor.add,
            )
            stream = UserStream(client, queue.Queue(), silence_timeout_s=1.0, backoff=(0.1, 0.2))
            stream.start()
            try:
                eventually(lambda: stream.health().healthy, "stream connected")
                stream.keepalive()
                sim.expire_listen_key()  # a new key replaces the first
                eventually(lambda: stream.health().reconnects >= 1, "reconnected")
                eventually(lambda: stream.health().healthy, "healthy again")
            finally:
                assert stream.stop(timeout=5)
                client.close()
    finally:
        teardown_logging(handlers)
    assert len(set(keys)) >= 2
    for text in ((tmp_path / "bot.log").read_text(), console.getvalue()):
        assert "/fapi/v1/listenKey" in text  # the SDK did log the calls
        for key in set(keys):
            pieces = {key[i : i + 8] for i in range(len(key) - 7)}
            leaked = [piece for piece in pieces if piece in text]
            assert leaked == [], f"pieces of listenKey {key} in the log"
