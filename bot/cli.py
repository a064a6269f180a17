"""Command line: run modes and operator subcommands, with documented exit codes.

Exit codes: 0 ok, 1 runtime error, 2 config or usage error, 3 refused by risk or
drift found, 4 another instance holds the state dir.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot import audit
from bot.app import App, CycleReport
from bot.config import ConfigError, Secrets, dump_yaml, load_config, migrate_file
from bot.exchange.errors import SymbolNotTradable
from bot.killswitch import KillSwitch
from bot.lock import StateDirLocked
from bot.oms.reconcile import format_drift_table
from bot.runtime import Runtime
from bot.wiring import CredentialsMissing

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
        epilog="exit codes: 0 ok, 1 runtime error, 2 config or usage error, "
        "3 refused by risk or drift found, 4 another instance holds the state dir",
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

    sub.add_parser(
        "reconcile",
        parents=common,
        help="read-only: compare local state with the exchange; exit 3 on any difference",
    )
    force = sub.add_parser(
        "force-entry", parents=common, help="one entry through sizing, RiskGuard and bracket"
    )
    force.add_argument("symbol", type=str.upper)
    force.add_argument("side", type=str.upper, choices=["LONG", "SHORT"])
    stop = sub.add_parser(
        "emergency-stop",
        parents=common,
        help="cancel every order and algo order, set the kill switch",
    )
    stop.add_argument("--flatten", action="store_true", help="also close every position")
    sub.add_parser("resume", parents=common, help="clear the kill switch")
    sub.add_parser("status", parents=common, help="positions, orders, PnL, limits, health")
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


@contextmanager
def _runtime(args: argparse.Namespace, mode: str) -> Iterator[Runtime]:
    config = _load(args)
    quiet = mode != "service" and args.log_level is None  # the command prints its own report
    with Runtime(
        config,
        Secrets.load(),
        dry_run=args.dry_run,
        mode=mode,
        log_level=config.logging.level,
        console_level="WARNING" if quiet else None,
    ) as runtime:
        yield runtime


@contextmanager
def _bot(args: argparse.Namespace, mode: str, *, read_only: bool = False) -> Iterator[App]:
    """Runtime (lock, logs, audit) and the App for one mode; always shut down."""
    with _runtime(args, mode) as runtime:
        app = App(runtime, read_only=read_only)
        try:
            yield app.open()
        except BaseException as exc:
            runtime.outcome = f"error: {exc}"
            raise
        finally:
            app.shutdown()


def cmd_run(args: argparse.Namespace) -> int:
    if not args.once:
        from bot.service import serve

        with _bot(args, "service") as app:
            serve(app)
        return EXIT_OK
    with _bot(args, "once") as app:
        app.prepare(stream=True)
        report = app.cycle()
        app.finish()
        return _report(app, report)


def _report(app: App, report: CycleReport) -> int:
    """Print what the run did; a risk refusal is exit 3 (and the run's audited outcome),
    entries refused because the OMS view may be stale exit 1."""
    for line in report.lines:
        print(line)
    if report.oms_problem is not None:
        app.runtime.outcome = f"error: {report.oms_problem}"
        return EXIT_ERROR
    if report.refused:
        app.runtime.outcome = "refused by risk"
        return EXIT_REFUSED
    return EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    with _bot(args, "reconcile", read_only=True) as app:
        app.sync_time()
        drifts = app.drifts()
        app.audit.append("reconcile_report", {"differences": [d.as_record() for d in drifts]})
        print(format_drift_table(drifts))
        if drifts:
            app.runtime.outcome = "drift found"
            return EXIT_REFUSED
    return EXIT_OK


def cmd_force_entry(args: argparse.Namespace) -> int:
    symbols = _load(args).symbols
    if args.symbol not in symbols:
        print(
            f"force-entry: {args.symbol} is not configured (symbols: {list(symbols)})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with _bot(args, "force-entry") as app:
        app.prepare(stream=True)
        report = CycleReport()
        app.look_after_positions(report)
        result = app.trade(app.forced_signal(args.symbol, args.side), report)
        app.summarise(report)
        app.finish()
        code = _report(app, report)
        if code == EXIT_OK and result.status not in ("opened", "duplicate"):
            return EXIT_ERROR
        return code


def cmd_emergency_stop(args: argparse.Namespace) -> int:
    with _bot(args, "emergency-stop") as app:
        app.prepare(stream=False)
        for line in app.emergency_stop(flatten=args.flatten):
            print(line)
        app.finish()
        print("kill switch ON: no new entries until `python main.py resume`")
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    with _runtime(args, "resume") as runtime:
        was_on = KillSwitch(runtime.state_dir).clear()
        runtime.audit.append("kill_switch", {"engaged": False, "was_engaged": was_on}, sync=True)
    print("kill switch cleared" if was_on else "kill switch was not set")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from bot.status import render_status

    print(render_status(_load(args), dry_run=args.dry_run))
    return EXIT_OK


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_run,
    "verify-audit": cmd_verify_audit,
    "config": cmd_config,
    "reconcile": cmd_reconcile,
    "force-entry": cmd_force_entry,
    "emergency-stop": cmd_emergency_stop,
    "resume": cmd_resume,
    "status": cmd_status,
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
    except (CredentialsMissing, SymbolNotTradable) as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StateDirLocked as exc:
        print(str(exc), file=sys.stderr)
        if args.command == "emergency-stop":
            print(
                "stop that process first (SIGTERM lets it finish its current step), "
                "then run emergency-stop again",
                file=sys.stderr,
            )
        return EXIT_LOCKED
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as exc:
        log.exception("fatal error")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
