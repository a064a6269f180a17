"""A deterministic stream of user-data payloads shaped like one bot's trading day.

Every ten events are one bracket trade as Binance reports it (EXCHANGE-FACTS §1–§2):
the entry NEW, its TRADE_LITE, two partial fills, the ACCOUNT_UPDATE of the fill,
the SL and TP ALGO_UPDATE NEW, a limit order placed and cancelled, and a balance-only
ACCOUNT_UPDATE. So 20 % of events are fills (audit record + processed id + day PnL),
the costliest kind for the OMS. Ids and times only grow, so nothing is a replay.
"""

from __future__ import annotations

import json
from decimal import Decimal

from bot.client_ids import Intent, Leg, Source, make_client_id

SYMBOLS = (("BTCUSDC", Decimal("60000.0")), ("ETHUSDC", Decimal("3000.00")))
EVENTS_PER_TRADE = 10


def _order(e_ms: int, symbol: str, client_id: str, order_id: int, **fields) -> str:
    o = {
        "s": symbol, "c": client_id, "S": "BUY", "o": "MARKET", "f": "GTC", "q": "0.010",
        "p": "0", "ap": "0", "sp": "0", "x": "NEW", "X": "NEW", "i": order_id, "l": "0",
        "z": "0", "L": "0", "N": "USDC", "n": "0", "T": e_ms - 1, "t": 0, "b": "0", "a": "0",
        "m": False, "R": False, "wt": "CONTRACT_PRICE", "ot": "MARKET", "ps": "BOTH",
        "cp": False, "rp": "0", "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_TAKER",
        "pm": "NONE", "gtd": 0, "er": "0",
    }  # fmt: skip
    o.update(fields)
    return json.dumps({"e": "ORDER_TRADE_UPDATE", "E": e_ms, "T": e_ms - 1, "o": o})


def _algo(e_ms: int, symbol: str, client_algo_id: str, algo_id: int, kind: str, tp: str) -> str:
    o = {
        "caid": client_algo_id, "aid": algo_id, "at": "CONDITIONAL", "o": kind, "s": symbol,
        "S": "SELL", "ps": "BOTH", "f": "GTC", "q": "0.010", "X": "NEW", "ai": "", "ap": "0",
        "aq": "0", "act": "0", "tp": tp, "p": "0", "V": "EXPIRE_MAKER", "wt": "MARK_PRICE",
        "pm": "NONE", "cp": False, "pP": True, "R": True, "tt": 0, "gtd": 0, "rm": "",
    }  # fmt: skip
    return json.dumps({"e": "ALGO_UPDATE", "T": e_ms - 1, "E": e_ms, "o": o})


def _account(e_ms: int, wallet: Decimal, position: tuple[str, str, str] | None) -> str:
    a: dict = {
        "m": "ORDER",
        "B": [{"a": "USDC", "wb": f"{wallet:f}", "cw": f"{wallet:f}", "bc": "0"}],
        "P": [],
    }
    if position is not None:
        symbol, amount, entry = position
        a["P"].append(
            {"s": symbol, "pa": amount, "ep": entry, "bep": entry, "cr": "0", "up": "0",
             "mt": "cross", "iw": "0", "ps": "BOTH"}
        )  # fmt: skip
    return json.dumps({"e": "ACCOUNT_UPDATE", "E": e_ms, "T": e_ms - 1, "a": a})


def user_data_payloads(count: int, start_ms: int, first_trade: int = 0) -> list[str]:
    """``count`` payloads (a multiple of ten is a whole number of trades); a later
    ``first_trade`` continues the sequence (new ids and times) in bounded chunks."""
    out: list[str] = []
    wallet = Decimal("10000")
    trade = first_trade
    while len(out) < count:
        symbol, price = SYMBOLS[trade % len(SYMBOLS)]
        e = start_ms + trade * 1000
        candle = start_ms + trade * 60_000
        intent = Intent.for_side(candle, Source.CANDLE, "LONG")
        entry_id = make_client_id(symbol, intent, Leg.ENTRY)
        order_id = 1_000_000 + trade * 2
        fill = f"{price:f}"
        wallet -= Decimal("0.24")
        out += [
            _order(e, symbol, entry_id, order_id),
            json.dumps(
                {
                    "e": "TRADE_LITE",
                    "E": e + 1,
                    "T": e,
                    "s": symbol,
                    "q": "0.010",
                    "p": "0",
                    "m": False,
                    "c": entry_id,
                    "S": "BUY",
                    "L": fill,
                    "l": "0.004",
                    "t": 5_000_000 + trade * 2,
                    "i": order_id,
                }
            ),
            _order(
                e + 2,
                symbol,
                entry_id,
                order_id,
                x="TRADE",
                X="PARTIALLY_FILLED",
                l="0.004",
                z="0.004",
                L=fill,
                ap=fill,
                n="0.096",
                t=5_000_000 + trade * 2,
            ),
            _order(
                e + 3,
                symbol,
                entry_id,
                order_id,
                x="TRADE",
                X="FILLED",
                l="0.006",
                z="0.010",
                L=fill,
                ap=fill,
                n="0.144",
                t=5_000_001 + trade * 2,
            ),
            _account(e + 4, wallet, (symbol, "0.010", fill)),
            _algo(
                e + 5,
                symbol,
                make_client_id(symbol, intent, Leg.STOP_LOSS),
                2_000_000 + trade * 2,
                "STOP_MARKET",
                f"{price * Decimal('0.99'):f}",
            ),
            _algo(
                e + 6,
                symbol,
                make_client_id(symbol, intent, Leg.TAKE_PROFIT),
                2_000_001 + trade * 2,
                "TAKE_PROFIT_MARKET",
                f"{price * Decimal('1.02'):f}",
            ),
            _order(
                e + 7,
                symbol,
                f"manual-{trade}",
                order_id + 1,
                o="LIMIT",
                ot="LIMIT",
                p=f"{price * Decimal('0.9'):f}",
            ),
            _order(
                e + 8,
                symbol,
                f"manual-{trade}",
                order_id + 1,
                o="LIMIT",
                ot="LIMIT",
                p=f"{price * Decimal('0.9'):f}",
                x="CANCELED",
                X="CANCELED",
            ),
            _account(e + 9, wallet, None),
        ]
        trade += 1
    return out[:count]
