"""Command line: run modes and operator subcommands, with documented exit codes.

Exit codes: 0 ok, 1 runtime error, 2 config or usage error, 3 refused by risk or
drift found, 4 another instance holds the state dir.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import audit
from bot.config import ConfigError, Secrets, dump_yaml, load_config, migrate_file
from bot.lock import StateDirLocked
from bot.runtime import Runtime

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_LOCKED = 0, 1, 2, 3, 4

log = logging.getLogger("bot.cli")


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before and after a subcommand (suppressed defaults in subparsers
    so a subcommand does not overwrite what was given before it)."""
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--config",
        type=Path,
        default=default(Path("config.yaml")),
        help="YAML config (default ./config.yaml; absent means defaults on the simulator)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=default(None),
        help="override logging.level",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=default(False),
        help="paper trading: no signed order request leaves the process; state kept apart",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="USDC-margined Binance USDⓈ-M futures bot. Without a subcommand it runs "
        "as a foreground service; --once runs one cycle (for cron).",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--once", action="store_true", help="run one trading cycle and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common_options(suppress=True)]

    verify = sub.add_parser(
        "verify-audit", parents=common, help="check the audit journal's hash chain"
    )
    verify.add_argument("path", nargs="?", type=Path, help="journal dir or file")

    config = sub.add_parser("config", parents=common, help="check, show or migrate the config")
    config.add_argument("action", choices=["check", "show", "migrate"])
    return parser


def _load(args: argparse.Namespace):
    overrides = {"logging": {"level": args.log_level}} if args.log_level else {}
    return load_config(args.config, overrides=overrides)


def cmd_verify_audit(args: argparse.Namespace) -> int:
    path = args.path
    if path is None:
        from bot.runtime import state_dir_for

        path = state_dir_for(_load(args), dry_run=args.dry_run) / "audit"
    if not path.exists():
        print(f"no audit journal at {path}", file=sys.stderr)
        return EXIT_USAGE
    result = audit.verify(path)
    if result.ok:
        print(f"audit journal intact: {result.records} records")
        return EXIT_OK
    print(f"audit journal BROKEN at seq {result.bad_seq}: {result.reason}")
    return EXIT_ERROR


def cmd_config(args: argparse.Namespace) -> int:
    if args.action == "migrate":
        if not args.config.exists():
            print(f"{args.config}: no such file", file=sys.stderr)
            return EXIT_USAGE
        version, backup = migrate_file(args.config)
        print(f"{args.config}: migrated from schema {version}; previous file kept as {backup}")
        return EXIT_OK
    config = _load(args)
    if args.action == "show":
        print(dump_yaml(config), end="")
    else:
        source = args.config if args.config.exists() else "defaults (no config file)"
        print(
            f"config OK ({source}): venue {config.exchange.venue}, symbols {list(config.symbols)}"
        )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    mode = "once" if args.once else "service"
    with Runtime(
        config,
        Secrets.load(),
        dry_run=args.dry_run,
        mode=mode,
        log_level=config.logging.level,
    ):
        log.info("mode %s on venue %s (dry-run: %s)", mode, config.exchange.venue, args.dry_run)
    return EXIT_OK


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_run,
    "verify-audit": cmd_verify_audit,
    "config": cmd_config,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print("config error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except StateDirLocked as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as exc:
        log.exception("fatal error")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
