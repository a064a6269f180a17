"""Project structure validator (the spec's CI gate); one line per violation, exit 1 if any.

Checks: required files and folders, an ``__init__.py`` in every package folder,
``config.yaml.example`` valid against the config model, no tracked ``.env``, and
no COIN-M (dapi/dstream) binding in product code: USDC-M contracts live on fapi/fstream.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = [
    "bot/",
    "tests/",
    "main.py",
    "config.yaml.example",
    ".env.example",
    "requirements.txt",
    "requirements-dev.txt",
    "pytest.ini",
    ".github/workflows/ci.yml",
    "README.md",
    ".ci/run",
]
COIN_M = re.compile(r"dapi\.binance|dstream\.binance|/dapi/")


def tracked_files(root: Path) -> list[str]:
    result = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.stdout.splitlines() if result.returncode == 0 else []


def violations(root: Path) -> list[str]:
    found = []
    for name in REQUIRED:
        path = root / name
        if not (path.is_dir() if name.endswith("/") else path.is_file()):
            found.append(f"missing: {name}")
    for top in ("bot", "tests"):
        for folder in [root / top, *(root / top).rglob("*")]:
            if (
                folder.is_dir()
                and folder.name != "__pycache__"
                and any(folder.glob("*.py"))
                and not (folder / "__init__.py").exists()
            ):
                found.append(f"package without __init__.py: {folder.relative_to(root)}")
    example = root / "config.yaml.example"
    if example.is_file():
        sys.path.insert(0, str(root))
        from bot.config import ConfigError, load_config

        try:
            load_config(example, environ={})
        except ConfigError as exc:
            found.extend(f"config.yaml.example: {problem}" for problem in exc.problems)
    found.extend(
        f"tracked secrets file: {name}" for name in tracked_files(root) if Path(name).name == ".env"
    )
    for path in [root / "main.py", *(root / "bot").rglob("*.py")]:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if COIN_M.search(line):
                found.append(f"COIN-M binding in {path.relative_to(root)}:{number}: {line.strip()}")
    return found


def main() -> int:
    problems = violations(ROOT)
    for problem in problems:
        print(problem)
    if not problems:
        print("project structure OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
