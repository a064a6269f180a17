"""REST response bodies and user-stream event payloads, with Binance's exact field names.

Decimals leave as strings, ids as ints (except ALGO_UPDATE `ai`, a string on Binance),
booleans as JSON booleans. One place for every shape, so a field name is fixed once.
"""

from __future__ import annotations

from decimal import Decimal

from bot.sim.account import ZERO, AlgoOrder, Order, Position, Trade
from bot.sim.venue import Json


def s(value: Decimal) -> str:
    return f"{value:f}"


def order_view(o: Order) -> Json:
    return {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": o.status,
        "clientOrderId": o.client_order_id,
        "price": s(o.price),
        "avgPrice": s(o.avg_price),
        "origQty": s(o.orig_qty),
        "executedQty": s(o.executed_qty),
        "cumQty": s(o.executed_qty),
        "cumQuote": s(o.cum_quote),
        "timeInForce": o.time_in_force,
        "type": o.type,
        "reduceOnly": o.reduce_only,
        "closePosition": o.close_position,
        "side": o.side,
        "positionSide": o.position_side,
        "stopPrice": s(o.stop_price),
        "workingType": o.working_type,
        "priceProtect": o.price_protect,
        "origType": o.orig_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": o.time,
        "updateTime": o.update_time,
    }


def algo_view(a: AlgoOrder, actual: Order | None = None) -> Json:
    return {
        "algoId": a.algo_id,
        "clientAlgoId": a.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": a.order_type,
        "symbol": a.symbol,
        "side": a.side,
        "positionSide": a.position_side,
        "timeInForce": a.time_in_force,
        "quantity": s(a.quantity),
        "algoStatus": a.status,
        "actualOrderId": "" if a.actual_order_id is None else str(a.actual_order_id),
        "actualPrice": s(actual.avg_price) if actual else "0",
        "triggerPrice": s(a.trigger_price),
        "price": s(a.price),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": a.working_type,
        "priceMatch": "NONE",
        "closePosition": a.close_position,
        "priceProtect": a.price_protect,
        "reduceOnly": a.reduce_only,
        "createTime": a.create_time,
        "updateTime": a.update_time,
        "triggerTime": a.trigger_time,
        "goodTillDate": 0,
        **_trailing_fields(a),
    }


def _trailing_fields(a: AlgoOrder) -> Json:
    if a.order_type != "TRAILING_STOP_MARKET":
        return {}
    return {"activatePrice": s(a.activate_price), "callbackRate": s(a.callback_rate)}


def order_trade_update(
    o: Order, execution: str, now: int, trade: Trade | None = None, expiry_reason: str = "0"
) -> Json:
    payload = {
        "s": o.symbol,
        "c": o.client_order_id,
        "S": o.side,
        "o": o.type,
        "f": o.time_in_force,
        "q": s(o.orig_qty),
        "p": s(o.price),
        "ap": s(o.avg_price),
        "sp": s(o.stop_price),
        "x": execution,
        "X": o.status,
        "i": o.order_id,
        "l": s(trade.qty) if trade else "0",
        "z": s(o.executed_qty),
        "L": s(trade.price) if trade else "0",
        "T": now,
        "t": trade.id if trade else 0,
        "b": "0",
        "a": "0",
        "m": trade.maker if trade else False,
        "R": o.reduce_only,
        "wt": o.working_type,
        "ot": o.orig_type,
        "ps": o.position_side,
        "cp": o.close_position,
        "rp": s(trade.realized_pnl) if trade else "0",
        "pP": o.price_protect,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
        "er": expiry_reason,
    }
    if o.orig_type == "TRAILING_STOP_MARKET":
        payload["AP"], payload["cr"] = s(o.activate_price), s(o.callback_rate)
    if trade is not None:  # "will not push if no commission"
        payload["N"] = "USDC" if o.symbol.endswith("USDC") else "USDT"
        payload["n"] = s(trade.commission)
    return {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": payload}


def trade_lite(o: Order, trade: Trade, now: int) -> Json:
    return {
        "e": "TRADE_LITE",
        "E": now,
        "T": now,
        "s": o.symbol,
        "q": s(o.orig_qty),
        "p": s(o.price),
        "m": trade.maker,
        "c": o.client_order_id,
        "S": o.side,
        "L": s(trade.price),
        "l": s(trade.qty),
        "t": trade.id,
        "i": o.order_id,
    }


def account_update(
    reason: str, now: int, balances: list[Json], positions: list[Json], symbol: str | None = None
) -> Json:
    """`symbol` is `a.S`, pushed on FUNDING_FEE since 2026-08."""
    account: Json = {"m": reason, "B": balances, "P": positions}
    if symbol is not None:
        account["S"] = symbol
    return {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": account}


def balance_entry(
    asset: str, wallet: Decimal, change: Decimal = ZERO, cross_wallet: Decimal | None = None
) -> Json:
    """Balances in 8 decimals, as Binance prints them (`"wb":"122624.12345678"`); `bc` is
    the balance change except PnL and commission (a funding fee, a deposit…)."""
    eight = Decimal("0.00000001")
    cw = wallet if cross_wallet is None else cross_wallet
    return {
        "a": asset,
        "wb": s(wallet.quantize(eight)),
        "cw": s(cw.quantize(eight)),
        "bc": s(change),
    }


def position_entry(
    p: Position, side: str, mark: Decimal, margin_type: str, isolated_wallet: Decimal
) -> Json:
    return {
        "s": p.symbol,
        "pa": s(p.amount),
        "ep": s(p.entry_price),
        "bep": s(p.entry_price),
        "cr": s(p.realised),
        "up": s(((mark - p.entry_price) * p.amount).quantize(Decimal("0.00000001"))),
        "mt": margin_type,
        "iw": s(isolated_wallet),
        "ps": side,
    }


def algo_update(a: AlgoOrder, now: int, actual: Order | None = None) -> Json:
    return {
        "e": "ALGO_UPDATE",
        "T": now,
        "E": now,
        "o": {
            "caid": a.client_algo_id,
            "aid": a.algo_id,
            "at": "CONDITIONAL",
            "o": a.order_type,
            "s": a.symbol,
            "S": a.side,
            "ps": a.position_side,
            "f": a.time_in_force,
            "q": s(a.quantity),
            "X": a.status,
            "ai": "" if a.actual_order_id is None else str(a.actual_order_id),
            "ap": s(actual.avg_price) if actual else "0",
            "aq": s(actual.executed_qty) if actual else "0",
            "act": actual.type if actual else "0",
            "tp": s(a.trigger_price),
            "p": s(a.price),
            "V": "EXPIRE_MAKER",
            "wt": a.working_type,
            "pm": "NONE",
            "cp": a.close_position,
            "pP": a.price_protect,
            "R": a.reduce_only,
            "tt": a.trigger_time,
            "gtd": 0,
            "rm": a.fail_reason,
            **({"ia": a.activated} if a.order_type == "TRAILING_STOP_MARKET" else {}),
        },
    }
