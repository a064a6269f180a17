"""The package arrows the design promises, checked on the source."""

from __future__ import annotations

import ast
import subprocess
import sys

from scripts.import_map import ROOT, cycles, graph, package_map, package_of


def test_no_module_import_cycle():
    assert cycles(graph()) == []


def test_the_exchange_boundary_and_the_oms_import_each_other_in_one_direction_only():
    packages = package_map(graph())
    assert "bot.oms" in packages["bot.exchange"]  # the boundary produces the OMS's events
    assert "bot.exchange" not in packages["bot.oms"]  # the OMS is handed the decoder


def test_pure_packages_import_no_io_package():
    edges = graph()
    io = ("bot.exchange", "bot.sim", "bot.stream", "bot.app", "bot.service")
    for module, targets in edges.items():
        if package_of(module) in ("bot.risk", "bot.domain", "bot.strategy", "bot.client_ids"):
            assert not [t for t in targets if t.startswith(io)], module


def test_only_the_exchange_package_imports_the_sdk():
    importers = []
    for path in (ROOT / "bot").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "from binance" in text or "import binance" in text:
            importers.append(path.relative_to(ROOT).parts[1])
    assert set(importers) <= {"exchange"}, importers


def test_status_loads_neither_the_sdk_nor_the_scheduler():
    probe = (
        "import sys, bot.status; "
        "print(sorted(m for m in sys.modules if m.startswith(('binance', 'apscheduler'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# Binance's wire names (REST rows, order parameters, user-data payloads). Generic words
# that name our own records too ("symbol", "side", "status") are left out.
BINANCE_FIELDS = frozenset(
    {
        "e", "E", "ps", "X", "x", "ap", "avgPrice", "algoStatus", "positionAmt", "executedQty",
        "clientAlgoId", "origQty", "triggerPrice", "clientOrderId", "newClientOrderId",
        "orderId", "algoId", "actualOrderId", "caid", "aid", "ai", "workingType",
        "orderType", "reduceOnly", "closePosition", "positionSide", "walletBalance",
        "crossWalletBalance", "incomeType", "tranId", "tradeId", "entryPrice", "markPrice",
        "unRealizedProfit", "breakEvenPrice", "updateTime", "cumQuote", "realizedPnl",
        "commissionAsset", "isolatedWallet", "origType", "stopPrice",
    }
)  # fmt: skip
WIRE_SPEAKERS = ("bot/exchange/", "bot/sim/")


def _field_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants used as a key: ``row["X"]``, ``row.get("X")``, ``{"X": ...}``."""
    found = []
    for node in ast.walk(tree):
        keys: list[ast.expr | None] = []
        if isinstance(node, ast.Subscript):
            keys = [node.slice]
        elif isinstance(node, ast.Dict):
            keys = list(node.keys)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
        ):
            keys = [node.args[0]]
        for key in keys:
            if isinstance(key, ast.Constant) and key.value in BINANCE_FIELDS:
                found.append((key.lineno, key.value))
    return found


def test_no_binance_field_name_is_read_outside_the_exchange_boundary():
    leaks = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(WIRE_SPEAKERS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        leaks += [f"{relative}:{line}: {name!r}" for line, name in _field_reads(tree)]
    assert leaks == []
