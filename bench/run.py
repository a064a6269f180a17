"""Run every benchmark, print one table, write ``bench/results.json``.

``python bench/run.py`` (a few minutes on 2 cores; ``--quick`` for a smoke run,
``--only NAME ...`` for a subset). Each benchmark runs in a fresh interpreter so
one benchmark's threads and heap do not colour the next one's numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, machine

BENCHMARKS = (
    "oms_ingest",
    "decision_latency",
    "cron_startup",
    "api_weight",
    "soak",
    "audit_history",
    "oms_history",
    "socket_ingest",
    "backtest",
)
RESULTS = ROOT / "bench" / "results.json"


def _run_one(name: str, quick: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        out = Path(tmp) / f"{name}.json"
        command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--json", str(out)]
        if quick:
            command.append("--quick")
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            return {"benchmark": name, "error": done.stderr[-3000:]}
        return json.loads(out.read_text())


def _ok(flag: bool) -> str:
    return "met" if flag else "MISSED"


def rows(results: dict[str, dict]) -> list[tuple[str, str, str, str]]:
    """(benchmark, figure, floor / context, goal) lines for the table."""
    out: list[tuple[str, str, str, str]] = []
    for name, r in results.items():
        if "error" in r:
            out.append((name, "FAILED", r["error"].strip().splitlines()[-1][:60], ""))
            continue
        met = r.get("goal_met", {})
        if name == "oms_ingest":
            lat = r["steady"]["enqueue_to_visible"]
            out.append(
                (
                    name,
                    f"{r['events_per_s']:,} events/s",
                    f"json.loads {r['floor_json_loads_per_s']:,}/s ({r['slowdown_vs_floor']}x)",
                    f"≥100k/s: {_ok(met['events_per_s'])}",
                )
            )
            out.append(
                (
                    name,
                    f"p50 {lat['p50_ms']} / p99 {lat['p99_ms']} ms @1k/s",
                    "enqueue → visible in a view",
                    f"p99 ≤ 1 ms: {_ok(met['p99'])}",
                )
            )
        elif name == "decision_latency":
            t, loc = r["candle_to_entry_on_wire"], r["local_part"]
            out.append(
                (
                    name,
                    f"p50 {t['p50_ms']} / p99 {t['p99_ms']} ms",
                    f"I/O floor {r['floor']['io_floor_p50_ms']} ms ({r['p50_vs_io_floor']}x)",
                    f"p99 ≤ 2 ms: {_ok(met['p99'])}",
                )
            )
            out.append(
                (
                    name,
                    f"local p50 {loc['p50_ms']} / p99 {loc['p99_ms']} ms",
                    "without the 3 REST reads",
                    "",
                )
            )
        elif name == "cron_startup":
            o = r["once"]
            out.append(
                (
                    name,
                    f"{o['wall_s_median']} s, {o['max_rss_mb']} MB",
                    f"import floor {r['import_floor']['wall_s']} s ({r['wall_vs_floor']}x), budget {r['budget_s']} s",
                    f"time: {_ok(met['wall'])}; RSS ≤ 80 MB: {_ok(met['rss'])}",
                )
            )
            cold = r["without_pyc"]
            out.append(
                (
                    name,
                    f"{cold['once_wall_s_median']} s without .pyc",
                    f"import floor {cold['import_floor_wall_s']} s ({cold['wall_vs_floor']}x)",
                    "",
                )
            )
        elif name == "api_weight":
            out.append(
                (
                    name,
                    f"--once: {r['once_1_symbol']['steady']:g} (1 sym), {r['once_2_symbols']['steady']:g} (2 sym)",
                    f"fixed {r['fixed_per_cycle']:g} + {r['per_symbol']:g}/symbol; 10 sym ≈ {r['once_10_symbols_extrapolated']:g}",
                    f"≤ 10/symbol: 1 sym {_ok(met['once_1_symbol'])}, 10 sym {_ok(met['once_10_symbols'])}",
                )
            )
            s = r["service"]
            out.append(
                (
                    name,
                    f"service: {s['weight_per_min']} weight/min",
                    f"{s['window_s']} s window, stream healthy",
                    f"no polling: {_ok(met['service_no_polling'])}",
                )
            )
        elif name == "audit_history":
            s, d = r["startup_s"], r["disk_per_month_mb"]
            out.append((name, f"start-up +{s['worst_added']} s after {r['extrapolated_to_days']} days (full live segment)", f"fresh {s['fresh']} s; import floor {s['import_floor']} s", f"≤ 0.3× floor: {_ok(met['startup'])}"))  # fmt: skip
            out.append((name, f"disk {d['kept_sealed']} MB/month sealed", f"{d['raw_written']} MB written ({d['ratio']}×); full verify {r['full_verify_s']['per_month']} s/month", ""))  # fmt: skip
        elif name == "oms_history":
            f, m, v = r["once_fresh"], r["once_month"], r["service_rss"]
            out.append((name, f"--once {m['wall_s_median']} s, {m['max_rss_mb']} MB after {r['history']['days']} days", f"fresh {f['wall_s_median']} s, {f['max_rss_mb']} MB ({r['wall_vs_fresh']}×, {r['rss_vs_fresh']}×)", f"≤ 1.3× fresh: {_ok(met['wall'] and met['rss'])}"))  # fmt: skip
            out.append((name, f"service RSS {v['month_mb']} MB; lookup {r['lookups']['view_order_by_client_id_us']} µs", f"fresh {v['fresh_mb']} MB; store by key {r['lookups']['store_order_by_key_us']} µs", f"≤ 80 MB: {_ok(met['service_rss'])}"))  # fmt: skip
        elif name == "socket_ingest":
            a = r["recv_alone_per_s"]
            out.append((name, f"{r['socket_to_oms_per_s']:,} messages/s socket → OMS", f"socket alone {r['socket_alone_per_s']:,}/s; OMS consumer alone {r['oms_consumer_alone_per_s']:,}/s", f"≥ 50k/s: {_ok(met['socket_to_oms'])}"))  # fmt: skip
            out.append((name, f"recv {a['utf8_skipped']:,}/s without the UTF-8 check", f"{a['utf8_checked']:,}/s with it", ""))  # fmt: skip
        elif name == "backtest":
            a = r["anchor"]
            out.append((name, f"{r['wall_s']} s, {r['per_candle_us']} µs/candle, {r['max_rss_mb']} MB", f"{r['candles']:,} candles; imports {r['imports_s']} s; CPU {r['cpu_s']} s; {a['tool']} {a['wall_s']} s, {a['per_candle_us']} µs/candle", f"≤ 4.6 s: {_ok(met['wall'])}"))  # fmt: skip
        elif name == "soak":
            out.append((name, f"RSS {r['rss_mb']['start']} → {r['rss_mb']['end']} MB, max queue {r['max_queue_depth']}", f"{r['sim_minutes']} sim min, {r['fills']} fills, {r['drops']} drops", f"flat/bounded/in sync: {_ok(all(met.values()))}"))  # fmt: skip
    return out


def table(lines: list[tuple[str, str, str, str]]) -> str:
    header = ("benchmark", "result", "floor / context", "goal")
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(4)]
    fmt = " | ".join(f"{{:{w}}}" for w in widths)
    text = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
    text += [fmt.format(*row) for row in lines]
    return "\n".join(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes; does not write results.json"
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    args = parser.parse_args()
    results = {}
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = _run_one(name, args.quick)
    report = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "results": results,
    }
    print(table(rows(results)))
    m = report["machine"]
    print(f"\nmachine: {m['nproc']} CPU ({m['cpu']}), Python {m['python']}, {m['platform']}")
    if not args.quick:
        RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"written {RESULTS.relative_to(ROOT)}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
