"""Binance error answers, with the exact codes, messages and HTTP statuses the bot will meet.

The simulator must never be kinder than Binance, so every rejection goes through one of
these constructors: a test that matches a code/message here matches production.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sim.venue import Json


@dataclass(frozen=True)
class SimError(Exception):
    """A Binance error body `{"code": code, "msg": msg}` answered with HTTP `status`."""

    status: int
    code: int
    msg: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> Json:
        return {"code": self.code, "msg": self.msg}


def bad_request(code: int, msg: str) -> SimError:
    return SimError(400, code, msg)


def unknown_error_503() -> SimError:
    """Binance's 503 whose execution status is UNKNOWN (the order may exist)."""
    return SimError(503, -1000, "Unknown error, please check your request or try again later.")


def timeout_1007(status: int = 408) -> SimError:
    return SimError(
        status,
        -1007,
        "Timeout waiting for response from backend server. "
        "Send status unknown; execution status unknown.",
    )


def too_many_requests(limit: int, retry_after_s: int) -> SimError:
    return SimError(
        429,
        -1003,
        f"Too many requests; current limit is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
        (("Retry-After", str(retry_after_s)),),
    )


def ip_banned(until_ms: int, retry_after_s: int) -> SimError:
    return SimError(
        418,
        -1003,
        f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. "
        "Please use the websocket for live updates to avoid bans.",
        (("Retry-After", str(retry_after_s)),),
    )


def too_many_orders(limit: int, window: str) -> SimError:
    return SimError(
        429, -1015, f"Too many new orders; current limit is {limit} orders per {window}."
    )


def invalid_api_key() -> SimError:
    return SimError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def invalid_signature() -> SimError:
    return bad_request(-1022, "Signature for this request is not valid.")


def timestamp_outside_window() -> SimError:
    return bad_request(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> SimError:
    return bad_request(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_recv_window() -> SimError:
    return bad_request(-1131, "recvWindow must be less than 60000")


def mandatory(name: str) -> SimError:
    return bad_request(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def not_required(name: str) -> SimError:
    return bad_request(-1106, f"Parameter '{name}' sent when not required.")


def illegal_value(name: str) -> SimError:
    return bad_request(-1130, f"Data sent for parameter '{name}' is not valid.")


def invalid_symbol() -> SimError:
    return bad_request(-1121, "Invalid symbol.")


def invalid_order_type() -> SimError:
    return bad_request(-1116, "Invalid orderType.")


def invalid_side() -> SimError:
    return bad_request(-1117, "Invalid side.")


def invalid_tif() -> SimError:
    return bad_request(-1115, "Invalid timeInForce.")


def unknown_listen_key() -> SimError:
    return bad_request(-1125, "This listenKey does not exist.")


def bad_precision() -> SimError:
    return bad_request(-1111, "Precision is over the maximum defined for this asset.")


def cancel_unknown() -> SimError:
    return bad_request(-2011, "Unknown order sent.")


def no_such_order() -> SimError:
    return bad_request(-2013, "Order does not exist.")


def margin_insufficient() -> SimError:
    return bad_request(-2019, "Margin is insufficient.")


def would_immediately_trigger() -> SimError:
    return bad_request(-2021, "Order would immediately trigger.")


def reduce_only_rejected() -> SimError:
    return bad_request(-2022, "ReduceOnly Order is rejected.")


def qty_too_small() -> SimError:
    return bad_request(-4003, "Quantity less than or equal to zero.")


def price_not_tick() -> SimError:
    return bad_request(-4014, "Price not increased by tick size.")


def qty_not_step() -> SimError:
    return bad_request(-4023, "Quantity not increased by step size.")


def qty_below_min(min_qty: str) -> SimError:
    return bad_request(-4004, f"Quantity less than minimum quantity {min_qty}.")


def price_too_high(limit: str) -> SimError:
    return bad_request(-4016, f"Limit price can't be higher than {limit}.")


def price_too_low(limit: str) -> SimError:
    return bad_request(-4024, f"Limit price can't be lower than {limit}.")


def min_notional(notional: str) -> SimError:
    return bad_request(
        -4164,
        f"Order's notional must be no smaller than {notional} (unless you choose reduce only).",
    )


def no_need_margin_type() -> SimError:
    return bad_request(-4046, "No need to change margin type.")


def no_need_position_side() -> SimError:
    return bad_request(-4059, "No need to change position side.")


def position_side_mismatch() -> SimError:
    return bad_request(-4061, "Order's position side does not match user's setting.")


def margin_type_blocked_by_orders() -> SimError:
    return bad_request(-4047, "Margin type cannot be changed if there exists open orders.")


def margin_type_blocked_by_position() -> SimError:
    return bad_request(-4048, "Margin type cannot be changed if there exists position.")


def position_mode_blocked() -> SimError:
    return bad_request(-4068, "Position side cannot be changed if there exists position.")


def duplicate_client_id() -> SimError:
    return bad_request(-4116, "ClientOrderId is duplicated.")


def invalid_client_id() -> SimError:
    return bad_request(-4015, "Client order id is not valid.")


def switch_to_algo() -> SimError:
    """-4120 STOP_ORDER_SWITCH_ALGO: conditional types left /fapi/v1/order on 2025-12-09."""
    return bad_request(
        -4120,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    )


def close_position_invalid(order_type: str) -> SimError:
    return bad_request(
        -4136, f"Target strategy invalid for orderType {order_type},closePosition true"
    )


def position_over_leverage_cap() -> SimError:
    return bad_request(-2027, "Exceeded the maximum allowable position at current leverage.")


def leverage_invalid() -> SimError:
    return bad_request(-4028, "Leverage is not valid")


def post_only_rejected() -> SimError:
    return bad_request(
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    )
