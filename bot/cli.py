"""Command line: run modes and operator subcommands, with documented exit codes.

Exit codes: 0 ok, 1 runtime error, 2 config or usage error, 3 refused by risk or
drift found, 4 another instance holds the state dir, 5 the run needs attention (a
repair was needed, an outcome stayed unresolved, or emergency-stop was not acknowledged
by the running service).

The console gets one line per failure; an unexpected error inside a run is logged
with its traceback to the run's log file, which that line names.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot import audit_anchor
from bot.app import App
from bot.audit_anchor import AuditBroken
from bot.config import BotConfig, ConfigError, Secrets, dump_yaml, load_config, migrate_file
from bot.cycle import CycleReport
from bot.exchange.errors import SymbolNotTradable
from bot.killswitch import KillSwitch, resume
from bot.lock import StateDirLocked
from bot.logs import FILE_ONLY, LOG_FILE
from bot.oms.reconcile import format_drift_table
from bot.runtime import Runtime, state_dir_for
from bot.stop_signals import StopSignals
from bot.wiring import CredentialsMissing

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_LOCKED, EXIT_ATTENTION = 0, 1, 2, 3, 4, 5
DEFAULT_CONFIG = Path("config.yaml")
USAGE_ERRORS = (ConfigError, CredentialsMissing, SymbolNotTradable)

KILL_SWITCH_ON = "kill switch ON: no new entries until `python main.py resume`"
DEFAULT_ACK_WAIT_S, MAX_ACK_WAIT_S = 15.0, 300.0
ACK_POLL_S = 0.05

log = logging.getLogger("bot.cli")


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before and after a subcommand (suppressed defaults in subparsers
    so a subcommand does not overwrite what was given before it)."""
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--config",
        type=Path,
        default=default(None),
        help="YAML config; a path given must exist (default ./config.yaml, which may be "
        "absent: then defaults on the simulator)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=default(None),
        help="override logging.level",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="also show the bot's INFO lines on the console (always in var/logs/bot.log)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=default(False),
        help="paper trading on the local exchange engine; nothing signed reaches the venue",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="USDC-margined Binance USDⓈ-M futures bot. Without a subcommand it runs "
        "as a foreground service; --once runs one cycle (for cron).",
        parents=[_common_options(suppress=False)],
        epilog="exit codes: 0 ok, 1 runtime error, 2 config or usage error, "
        "3 refused by risk, duplicate or no-op (force-entry), or drift found, "
        "4 another instance holds the state dir, "
        "5 the run needed a repair or left an outcome unresolved (see the log)",
    )
    parser.add_argument("--once", action="store_true", help="run one trading cycle and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common_options(suppress=True)]

    verify = sub.add_parser(
        "verify-audit", parents=common, help="check the audit journal's hash chain"
    )
    verify.add_argument("path", nargs="?", type=Path, help="journal dir or file")
    verify.add_argument(
        "--log", type=Path, help="log whose audit heads to check (default: the state dir's)"
    )
    archive = sub.add_parser(
        "audit", parents=common, help="archive: move the audit journal aside, start a new chain"
    )
    archive.add_argument("action", choices=["archive"])
    archive.add_argument("--reason", required=True, help="why (kept in the new chain)")

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
        help="cancel every order and algo order, set the kill switch (a running service does it)",
    )
    stop.add_argument("--flatten", action="store_true", help="also close every position")
    stop.add_argument(
        "--wait",
        type=_ack_wait_s,
        default=DEFAULT_ACK_WAIT_S,
        metavar="SECONDS",
        help="beside a running service: how long to wait for it to acknowledge (default 15)",
    )
    sub.add_parser("resume", parents=common, help="clear the kill switch")
    status = sub.add_parser(
        "status", parents=common, help="read-only: positions, orders, PnL, limits, health"
    )
    status.add_argument("--cached", action="store_true", help="the local view, not the exchange")
    status.add_argument("--json", action="store_true", help="one JSON document for scripts")
    pnl = sub.add_parser("pnl", parents=common, help="daily realised PnL, fees, funding (UTC)")
    pnl.add_argument("--days", type=_pnl_days, default=7, metavar="N", help="1..90 (default 7)")
    pnl.add_argument("--json", action="store_true", help="one JSON document for scripts")
    sub.add_parser(
        "doctor", parents=common, help="check account, venue and state dir before going live"
    )
    from bot.backtest.command import add_parser as add_backtest

    add_backtest(sub, common)
    from bot.backtest.download import add_parser as add_data

    add_data(sub, common)
    return parser


class RunFailed(Exception):
    """An unexpected error inside a run, already logged with its traceback to ``log_file``."""

    def __init__(self, cause: Exception, log_file: Path) -> None:
        super().__init__(_one_line(cause))
        self.log_file = log_file


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _config_path(args: argparse.Namespace) -> Path | None:
    """A ``--config`` given must exist; the default file may be absent (then defaults run)."""
    if args.config is not None:
        given: Path = args.config
        return given
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _load(args: argparse.Namespace) -> BotConfig:
    overrides = {"logging": {"level": args.log_level}} if args.log_level else {}
    return load_config(_config_path(args), overrides=overrides)


def cmd_verify_audit(args: argparse.Namespace) -> int:
    path = args.path
    if path is None:
        from bot.runtime import state_dir_for

        path = state_dir_for(_load(args), dry_run=args.dry_run) / "audit"
    if not path.exists():
        print(f"no audit journal at {path}", file=sys.stderr)
        return EXIT_USAGE
    log_file = args.log or (path.parent / "logs" / "bot.log" if path.is_dir() else None)
    key = audit_anchor.load_audit_key()
    result = audit_anchor.check_journal(path, key, log_file)
    if not result.ok:
        print(audit_anchor.describe(result))
        return EXIT_ERROR
    if key:
        macs = "MACs checked"
    else:
        macs = "MACs not checked: BOT_AUDIT_KEY not set" if result.keyed else "not keyed"
    print(
        f"audit journal intact: {result.records} records in {result.segments} segments ({macs}; "
        f"{result.heads_checked} logged heads checked)"
    )
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    """``audit archive``: the only way past a broken journal (see bot/runtime.py)."""
    from bot.runtime import state_dir_for

    path = state_dir_for(_load(args), dry_run=args.dry_run) / "audit"
    if not path.exists():
        print(f"no audit journal at {path}", file=sys.stderr)
        return EXIT_USAGE
    with _runtime(args, "audit-archive", archive_reason=args.reason) as runtime:
        archive = runtime.archived_to
    print(f"audit journal moved to {archive}; a new chain started in {path}")
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if args.action == "migrate":
        if path is None:
            print(f"{DEFAULT_CONFIG}: no such file", file=sys.stderr)
            return EXIT_USAGE
        version, backup = migrate_file(path)
        print(f"{path}: migrated from schema {version}; previous file kept as {backup}")
        return EXIT_OK
    config = _load(args)
    if args.action == "show":
        print(dump_yaml(config), end="")
    else:
        source = path or "defaults (no config file)"
        print(
            f"config OK ({source}): venue {config.exchange.venue}, symbols {list(config.symbols)}"
        )
    return EXIT_OK


@contextmanager
def _runtime(
    args: argparse.Namespace, mode: str, archive_reason: str | None = None
) -> Iterator[Runtime]:
    config = _load(args)
    # the console shows WARNING and up (a command prints its own report; the service its
    # banner); -v or --log-level shows the bot's INFO too. The file keeps everything.
    quiet = args.log_level is None and not args.verbose
    with Runtime(
        config,
        Secrets.load(),
        dry_run=args.dry_run,
        mode=mode,
        log_level=config.logging.level,
        console_level="WARNING" if quiet else None,
        audit_key=audit_anchor.load_audit_key(),
        archive_reason=archive_reason,
    ) as runtime:
        try:
            yield runtime
        except USAGE_ERRORS:
            raise
        except Exception as exc:
            # logged while the file handler is still attached; main() prints the one line
            log.error("%s failed: %s", mode, exc, exc_info=True, extra=FILE_ONLY)
            if runtime.outcome == "ok":
                runtime.outcome = f"error: {_one_line(exc)}"
            raise RunFailed(exc, runtime.state_dir / "logs" / LOG_FILE) from exc


@contextmanager
def _bot(args: argparse.Namespace, mode: str, *, read_only: bool = False) -> Iterator[App]:
    """Runtime (lock, logs, audit) and the App for one mode; always shut down."""
    with _runtime(args, mode) as runtime:
        try:
            app = App(runtime, read_only=read_only)
        except BaseException as exc:  # it closed what it had opened
            runtime.outcome = f"error: {exc}"
            raise
        try:
            yield app
        except BaseException as exc:
            runtime.outcome = f"error: {exc}"
            raise
        finally:
            app.shutdown()


def cmd_run(args: argparse.Namespace) -> int:
    if not args.once:
        with StopSignals() as signals:  # first: a signal during start-up is a clean stop too
            from bot.service import serve

            with _bot(args, "service") as app:
                serve(app, signals)
        return EXIT_OK
    with _bot(args, "once") as app:
        if app.config.metrics.textfile is not None:
            app.export_metrics_at_exit(app.config.metrics.textfile)
        app.prepare(stream=True)
        report = app.trading.cycle(printed=True)
        app.finish()
        return _report(app, report)


def _report(app: App, report: CycleReport) -> int:
    """Print what the run did. Entries refused because the OMS view may be stale are
    exit 1; a run that needed a repair or left something unresolved exit 5; a refusal,
    duplicate or no-op exit 3 (each the run's audited outcome)."""
    for line in report.lines:
        print(line)
    if report.oms_problem is not None:
        app.runtime.outcome = f"error: {report.oms_problem}"
        return EXIT_ERROR
    if report.attention:
        app.runtime.outcome = "needed a repair or left an outcome unresolved"
        print("attention: this run repaired or could not resolve something; see var/logs/bot.log")
        return EXIT_ATTENTION
    if report.refused:
        app.runtime.outcome = "refused"
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
        report = CycleReport(printed=True)
        app.trading.look_after_positions(report)
        app.trading.force_entry(args.symbol, args.side, report)
        app.trading.summarise(report)
        app.finish()
        return _report(app, report)


def cmd_emergency_stop(args: argparse.Namespace) -> int:
    """Done here, or, when a service holds the state dir, by that service on request."""
    try:
        return _emergency_stop_here(args)
    except StateDirLocked as locked:
        holder = locked.holder
    switch = KillSwitch(state_dir_for(_load(args), dry_run=args.dry_run))
    request = switch.request_stop(flatten=args.flatten)
    deadline = time.monotonic() + args.wait
    while (ack := switch.acknowledgement(request)) is None and time.monotonic() < deadline:
        time.sleep(ACK_POLL_S)
    if ack is not None:
        print(f"done by the running service (pid {holder}):")
        for line in ack.lines:
            print(line)
        print(KILL_SWITCH_ON)
        return EXIT_OK if ack.ok else EXIT_ERROR
    try:  # the holder may have been a cron run that has ended meanwhile
        return _emergency_stop_here(args)
    except StateDirLocked:
        print(
            f"emergency-stop: no acknowledgement from the process holding the state dir "
            f"(pid {holder}) within {args.wait:g} s; the kill switch is ON, so no new entry "
            "will be made, but its orders and positions were not touched: stop that process "
            "(SIGTERM) and run emergency-stop again",
            file=sys.stderr,
        )
        return EXIT_ATTENTION  # the kill switch is ON, nothing else was done


def _emergency_stop_here(args: argparse.Namespace) -> int:
    with _bot(args, "emergency-stop") as app:
        app.prepare(stream=False)
        for line in app.emergency_stop(flatten=args.flatten):
            print(line)
        app.finish()
        print(KILL_SWITCH_ON)
    return EXIT_OK


def _ack_wait_s(text: str) -> float:
    seconds = float(text)
    if not 0 < seconds <= MAX_ACK_WAIT_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be > 0 and <= {MAX_ACK_WAIT_S:g} seconds")
    return seconds


def cmd_resume(args: argparse.Namespace) -> int:
    with _runtime(args, "resume") as runtime:
        was_on = resume(KillSwitch(runtime.state_dir), runtime.audit)
    print("kill switch cleared" if was_on else "kill switch was not set")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from bot.status import read_status, render, to_json

    status = read_status(_load(args), dry_run=args.dry_run, cached=args.cached)
    print(to_json(status) if args.json else render(status))
    return EXIT_OK


def _pnl_days(text: str) -> int:
    from bot.pnl import MAX_DAYS

    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, 1..{MAX_DAYS}")
    return int(text)


def cmd_pnl(args: argparse.Namespace) -> int:
    from bot.pnl import read_pnl

    print(read_pnl(_load(args), days=args.days, dry_run=args.dry_run, as_json=args.json))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """One line per check; exit 1 when any check failed."""
    from bot.doctor import run_checks

    failed = False
    for result in run_checks(_load(args), dry_run=args.dry_run):
        print(result.line())
        failed = failed or result.failed
    return EXIT_ERROR if failed else EXIT_OK


def cmd_backtest(args: argparse.Namespace) -> int:
    """The backtest (``bot.backtest``): a bad data file is a usage error (exit 2)."""
    from bot.backtest.command import cmd_backtest as run_backtest
    from bot.backtest.data import DataError

    try:
        return run_backtest(_load(args), args)
    except DataError as exc:
        print(f"data error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def cmd_data(args: argparse.Namespace) -> int:
    """``data download`` (``bot.backtest.download``): exit 1 if a file was not kept."""
    from bot.backtest.download import cmd_download

    return cmd_download(args)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_run,
    "verify-audit": cmd_verify_audit,
    "audit": cmd_audit,
    "config": cmd_config,
    "reconcile": cmd_reconcile,
    "force-entry": cmd_force_entry,
    "emergency-stop": cmd_emergency_stop,
    "resume": cmd_resume,
    "status": cmd_status,
    "pnl": cmd_pnl,
    "doctor": cmd_doctor,
    "backtest": cmd_backtest,
    "data": cmd_data,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        if len(exc.problems) == 1:
            print(f"config error: {exc.problems[0]}", file=sys.stderr)
            return EXIT_USAGE
        print("config error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (CredentialsMissing, SymbolNotTradable) as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StateDirLocked as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_LOCKED
    except AuditBroken:
        return EXIT_ERROR  # the runtime logged the one line: the break and what to run
    except KeyboardInterrupt:
        return EXIT_ERROR
    except RunFailed as exc:
        print(f"error: {exc} (details in {exc.log_file})", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # outside a run: no log file to write the traceback to
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        if args.log_level == "DEBUG":
            traceback.print_exc()
        return EXIT_ERROR
