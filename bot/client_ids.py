"""Client order ids that name an intent.

Every order the bot sends carries an id built from *why* it exists: the bot's tag,
the symbol, the intent (when it was decided, by whom, in which direction) and the
leg. The same intent can never become two entries — not from a retried request,
not from a second cron run in the same candle, not from a re-run of a crashed
``force-entry`` — while a *new* intent (the opposite side, an operator's second
command after a flatten) gets a new id. The tag keeps two bots on one account (or a
dry run beside a live bot) from taking each other's orders for their own.

Format: ``<tag>-<SYMBOL>-<intent>-<LEG>`` where ``intent`` is the decision time in
milliseconds (base 36), then the source and direction letters, e.g.
``ufb-BTCUSDC-mhx0k2g0CL-SL``: a stop loss of the strategy's long signal of the
candle that opened at that time. Binance allows ``^[.A-Za-z0-9:/_-]{1,36}$``
(-4015 otherwise). Binance only enforces uniqueness among *open* orders (-4116), so
the bot also asks its store and the exchange before sending an entry.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum

CLIENT_ID_PATTERN = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9]{1,5}$")
DEFAULT_TAG = "ufb"
_DIGITS = string.digits + string.ascii_lowercase


class Leg(StrEnum):
    """Which part of a bracket an order is."""

    ENTRY = "E"
    STOP_LOSS = "SL"
    TAKE_PROFIT = "TP"
    CLOSE = "X"  # reduce-only market close (emergency flatten, SL that would trigger at once)


class Source(StrEnum):
    """Who decided the intent."""

    CANDLE = "C"  # the strategy, at a candle close: one intent per candle and side
    OPERATOR = "F"  # force-entry: a new intent each time the operator asks
    GUARD = "R"  # the position guard: a repair or a protective close
    EMERGENCY = "K"  # emergency-stop --flatten


class Direction(StrEnum):
    LONG = "L"
    SHORT = "S"
    NONE = "N"  # repairs and closes: the position decides the side


@dataclass(frozen=True)
class Intent:
    """What caused an order: decision time (ms; a strategy's candle open), source, side."""

    time_ms: int
    source: Source
    direction: Direction = Direction.NONE

    def __str__(self) -> str:
        return f"{_base36(self.time_ms)}{self.source.value}{self.direction.value}"

    @classmethod
    def for_side(cls, time_ms: int, source: Source, side: str) -> Intent:
        """``side`` is LONG or SHORT (the signal's words)."""
        return cls(time_ms, source, Direction.LONG if side == "LONG" else Direction.SHORT)


@dataclass(frozen=True)
class ClientId:
    tag: str
    symbol: str
    intent: Intent
    leg: Leg

    def __str__(self) -> str:
        return f"{self.tag}-{self.symbol}-{self.intent}-{self.leg.value}"


def make_client_id(symbol: str, intent: Intent, leg: Leg, *, tag: str = DEFAULT_TAG) -> str:
    """Build the id; raises ValueError if Binance would refuse it (-4015)."""
    text = str(ClientId(tag, symbol, intent, leg))
    if not CLIENT_ID_PATTERN.fullmatch(text):
        raise ValueError(f"client id {text!r} does not match {CLIENT_ID_PATTERN.pattern}")
    return text


def parse_client_id(text: str, *, tag: str = DEFAULT_TAG) -> ClientId | None:
    """The parts of one of *this bot's* ids, or None for anyone else's (another bot's tag,
    a manual order, a liquidation's ``autoclose-…``)."""
    parts = text.split("-")
    if len(parts) != 4 or parts[0] != tag or parts[3] not in Leg._value2member_map_:
        return None
    token = parts[2]
    if token.isdigit():  # the candle-only ids of versions before intents (an open bracket
        # from before an upgrade stays ours)
        return ClientId(tag, parts[1], Intent(int(token), Source.CANDLE), Leg(parts[3]))
    if len(token) < 3:
        return None
    time_text, source, direction = token[:-2], token[-2], token[-1]
    if (
        source not in Source._value2member_map_
        or direction not in Direction._value2member_map_
        or not time_text.isalnum()
        or not time_text.isascii()
        or time_text != time_text.lower()
    ):
        return None
    intent = Intent(int(time_text, 36), Source(source), Direction(direction))
    return ClientId(tag, parts[1], intent, Leg(parts[3]))


def _base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"intent time {value} is negative")
    digits = ""
    while True:
        value, rest = divmod(value, 36)
        digits = _DIGITS[rest] + digits
        if value == 0:
            return digits
