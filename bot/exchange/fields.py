"""Checked readers for the fields of exchange JSON (user-data payloads and REST rows).

Each reader returns the field as its Python type or raises :class:`FieldError`
naming the field and the bad value; the decoders (REST rows in ``bot.exchange.wire``,
user-data payloads) turn that into ``MalformedReply`` / ``MalformedPayload``, so both
share one definition of what a valid field is.

"Valid" includes "storable and computable": every id and time fits SQLite's int64 and
is not negative (Binance's never are), every text encodes as UTF-8 (a JSON ``\\ud800``
escape decodes to a lone surrogate, which neither SQLite nor the audit journal can
write), and every amount is a finite Decimal of a size Binance can send. One record that
breaks any of these would otherwise fail every later store commit or audit append.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MISSING = object()  # default meaning "required": a missing field raises
MAX_ID = 2**63 - 1  # SQLite INTEGER
# Amounts: below 10^25 and no finer than 10^-30 (zero excepted). Binance sends at most
# a few dozen digits; a larger exponent would overflow the day-PnL arithmetic.
MAX_ADJUSTED_EXPONENT = 24
MIN_ADJUSTED_EXPONENT = -30


class FieldError(Exception):
    """A field problem; the caller turns it into MalformedPayload."""


def read_field(d: object, key: str, default: Any) -> Any:
    if not isinstance(d, dict):
        raise FieldError(f"expected an object holding {key!r}")
    value = d.get(key, default)
    if value is MISSING:
        raise FieldError(f"missing field {key!r}")
    return value


def is_storable_text(value: str) -> bool:
    """Whether the text encodes as UTF-8 (no lone surrogates)."""
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def is_storable_id(value: int) -> bool:
    return 0 <= value <= MAX_ID


def is_storable_amount(number: Decimal) -> bool:
    """Finite, and of a magnitude the day-PnL arithmetic cannot overflow on."""
    if not number.is_finite():
        return False
    return not number or MIN_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_ADJUSTED_EXPONENT


def read_text(d: object, key: str, default: Any = MISSING) -> str:
    return checked_text(read_field(d, key, default), key)


def checked_text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise FieldError(f"field {key!r} is not text: {value!r}")
    if not is_storable_text(value):
        raise FieldError(f"field {key!r} is not valid UTF-8 text: {value!r}")
    return value


def checked_amount(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(f"field {key!r} is not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError(f"field {key!r} is not a number: {value!r}") from None
    if not is_storable_amount(number):
        raise FieldError(f"field {key!r} is not a finite amount of a sane size: {value!r}")
    return number


def read_int(d: object, key: str, default: Any = MISSING) -> int:
    """Ids, times and counts: 0 to 2^63-1; also digit strings, since listenKeyExpired
    sends ``E`` as a string."""
    return checked_id(read_field(d, key, default), key)


def checked_id(value: Any, key: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if is_storable_id(value):
            return value
        raise FieldError(f"field {key!r} is out of range: {value!r}")
    raise FieldError(f"field {key!r} is not an integer: {value!r}")


def read_bool(d: object, key: str, default: bool = False) -> bool:
    value = read_field(d, key, default)
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise FieldError(f"field {key!r} is not a boolean: {value!r}")


def optional_id(value: Any) -> int | None:
    """ALGO_UPDATE ``ai`` / ``actualOrderId``: a string id, ``""`` until triggered."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and is_storable_id(value):
        return value
    raise FieldError(f"actual order id is not an id: {value!r}")
