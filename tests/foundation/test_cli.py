"""CLI contract: modes in --help, exit codes, one process per state dir."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.audit import journal_files
from bot.lock import StateDirLock, StateDirLocked
from tests.lock_holder import lock_held_by_another_process

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_the_modes(tmp_path):
    result = run_main("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("--once", "--dry-run", "--config", "--log-level", "verify-audit", "config"):
        assert word in result.stdout


def test_unknown_flag_is_a_usage_error(tmp_path):
    assert run_main("--bogus", cwd=tmp_path).returncode == 2


def test_verify_audit_reports_intact_and_broken_journal(tmp_path):
    from bot.audit import AuditJournal

    with AuditJournal(tmp_path / "j") as journal:
        for n in range(3):
            journal.append("x", {"n": n})
    ok = run_main("verify-audit", str(tmp_path / "j"), cwd=tmp_path)
    assert ok.returncode == 0 and "3 records" in ok.stdout
    path = journal_files(tmp_path / "j")[0]
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["kind"] = "forged"
    path.write_text("\n".join([lines[0], json.dumps(record), lines[2]]) + "\n")
    bad = run_main("verify-audit", str(tmp_path / "j"), cwd=tmp_path)
    assert bad.returncode == 1 and "seq 2" in bad.stdout and "edited" in bad.stdout


def test_second_process_on_the_same_state_dir_exits_4(tmp_path):
    state_dir = tmp_path / "var"
    with lock_held_by_another_process(state_dir) as holder:
        (tmp_path / "config.yaml").write_text(f"paths: {{state_dir: {state_dir}}}\n")
        result = run_main("--once", cwd=tmp_path)
        assert result.returncode == 4
        assert "another bot" in result.stderr and str(holder.pid) in result.stderr
    deadline = time.monotonic() + 5
    lock = StateDirLock(state_dir)
    while True:  # the OS releases the lock when the holder exits
        try:
            lock.acquire()
            break
        except StateDirLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    lock.release()


def test_runtime_error_is_one_console_line_and_a_traceback_in_the_log(tmp_path):
    (tmp_path / "exploding.py").write_text(
        "class Strategy:\n"
        "    def evaluate(self, symbol, candles, view):\n"
        "        raise RuntimeError('strategy exploded')\n"
    )
    (tmp_path / "config.yaml").write_text("strategy: {name: 'exploding:Strategy'}\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--once"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: strategy exploded (details in {Path('var') / 'logs' / 'bot.log'})"
    ]
    log_text = (tmp_path / "var" / "logs" / "bot.log").read_text()
    assert "Traceback" in log_text and "RuntimeError: strategy exploded" in log_text
