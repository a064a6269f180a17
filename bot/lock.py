"""One process per state dir: an exclusive, non-blocking lock file.

A cron ``--once`` that overlaps the previous run, or a second service on the
same state dir, would interleave orders and journal records; the second one
exits with code 4 instead. The OS releases the lock when the process dies.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "bot.lock"


class StateDirLocked(RuntimeError):
    """Another process holds the state dir; ``holder`` is its pid as it wrote it."""

    def __init__(self, state_dir: Path, holder: str) -> None:
        super().__init__(
            f"another bot (pid {holder}) holds {state_dir}; refusing to run alongside it"
        )
        self.holder = holder


class StateDirLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirLocked(self.path.parent, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
