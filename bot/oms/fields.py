"""Checked readers for the fields of exchange JSON (user-data payloads and REST rows).

Each reader returns the field as its Python type or raises :class:`FieldError`
naming the field and the bad value; the callers (:func:`bot.oms.parsing.parse_user_data`
and :meth:`bot.oms.events.Snapshot.from_rest`) turn that into ``MalformedPayload``.
They live below both, so the event types and the parsers share one definition of
what a valid field is.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MISSING = object()  # default meaning "required": a missing field raises


class FieldError(Exception):
    """A field problem; the caller turns it into MalformedPayload."""


def read_field(d: dict, key: str, default: Any) -> Any:
    if not isinstance(d, dict):
        raise FieldError(f"expected an object holding {key!r}")
    value = d.get(key, default)
    if value is MISSING:
        raise FieldError(f"missing field {key!r}")
    return value


def read_text(d: dict, key: str, default: Any = MISSING) -> str:
    value = read_field(d, key, default)
    if not isinstance(value, str):
        raise FieldError(f"field {key!r} is not text: {value!r}")
    return value


def read_decimal(d: dict, key: str, default: Any = MISSING) -> Decimal:
    value = read_field(d, key, default)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(f"field {key!r} is not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError(f"field {key!r} is not a number: {value!r}") from None
    if not number.is_finite():
        raise FieldError(f"field {key!r} is not finite: {value!r}")
    return number


def read_int(d: dict, key: str, default: Any = MISSING) -> int:
    """Integers; also digit strings, since listenKeyExpired sends ``E`` as a string."""
    value = read_field(d, key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise FieldError(f"field {key!r} is not an integer: {value!r}")


def read_bool(d: dict, key: str, default: bool = False) -> bool:
    value = read_field(d, key, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise FieldError(f"field {key!r} is not a boolean: {value!r}")


def optional_id(value: Any) -> int | None:
    """ALGO_UPDATE ``ai`` / ``actualOrderId``: a string id, ``""`` until triggered."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise FieldError(f"actual order id is not an id: {value!r}")
