"""Process-level resources every mode needs, opened and closed in one place.

Order matters: the state-dir lock is taken first (so two processes never share
logs, journal or store), then logging and the audit journal; on exit they close
in reverse and the journal's last record says how the run ended.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.audit import AuditJournal
from bot.config import BotConfig, Secrets
from bot.lock import StateDirLock
from bot.logs import setup_logging, teardown_logging
from bot.redact import Redactor

DRY_RUN_SUBDIR = "dry-run"

log = logging.getLogger(__name__)


def state_dir_for(config: BotConfig, *, dry_run: bool) -> Path:
    """Dry-run state (paper positions, journal, store) is kept apart from live state."""
    base = Path(config.paths.state_dir)
    return base / DRY_RUN_SUBDIR if dry_run else base


class Runtime:
    """Lock, logging and audit journal for one process; a context manager."""

    def __init__(
        self,
        config: BotConfig,
        secrets: Secrets,
        *,
        dry_run: bool,
        mode: str,
        log_level: str,
        console_level: str | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.dry_run = dry_run
        self.mode = mode
        self.state_dir = state_dir_for(config, dry_run=dry_run)
        self.redactor = Redactor(
            secret.get_secret_value()
            for secret in (secrets.api_key, secrets.api_secret)
            if secret is not None
        )
        self._log_level = log_level
        self._console_level = console_level
        self._lock = StateDirLock(self.state_dir)
        self._handlers: list[logging.Handler] = []
        self.audit: AuditJournal | None = None
        self.outcome = "ok"

    def __enter__(self) -> Runtime:
        self._lock.acquire()
        try:
            self._handlers = setup_logging(
                level=self._log_level,
                console_level=self._console_level,
                log_dir=self.state_dir / "logs",
                redactor=self.redactor,
                max_bytes=self.config.logging.max_bytes,
                backups=self.config.logging.backups,
            )
            self.audit = AuditJournal(
                self.state_dir / "audit",
                max_bytes=self.config.logging.max_bytes,
                redactor=self.redactor,
            )
            self.audit.append(
                "start",
                {
                    "mode": self.mode,
                    "dry_run": self.dry_run,
                    "venue": self.config.exchange.venue,
                    "symbols": list(self.config.symbols),
                    "pid": os.getpid(),
                },
                sync=True,
            )
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and self.outcome == "ok":
            self.outcome = f"error: {type(exc).__name__}"
        if self.audit is not None:
            self.audit.append("stop", {"mode": self.mode, "outcome": self.outcome}, sync=True)
        self._close()

    def _close(self) -> None:
        if self.audit is not None:
            self.audit.close()
        teardown_logging(self._handlers)
        self._handlers = []
        self._lock.release()
