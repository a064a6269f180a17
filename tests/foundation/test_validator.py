"""The structure validator catches what CI must refuse."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from validate_project import violations  # noqa: E402


def test_this_repository_passes():
    assert violations(ROOT) == []


def test_each_violation_is_reported_on_its_own_line(tmp_path):
    for name in ("bot", "tests", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("main.py", "config.yaml.example", "requirements.txt", "pytest.ini"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "bot" / "feeds").mkdir()
    (tmp_path / "bot" / "feeds" / "coinm.py").write_text('URL = "wss://dstream.binance.com"\n')
    (tmp_path / "config.yaml.example").write_text("symbols: [BTCUSDT]\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".env").write_text("BINANCE_API_KEY=x\n")
    subprocess.run(["git", "add", "-f", ".env"], cwd=tmp_path, check=True)
    found = violations(tmp_path)
    assert "missing: requirements-dev.txt" in found
    assert "missing: .ci/run" in found
    assert "package without __init__.py: bot/feeds" in found
    assert any(line.startswith("config.yaml.example: symbols") for line in found)
    assert "tracked secrets file: .env" in found
    assert any(line.startswith("COIN-M binding in bot/feeds/coinm.py:1") for line in found)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_command = next(
        line for line in readme.splitlines() if "pytest" in line and line.startswith(".venv")
    )
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
