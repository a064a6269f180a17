"""User-data payloads of the paper account, shaped exactly as Binance pushes them.

The PaperExecutor puts these on the OMS inbound queue, so the OMS parses paper
fills with the same code as live ones (field names per EXCHANGE-FACTS §1-§2).
Pure functions of the values they are given: the caller picks the event time,
which must be strictly increasing because the OMS drops an event not newer
than the last.
"""

from __future__ import annotations

from decimal import Decimal

from bot.execution.paper_book import PaperPosition

USDC = "USDC"


def order_trade_update(
    event_ms: int,
    order: dict,
    execution: str,
    *,
    last_qty: Decimal,
    last_price: Decimal,
    trade_id: int = 0,
    commission: Decimal = Decimal(0),
    realised: Decimal = Decimal(0),
    maker: bool = False,
) -> dict:
    """ORDER_TRADE_UPDATE for a regular order; a TRADE also carries its commission."""
    body = {
        "s": order["symbol"],
        "c": order["clientOrderId"],
        "S": order["side"],
        "o": order["type"],
        "f": order["timeInForce"],
        "q": order["origQty"],
        "p": order["price"],
        "ap": order["avgPrice"],
        "sp": "0",
        "x": execution,
        "X": order["status"],
        "i": order["orderId"],
        "l": f"{last_qty:f}",
        "z": order["executedQty"],
        "L": f"{last_price:f}",
        "T": event_ms,
        "t": trade_id,
        "b": "0",
        "a": "0",
        "m": maker,
        "R": order["reduceOnly"],
        "wt": order["workingType"],
        "ot": order["origType"],
        "ps": "BOTH",
        "cp": False,
        "rp": f"{realised:f}",
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
    }
    if execution == "TRADE":
        body.update(N=USDC, n=f"{commission:f}")
    return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": event_ms, "o": body}


def account_update(
    event_ms: int, symbol: str, position: PaperPosition, wallet: Decimal, unrealised: Decimal
) -> dict:
    """ACCOUNT_UPDATE after a fill: the USDC wallet and the one position it changed."""
    wallet_text = f"{wallet:f}"
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event_ms,
        "T": event_ms,
        "a": {
            "m": "ORDER",
            "B": [{"a": USDC, "wb": wallet_text, "cw": wallet_text, "bc": "0"}],
            "P": [
                {
                    "s": symbol,
                    "pa": f"{position.amount:f}",
                    "ep": f"{position.entry_price:f}",
                    "bep": f"{position.entry_price:f}",
                    "cr": "0",
                    "up": f"{unrealised:f}",
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
            ],
        },
    }


def algo_update(event_ms: int, algo: dict, *, reject_reason: str = "") -> dict:
    """ALGO_UPDATE for a conditional order; ``rm`` only with a reason (a trigger that
    found nothing to reduce expires with one)."""
    body = {
        "caid": algo["clientAlgoId"],
        "aid": algo["algoId"],
        "at": "CONDITIONAL",
        "o": algo["orderType"],
        "s": algo["symbol"],
        "S": algo["side"],
        "ps": "BOTH",
        "f": algo["timeInForce"],
        "q": algo["quantity"],
        "X": algo["algoStatus"],
        "ai": algo["actualOrderId"],
        "ap": algo.get("actualPrice", "0"),
        "aq": algo.get("actualQty", "0"),
        "act": "MARKET" if algo["actualOrderId"] else "0",
        "tp": algo["triggerPrice"],
        "p": algo["price"],
        "V": "EXPIRE_MAKER",
        "wt": algo["workingType"],
        "pm": "NONE",
        "cp": algo["closePosition"],
        "pP": algo["priceProtect"],
        "R": algo["reduceOnly"],
        "tt": algo["triggerTime"],
        "gtd": 0,
    }
    if reject_reason:
        body["rm"] = reject_reason
    return {"e": "ALGO_UPDATE", "T": event_ms, "E": event_ms, "o": body}
