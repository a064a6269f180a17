"""Binance's words → domain enums: one table, refusing what must not be guessed."""

from __future__ import annotations

import pytest

from bot.domain.enums import AlgoStatus, OrderStatus, OrderType, Side, WorkingType
from bot.exchange.vocabulary import to_enum


def test_an_order_status_binance_never_sent_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"'X'.*PENDING"):
        to_enum(OrderStatus, "PENDING", "X")
    with pytest.raises(ValueError, match="algoStatus"):
        to_enum(AlgoStatus, "", "algoStatus")


def test_an_order_type_binance_added_for_its_own_orders_reads_as_unknown() -> None:
    assert to_enum(OrderType, "ADL", "o") is OrderType.UNKNOWN
    assert to_enum(OrderType, "STOP_MARKET", "o") is OrderType.STOP_MARKET


def test_the_configs_last_price_is_binances_contract_price() -> None:
    assert to_enum(WorkingType, "LAST_PRICE", "workingType") is WorkingType.CONTRACT_PRICE
    with pytest.raises(ValueError):
        to_enum(Side, "buy", "side")  # Binance's sides are upper case; no guessing
