"""The console handler: a library's INFO stays in the file, the bot's own reaches -v."""

import io
import logging

from bot.logs import setup_logging, teardown_logging
from bot.redact import Redactor


def _log_both(tmp_path, level: str) -> tuple[str, str]:
    console = io.StringIO()
    handlers = setup_logging(
        level=level,
        log_dir=tmp_path,
        redactor=Redactor(),
        max_bytes=100_000,
        backups=1,
        console=console,
    )
    try:
        logging.getLogger("websocket").info("Websocket connected")
        logging.getLogger("apscheduler.scheduler").warning("job missed")
        logging.getLogger("bot.stream.user_stream").info("user-data stream connected")
    finally:
        teardown_logging(handlers)
    return console.getvalue(), (tmp_path / "bot.log").read_text()


def test_library_info_goes_to_the_file_only(tmp_path):
    console, file = _log_both(tmp_path, "INFO")

    assert "Websocket connected" not in console
    assert "job missed" in console  # a library's warning still shows
    assert "user-data stream connected" in console
    assert "Websocket connected" in file


def test_debug_level_shows_library_lines_on_the_console(tmp_path):
    console, _ = _log_both(tmp_path, "DEBUG")

    assert "Websocket connected" in console


def test_a_failed_job_is_one_line_on_the_console_and_its_traceback_in_the_file(tmp_path):
    console = io.StringIO()
    handlers = setup_logging(
        level="INFO",
        log_dir=tmp_path,
        redactor=Redactor(),
        max_bytes=100_000,
        backups=1,
        console=console,
        console_level="WARNING",  # the service without -v
    )
    try:
        try:
            raise TimeoutError("read timed out\n(after 10 s)")
        except TimeoutError:
            logging.getLogger("bot.service").exception("strategy tick failed")
    finally:
        teardown_logging(handlers)
    lines = console.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        "strategy tick failed: TimeoutError: read timed out (after 10 s) (traceback in bot.log)"
    )
    file = (tmp_path / "bot.log").read_text()
    assert "Traceback" in file and 'raise TimeoutError("read timed out' in file
