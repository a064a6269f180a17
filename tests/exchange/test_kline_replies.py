"""Kline replies: the common shape is read fast, every other shape as strictly as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.exchange import replies
from bot.exchange.errors import MalformedReply

ROW = [1704067200000, "42000.10", "42100", "41900.5", "42050", "12.345", 1704067499999, "0"]


def test_a_kline_row_as_binance_sends_it_is_read_exactly() -> None:
    (kline,) = replies.klines([ROW], "klines")
    assert kline == (
        1704067200000,
        Decimal("42000.10"),
        Decimal("42100"),
        Decimal("41900.5"),
        Decimal("42050"),
        Decimal("12.345"),
        1704067499999,
    )
    assert str(kline.open) == "42000.10"  # the exponent as sent, not normalised


def test_a_kline_with_string_times_is_still_read() -> None:
    row = [str(ROW[0]), *ROW[1:6], str(ROW[6])]
    assert replies.klines([row], "klines") == replies.klines([ROW], "klines")


@pytest.mark.parametrize(
    "bad",
    [
        [*ROW[:1], 42000.1, *ROW[2:]],  # a float: binary noise, refused
        [*ROW[:4], "NaN", *ROW[5:]],
        [*ROW[:5], "Infinity", *ROW[6:]],
        [*ROW[:2], "n/a", *ROW[3:]],
        [True, *ROW[1:]],
        [*ROW[:6], None],
    ],
)
def test_a_kline_that_is_not_a_finite_number_is_refused(bad: list[object]) -> None:
    with pytest.raises(MalformedReply, match="klines"):
        replies.klines([ROW, bad], "klines")
