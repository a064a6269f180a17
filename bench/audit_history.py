"""Benchmark 6: the audit journal after a month at one fill per second.

1. What one fill writes today: user-data payloads (``bench/payloads.py``: a bracket
   trade per ten events, two of them fills) through the real OMS with a journal;
   records and bytes per fill, and the records themselves as templates.
2. A month of journal built directly with ``AuditJournal`` (simulating the trading is
   far too slow): the templates appended in a loop with a clock that advances one
   second per fill, so segments rotate by size and at each UTC day and are sealed as
   in production. ``--days`` sets the length; a shorter run is extrapolated to 30 days
   linearly (the cost of each part is per record or per segment), and says so.
3. Disk (raw bytes written vs what stays on disk, sealed), the start-up check (the
   runtime opening the journal, ``Runtime`` enter and exit) on a fresh state dir vs
   after the month, and the full ``verify-audit`` time, which is what every start
   cost before segments were sealed.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bot_runs import import_floor
from bench.common import best_of, cli
from bench.oms_ingest import _Pipeline
from bench.payloads import EVENTS_PER_TRADE, user_data_payloads
from bot.audit import AuditJournal, verify
from bot.audit_segments import chain_segments, read_segment, sealed_segments
from bot.config import BotConfig, Secrets
from bot.oms.events import RawMessage
from bot.runtime import Runtime

FILLS_PER_TRADE = 2
MONTH_DAYS = 30
SEGMENT_BYTES = BotConfig().logging.audit_segment_bytes


def _what_one_fill_writes(trades: int, directory: Path) -> tuple[dict, list[tuple[str, dict]]]:
    payloads = user_data_payloads(trades * EVENTS_PER_TRADE, start_ms=int(time.time() * 1000))
    pipeline = _Pipeline(directory)
    try:
        pipeline.worker.start()
        for payload in payloads:
            pipeline.inbound.put(RawMessage(payload, int(time.time() * 1000)))
        pipeline.worker.wait_idle()
        pipeline.check(len(payloads))
    finally:
        pipeline.close()
    lines = [line for path in chain_segments(directory / "audit") for line in read_segment(path)[0]]
    records = [json.loads(line) for line in lines]
    fills = trades * FILLS_PER_TRADE
    kinds: dict[str, int] = {}
    for record in records:
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    per_fill = {
        "records": round(len(records) / fills, 2),
        "bytes": round(sum(len(line) + 1 for line in lines) / fills),
        "kinds_per_trade": {kind: round(n / trades, 2) for kind, n in sorted(kinds.items())},
    }
    return per_fill, [(r["kind"], r["data"]) for r in records]


def _build(directory: Path, templates: list[tuple[str, dict]], per_fill: float, days: int) -> dict:
    """``days`` of journal ending now, at one fill per second; returns build figures."""
    step = timedelta(seconds=1 / per_fill)
    end = datetime.now(UTC).replace(microsecond=0)
    now = [end - timedelta(days=days)]
    journal = AuditJournal(directory, max_bytes=SEGMENT_BYTES, clock=lambda: now[0])
    appended, started, seal_s = 0, time.perf_counter(), []
    try:
        while now[0] < end:
            for kind, data in templates:
                before = time.perf_counter()
                seq = journal.append(kind, data)["seq"]
                if seq != appended + len(seal_s) + 1:  # a seal record came first
                    seal_s.append(time.perf_counter() - before)
                appended += 1
                now[0] += step
    finally:
        journal.close()
    seal_s.sort()
    return {
        "records": appended,
        "build_s": round(time.perf_counter() - started, 1),
        "seals": len(seal_s),
        "append_with_seal_ms_p50": round(seal_s[len(seal_s) // 2] * 1e3, 1) if seal_s else None,
        "append_with_seal_ms_max": round(seal_s[-1] * 1e3, 1) if seal_s else None,
    }


def _fill_live_segment(directory: Path, templates: list[tuple[str, dict]]) -> int:
    """Append until the live segment is just short of rotating: the worst case for
    the start-up check, which verifies it whole. Returns the records appended."""
    moment = datetime.now(UTC)
    with AuditJournal(directory, max_bytes=SEGMENT_BYTES, clock=lambda: moment) as journal:
        live = max(directory.glob("audit-*.jsonl"))
        appended, budget = 0, SEGMENT_BYTES - 2048
        while live.stat().st_size < budget:
            kind, data = templates[appended % len(templates)]
            journal.append(kind, data)
            appended += 1
    return appended


def _raw_bytes(directory: Path) -> int:
    """Bytes written: each sealed file's uncompressed size (gzip's ISIZE) plus the live ones."""
    total = 0
    for path in chain_segments(directory):
        data = path.read_bytes()
        total += int.from_bytes(data[-4:], "little") if path.suffix == ".gz" else len(data)
    return total


def _disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir() if path.is_file())


def _startup_s(state_dir: Path, repeats: int) -> float:
    """Best wall time of the runtime opening and closing the journal (lock, logging,
    the start-up check, retention, start and stop records)."""
    config = BotConfig.model_validate({"paths": {"state_dir": str(state_dir)}})

    def once() -> None:
        with Runtime(config, Secrets(), dry_run=False, mode="bench", log_level="WARNING"):
            pass

    return best_of(repeats, once)


def run(days: int, trades: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        root = Path(tmp)
        per_fill, templates = _what_one_fill_writes(trades, root / "measure")
        fresh = root / "fresh"
        fresh_s = _startup_s(fresh, 5)
        month = root / "month"
        built = _build(month / "audit", templates, per_fill["records"], days)
        month_s = _startup_s(month, 5)
        floor_s = statistics.median(import_floor().wall_s for _ in range(3))
        raw, disk = _raw_bytes(month / "audit"), _disk_bytes(month / "audit")
        started = time.perf_counter()
        full = verify(month / "audit")
        full_s = time.perf_counter() - started
        if not full.ok:
            raise RuntimeError(f"the built journal does not verify: {full.reason}")
        live = verify(month / "audit", live_only=True)
        _fill_live_segment(month / "audit", templates)
        worst_live = verify(month / "audit", live_only=True).records
        worst_s = _startup_s(month, 5)
        sealed = len(sealed_segments(month / "audit"))
        shutil.rmtree(month)
    scale = MONTH_DAYS / days
    return {
        "benchmark": "audit_history",
        "days_built": days,
        "extrapolated_to_days": MONTH_DAYS,
        "how": "journal built directly with AuditJournal from the records the OMS wrote "
        "for real payloads, one fill per simulated second"
        + ("" if days == MONTH_DAYS else f"; {MONTH_DAYS}-day figures scaled linearly from {days}"),
        "per_fill": per_fill,
        "build": built,
        "disk_per_month_mb": {
            "raw_written": round(raw * scale / 1e6),
            "kept_sealed": round(disk * scale / 1e6),
            "ratio": round(raw / disk, 1),
        },
        "segments_sealed": sealed,
        "startup_s": {
            "fresh": round(fresh_s, 3),
            "after_history": round(month_s, 3),
            "live_records_checked": live.records,
            "full_live_segment": round(worst_s, 3),
            "full_live_records_checked": worst_live,
            "worst_added": round(worst_s - fresh_s, 3),
            "import_floor": round(floor_s, 3),
        },
        "full_verify_s": {
            "measured": round(full_s, 1),
            "per_month": round(full_s * scale, 1),
            "per_record_us": round(full_s / full.records * 1e6, 1),
        },
        "goal": "a month of history adds at most 30 % of the import floor to start-up "
        "(so --once stays within 1.3x of a fresh one), even with a full live segment",
        "goal_met": {"startup": worst_s - fresh_s <= 0.3 * floor_s},
    }


if __name__ == "__main__":
    cli(__doc__.splitlines()[0], run, {"days": (MONTH_DAYS, 1), "trades": (500, 100)})
