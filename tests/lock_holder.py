"""Another process holding a state dir's lock, as a running service or cron job would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def lock_held_by_another_process(state_dir: Path) -> Iterator[subprocess.Popen]:
    """Yields the holder once it has the lock; it lets go (exits) when the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from bot.lock import StateDirLock;"
            f"StateDirLock(Path({str(state_dir)!r})).acquire();"
            "print('locked', flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
