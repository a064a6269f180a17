"""Deterministic client order ids.

Every order the bot sends carries an id derived from what caused it (symbol, the
open time of the candle that produced the signal, the leg), so the same signal
can never become two entries: not from a retried request, not from a second cron
run in the same candle, not from two processes. Binance only enforces uniqueness
among *open* orders (-4116), so the bot also checks its own store before sending.

Format: ``<prefix>-<SYMBOL>-<candle_open_ms>-<LEG>``; Binance allows
``^[.A-Za-z0-9:/_-]{1,36}$``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

CLIENT_ID_PATTERN = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
LIVE_PREFIX = "ufb"
DRY_RUN_PREFIX = "ufbd"


class Leg(StrEnum):
    """Which part of a bracket an order is."""

    ENTRY = "E"
    STOP_LOSS = "SL"
    TAKE_PROFIT = "TP"
    CLOSE = "X"  # reduce-only market close (emergency flatten, SL that would trigger at once)


@dataclass(frozen=True)
class ClientId:
    prefix: str
    symbol: str
    candle_open_ms: int
    leg: Leg

    def __str__(self) -> str:
        return f"{self.prefix}-{self.symbol}-{self.candle_open_ms}-{self.leg.value}"


def make_client_id(symbol: str, candle_open_ms: int, leg: Leg, *, prefix: str = LIVE_PREFIX) -> str:
    """Build the id; raises ValueError if Binance would refuse it (-4015)."""
    text = str(ClientId(prefix, symbol, candle_open_ms, leg))
    if not CLIENT_ID_PATTERN.fullmatch(text):
        raise ValueError(f"client id {text!r} does not match {CLIENT_ID_PATTERN.pattern}")
    return text


def parse_client_id(text: str) -> ClientId | None:
    """Return the parts of one of our ids, or None for anyone else's (manual, liquidation)."""
    parts = text.split("-")
    if len(parts) != 4 or parts[0] not in (LIVE_PREFIX, DRY_RUN_PREFIX):
        return None
    prefix, symbol, open_ms, leg = parts
    if not open_ms.isdigit() or leg not in Leg._value2member_map_:
        return None
    return ClientId(prefix, symbol, int(open_ms), Leg(leg))
