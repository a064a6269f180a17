"""Logging for operators: console plus a size-rotated file, UTC timestamps, no secrets.

Redaction happens in the formatter, on the final text of every record, so it also
covers exception tracebacks and third-party loggers: the SDK logs full signed URLs
(``...&signature=...``) and listenKeys at DEBUG.

The console is for a person: a library's INFO (websocket-client's "Websocket
connected", APScheduler's job bookkeeping) goes to the file only; it reaches the
console from WARNING up, or at every level when the level is DEBUG (debugging). A record
with an exception is one line there too (the exception named, its traceback in the file),
except at DEBUG: a service whose job fails at every tick must not fill the terminal.
"""

from __future__ import annotations

import copy
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.redact import Redactor

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FILE = "bot.log"
FILE_ONLY = {"file_only": True}
"""``extra=`` for a record the console must not show: the caller prints its own one line."""
OURS = ("bot", "__main__")  # loggers whose INFO a person may want on the console (``-v``)


class RedactingFormatter(logging.Formatter):
    """Formats with ISO-8601 UTC times and masks secrets in the finished line."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(FORMAT)
        self._redactor = redactor

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.text(super().format(record))


class OneLineFormatter(RedactingFormatter):
    """The console's: a traceback becomes ``: Type: message (traceback in bot.log)``."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info is None and record.stack_info is None:
            return super().format(record)
        error = record.exc_info[1] if record.exc_info else None
        line = copy.copy(record)  # the file's handler formats the same record
        line.exc_info, line.exc_text, line.stack_info = None, None, None
        cause = "" if error is None else f": {type(error).__name__}: {' '.join(str(error).split())}"
        return self._redactor.text(f"{super().format(line)}{cause} (traceback in {LOG_FILE})")


def setup_logging(
    *,
    level: str,
    log_dir: Path,
    redactor: Redactor,
    max_bytes: int,
    backups: int,
    console: TextIO = sys.stderr,
    console_level: str | None = None,
) -> list[logging.Handler]:
    """Attach console and rotating-file handlers to the root logger.

    ``console_level`` raises the console's threshold above ``level`` (the file keeps
    everything): a cron run prints its report, not its INFO log.

    Returns the handlers so the caller can remove and close them (tests, and
    ``shutdown()``, must not leave a file open).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = RedactingFormatter(redactor)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / LOG_FILE, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    console_handler = logging.StreamHandler(console)
    console_handler.addFilter(lambda record: not getattr(record, "file_only", False))
    debugging = logging.getLevelName(level) == logging.DEBUG
    if not debugging:
        console_handler.addFilter(_ours_or_a_warning)
    if console_level is not None:
        console_handler.setLevel(console_level)
    file_handler.setFormatter(formatter)
    console_handler.setFormatter(formatter if debugging else OneLineFormatter(redactor))
    root = logging.getLogger()
    for handler in (file_handler, console_handler):
        root.addHandler(handler)
    root.setLevel(level)
    return [file_handler, console_handler]


def _ours_or_a_warning(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in OURS


def teardown_logging(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
