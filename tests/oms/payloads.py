"""User-data payloads as Binance sends them (EXCHANGE-FACTS §1–§2), as builders.

The defaults are the documented / recorded real-world examples with USDC symbols
substituted; keyword arguments change the fields a test is about.
"""

from __future__ import annotations

import json

SYMBOL = "BTCUSDC"


def order_update(
    *,
    E: int = 1_760_000_000_100,
    c: str = "ufb-BTCUSDC-1760000000000-E",
    i: int = 8886774,
    S: str = "BUY",
    o: str = "MARKET",
    x: str = "TRADE",
    X: str = "FILLED",
    q: str = "0.010",
    p: str = "0",
    z: str = "0.010",
    l: str = "0.010",  # noqa: E741 - Binance's field name
    L: str = "60000.0",
    n: str = "0.24",
    N: str = "USDC",
    rp: str = "0",
    t: int = 1001,
    R: bool = False,
    cp: bool = False,
    s: str = SYMBOL,
    T: int | None = None,
) -> str:
    return json.dumps(
        {
            "e": "ORDER_TRADE_UPDATE",
            "E": E,
            "T": E - 1,
            "o": {
                "s": s, "c": c, "S": S, "o": o, "f": "GTC", "q": q, "p": p, "ap": L,
                "sp": "0", "x": x, "X": X, "i": i, "l": l, "z": z, "L": L, "N": N, "n": n,
                "T": T if T is not None else E - 1, "t": t, "b": "0", "a": "0", "m": False,
                "R": R, "wt": "CONTRACT_PRICE", "ot": o, "ps": "BOTH", "cp": cp, "rp": rp,
                "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_TAKER", "pm": "NONE", "gtd": 0,
                "er": "0", "newField2027": "tolerated",
            },
        }
    )  # fmt: skip


def new_order(**kw) -> str:
    defaults = {"x": "NEW", "X": "NEW", "z": "0", "l": "0", "L": "0", "t": 0, "n": "0"}
    return order_update(**(defaults | kw))


def account_update(
    *,
    E: int = 1_760_000_000_101,
    m: str = "ORDER",
    wb: str = "9999.76",
    cw: str = "9999.76",
    bc: str = "0",
    pa: str | None = "0.010",
    ep: str = "60000.0",
    s: str = SYMBOL,
    S: str | None = None,
) -> str:
    a: dict = {"m": m, "B": [{"a": "USDC", "wb": wb, "cw": cw, "bc": bc}], "P": []}
    if pa is not None:
        a["P"].append(
            {"s": s, "pa": pa, "ep": ep, "bep": ep, "cr": "0", "up": "0", "mt": "cross",
             "iw": "0", "ps": "BOTH"}
        )  # fmt: skip
    if S is not None:
        a["S"] = S
    return json.dumps({"e": "ACCOUNT_UPDATE", "E": E, "T": E - 1, "a": a})


def funding_update(*, E: int = 1_760_003_600_000, bc: str = "-1.25", wb: str = "9998.51") -> str:
    """A cross-margin funding fee pushes ``B`` only (EXCHANGE-FACTS §2)."""
    return account_update(E=E, m="FUNDING_FEE", wb=wb, cw=wb, bc=bc, pa=None, S=SYMBOL)


def algo_update(
    *,
    E: int = 1_760_000_000_200,
    caid: str = "ufb-BTCUSDC-1760000000000-SL",
    aid: int = 2148719,
    o: str = "STOP_MARKET",
    S: str = "SELL",
    X: str = "NEW",
    ai: str = "",
    tp: str = "59000.0",
    q: str = "0",
    cp: bool = True,
    R: bool = False,
    s: str = SYMBOL,
) -> str:
    return json.dumps(
        {
            "e": "ALGO_UPDATE", "T": E - 6, "E": E,
            "o": {
                "caid": caid, "aid": aid, "at": "CONDITIONAL", "o": o, "s": s, "S": S,
                "ps": "BOTH", "f": "GTC", "q": q, "X": X, "ai": ai, "ap": "0", "aq": "0",
                "act": "MARKET" if ai else "0", "tp": tp, "p": "0", "V": "EXPIRE_MAKER",
                "wt": "MARK_PRICE", "pm": "NONE", "cp": cp, "pP": False, "R": R,
                "tt": E - 18 if ai else 0, "gtd": 0,
            },
        }
    )  # fmt: skip


# Real production payload (nautilus_trader#3287), verbatim apart from the elided client id.
REAL_TRIGGERED_ALGO_UPDATE = (
    '{"e":"ALGO_UPDATE","T":1765431097030,"E":1765431097037,"o":{"caid":"O-20251211-9",'
    '"aid":1000000033225453,"at":"CONDITIONAL","o":"STOP_MARKET","s":"DOGEUSDT","S":"BUY",'
    '"ps":"BOTH","f":"GTC","q":"38","X":"TRIGGERED","ai":"88937381063","ap":"0","aq":"0",'
    '"act":"MARKET","tp":"0.13855","p":"0","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE",'
    '"cp":false,"pP":false,"R":false,"tt":1765431097019,"gtd":0}}'
)

# Documented examples (EXCHANGE-FACTS §2).
DOC_ORDER_TRADE_UPDATE = (
    '{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST",'
    '"S":"SELL","o":"TRAILING_STOP_MARKET","f":"GTC","q":"0.001","p":"0","ap":"0","sp":"7103.04",'
    '"x":"NEW","X":"NEW","i":8886774,"l":"0","z":"0","L":"0","N":"USDT","n":"0","T":1568879465650,'
    '"t":0,"b":"0","a":"9.91","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"TRAILING_STOP_MARKET",'
    '"ps":"LONG","cp":false,"AP":"7476.89","cr":"5.0","pP":false,"si":0,"ss":0,"rp":"0",'
    '"V":"EXPIRE_TAKER","pm":"OPPONENT","gtd":0,"er":"0"}}'
)
DOC_ACCOUNT_UPDATE = (
    '{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER",'
    '"B":[{"a":"USDC","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],'
    '"P":[{"s":"BTCUSDC","pa":"20","ep":"6563.66500","bep":"0","cr":"0","up":"2850.21200",'
    '"mt":"isolated","iw":"13200.70726908","ps":"BOTH"}]}}'
)
DOC_TRADE_LITE = (
    '{"e":"TRADE_LITE","E":1721895408092,"T":1721895408214,"s":"BTCUSDT","q":"0.001","p":"0",'
    '"m":false,"c":"z8hcUoOsqEdKMeKPSABslD","S":"BUY","L":"64089.20","l":"0.040","t":109100866,'
    '"i":8886774}'
)
DOC_MARGIN_CALL = (
    '{"e":"MARGIN_CALL","E":1587727187525,"cw":"3.16812045","p":[{"s":"ETHUSDT","ps":"LONG",'
    '"pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}'
)
DOC_LEVERAGE_UPDATE = (
    '{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ac":{"s":"BTCUSDT","l":25}}'
)
DOC_MULTI_ASSETS_UPDATE = (
    '{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ai":{"j":true}}'
)
DOC_LISTEN_KEY_EXPIRED = '{"e":"listenKeyExpired","E":"1736996475556","listenKey":"WsCMN0a4"}'
