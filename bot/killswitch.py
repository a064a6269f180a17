"""The kill switch: a file in the state dir, set by ``emergency-stop``, cleared by ``resume``.

A file rather than a row in ``state.db`` because it must survive the loss of the
store and be readable by every process (``status`` reads it while the service
runs) without going through the single writer of trading state.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

KILL_SWITCH_FILE = "KILL_SWITCH"


class KillSwitch:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / KILL_SWITCH_FILE

    @property
    def engaged(self) -> bool:
        return self.path.exists()

    def reason(self) -> str | None:
        if not self.path.exists():
            return None
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("reason")
        except (OSError, ValueError):
            return "kill switch file is unreadable (treated as engaged)"

    def engage(self, reason: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        record = {"reason": reason, "since": datetime.now(UTC).isoformat()}
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> bool:
        """Returns whether it was engaged."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
