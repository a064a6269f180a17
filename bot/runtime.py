"""Process-level resources every mode needs, opened and closed in one place.

Order matters: the state-dir lock is taken first (so two processes never share
logs, journal or store), then logging and the audit journal; on exit they close
in reverse and the journal's last record says how the run ended.

The journal is verified before anything is appended to it (against the audit key
and the heads this log holds; at start only the live segments and the newest seal,
so start-up does not grow with the history: ``verify-audit`` checks all of it): on a broken journal every command refuses to start,
so a run can never paper over a break by rewriting HEAD, until the operator moves
it aside with ``audit archive``. The one exception is ``emergency-stop``: the exit
is never blocked, so it writes to a fresh segment under ``audit-emergency/`` and
leaves the broken journal as it found it.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts import Alerts, open_alerts
from bot.audit import AuditJournal, Verification
from bot.audit_anchor import (
    CHAIN_STARTED,
    KEY_ENV,
    AuditBroken,
    check_journal,
    dated_dir,
    describe,
    head_log,
    last_head,
    log_head,
    move_aside,
)
from bot.config import BotConfig, Secrets
from bot.lock import StateDirLock
from bot.logs import LOG_FILE, setup_logging, teardown_logging
from bot.redact import Redactor
from bot.wiring import order_settings

DRY_RUN_SUBDIR = "dry-run"
EMERGENCY_MODE = "emergency-stop"
ARCHIVE_MODE = "audit-archive"
WHAT_TO_RUN = "run 'python main.py verify-audit', then 'python main.py audit archive --reason TEXT'"

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
        audit_key: str | None = None,
        archive_reason: str | None = None,
    ) -> None:
        """``audit_key`` (``BOT_AUDIT_KEY``) MACs the journal; ``archive_reason`` (mode
        ``audit-archive``) moves the journal aside and starts a new chain first."""
        self.config = config
        self.secrets = secrets
        self.dry_run = dry_run
        self.mode = mode
        self.state_dir = state_dir_for(config, dry_run=dry_run)
        self.redactor = Redactor(
            secret.get_secret_value()
            for secret in (secrets.api_key, secrets.api_secret, secrets.telegram_token)
            if secret is not None
        )
        self.redactor.add(audit_key)
        urls = secrets.alert_urls.get_secret_value() if secrets.alert_urls else None
        # alerts hang on the journal: opened with it, flushed after its stop record
        self.alerts: Alerts | None = open_alerts(
            config,
            urls,
            self.redactor,
            tag=order_settings(config, dry_run=dry_run).tag,
            dry_run=dry_run,
        )
        self._audit_key = audit_key
        self._archive_reason = archive_reason
        self._log_level = log_level
        self._console_level = console_level
        self._lock = StateDirLock(self.state_dir)
        self._handlers: list[logging.Handler] = []
        self._audit: AuditJournal | None = None  # open between __enter__ and __exit__
        self.archived_to: Path | None = None
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
            self._audit = self._open_journal()
            if self.alerts is not None:
                self.audit.observe(self.alerts.observe)
                self.alerts.start()
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
            self._log_head("start")
        except BaseException:
            self._close()
            raise
        return self

    @property
    def audit(self) -> AuditJournal:
        """The run's journal (only inside ``with runtime:``)."""
        if self._audit is None:
            raise RuntimeError("the runtime is not open: use it as a context manager")
        return self._audit

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None and self.outcome == "ok":
            self.outcome = f"error: {type(exc).__name__}"
        if self._audit is not None:
            self.audit.append("stop", {"mode": self.mode, "outcome": self.outcome}, sync=True)
            self._log_head("stop")
        self._close()

    def _journal(self, directory: Path) -> AuditJournal:
        key = self._audit_key.encode() if self._audit_key else None
        return AuditJournal(
            directory,
            max_bytes=self.config.logging.audit_segment_bytes,
            redactor=self.redactor,
            key=key,
            retention=timedelta(days=self.config.logging.audit_retention_days),
        )

    def _open_journal(self) -> AuditJournal:
        """The verified journal, a new chain (archive), or the emergency segment."""
        audit_dir = self.state_dir / "audit"
        if self._audit_key is None and self.config.exchange.venue == "live":
            log.warning(
                "%s is not set: the audit journal is hash-chained but not keyed, so a full "
                "rewrite of the state dir would go unnoticed",
                KEY_ENV,
            )
        log_file = self.state_dir / "logs" / LOG_FILE
        # archiving records the old journal's verification: all of it, not only the live part
        live_only = self._archive_reason is None
        result = check_journal(audit_dir, self._audit_key, log_file, live_only=live_only)
        if self._archive_reason is not None:
            return self._start_new_chain(audit_dir, result)
        problem = None if result.ok else describe(result)
        if problem is None and result.keyed and self._audit_key is None:
            problem = f"the audit journal's records carry MACs but {KEY_ENV} is not set"
        if problem is None:
            return self._journal(audit_dir)
        if self.mode != EMERGENCY_MODE:
            log.error("%s; %s", problem, WHAT_TO_RUN)
            raise AuditBroken(problem)
        segment = dated_dir(self.state_dir / "audit-emergency", datetime.now(UTC))
        log.warning(
            "%s; emergency-stop goes on, audited in %s; then %s", problem, segment, WHAT_TO_RUN
        )
        journal = self._journal(segment)
        journal.append("broken_journal", {"journal": audit_dir, "problem": problem}, sync=True)
        return journal

    def _start_new_chain(self, audit_dir: Path, result: Verification) -> AuditJournal:
        """Move the journal aside, intact, and start a chain whose first record names it."""
        head = last_head(audit_dir)
        archive = move_aside(audit_dir, self.state_dir / "audit-archive", datetime.now(UTC))
        self.archived_to = archive
        head_log.info("%s: previous journal archived in %s", CHAIN_STARTED, archive)
        journal = self._journal(audit_dir)
        journal.append(
            "chain_start",
            {
                "archive": archive,
                "archived_head": head,
                "archived_verification": "intact" if result.ok else describe(result),
                "reason": self._archive_reason,
            },
            sync=True,
        )
        return journal

    def _log_head(self, when: str) -> None:
        """The head goes to the log, an anchor outside the journal (not the emergency segment's)."""
        if self.audit.directory == self.state_dir / "audit":
            log_head(self.audit, when)

    def _close(self) -> None:
        if self.alerts is not None and self.alerts.sender.alive:
            self.alerts.close()  # bounded by alerts.flush_deadline_s; never raises
        if self._audit is not None:
            self._audit.close()
        teardown_logging(self._handlers)
        self._handlers = []
        self._lock.release()
