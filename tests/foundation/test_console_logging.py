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
