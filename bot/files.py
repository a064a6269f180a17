"""One way to replace a small file so that a crash leaves the old or the new one.

Write to a temporary file in the same directory, fsync it, rename it over the
target (atomic on POSIX), then fsync the directory so the rename itself survives a
power cut. Without the first fsync a filesystem with delayed allocation may leave
a zero-length file after a crash — for the audit HEAD or the kill switch that
would read as garbage.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, *, sync_directory: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8). ``sync_directory=False`` skips the
    directory fsync where losing the rename on a power cut is harmless (the old
    version is still a valid file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_directory:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
