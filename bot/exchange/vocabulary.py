"""The one table from Binance's words to the domain enums (``bot.domain.enums``).

Per vocabulary, an unknown word is either refused (``ValueError`` naming the field,
which the decoders turn into ``MalformedReply`` / ``MalformedPayload``) or read as
the enum's ``UNKNOWN`` member:

* refused — sides, position sides, working types (fixed by the protocol), and order
  and algo statuses: a status the bot cannot interpret must not be guessed, because
  "open" would keep a dead stop counted as protection and "closed" would drop a live
  one from view and place a duplicate. The payload is refused loudly instead.
* ``UNKNOWN`` — order types and execution types, which Binance extends for its own
  orders (liquidation, ADL, amendments): an unknown type covers no position and is
  no fill, which is the safe reading; and income types (dozens, growing), of which
  the day's PnL counts three.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from bot.domain.enums import (
    AlgoStatus,
    ExecutionType,
    IncomeType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    WorkingType,
)

E = TypeVar("E", bound=StrEnum)


def _words(enum: type[E], **aliases: E) -> Mapping[str, E]:
    words: dict[str, E] = {m.value: m for m in enum if m.value != "UNKNOWN"}
    return words | aliases


WIRE: Mapping[type[StrEnum], Mapping[str, StrEnum]] = {
    Side: _words(Side),
    PositionSide: _words(PositionSide),
    OrderStatus: _words(OrderStatus),
    AlgoStatus: _words(AlgoStatus),
    OrderType: _words(OrderType),
    ExecutionType: _words(ExecutionType),
    IncomeType: _words(IncomeType),
    # LAST_PRICE is the config's (and the spec's) word for CONTRACT_PRICE
    WorkingType: _words(WorkingType, LAST_PRICE=WorkingType.CONTRACT_PRICE),
}
LENIENT: frozenset[type[StrEnum]] = frozenset({OrderType, ExecutionType, IncomeType})


def to_enum(enum: type[E], word: object, field: str) -> E:
    """``word`` as a member of ``enum``; ValueError naming ``field`` if it is not one."""
    member = WIRE[enum].get(word) if isinstance(word, str) else None
    if member is not None:
        return member  # type: ignore[return-value]
    if enum in LENIENT and isinstance(word, str):
        return enum("UNKNOWN")
    raise ValueError(f"field {field!r} is not a {enum.__name__}: {word!r}")
