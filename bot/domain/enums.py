"""The closed vocabularies of trading: statuses, sides, order types, outcomes.

Each is a ``StrEnum``, so a member compares equal to (and stores, logs and
serialises as) its word, and a status read back from the store as plain text still
belongs to the sets below. Which Binance string becomes which member is decided in
one place, ``bot.exchange.vocabulary``; a vocabulary Binance may extend has an
``UNKNOWN`` member there, the others refuse an unknown word as malformed.

The sets of statuses that mean "open", "final", "triggered" are defined here once:
the OMS, the position guard, the order manager and recovery all ask the same ones.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    """The side of an order (Binance ``side`` / ``S``)."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def closing(cls, amount: Decimal) -> Side:
        """The side that reduces a signed one-way position (long > 0: SELL)."""
        return cls.SELL if amount > 0 else cls.BUY


class PositionSide(StrEnum):
    """``positionSide`` / ``ps``: BOTH in one-way mode (the only mode this bot trades)."""

    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class OrderStatus(StrEnum):
    """A regular order's status (``status`` / ``X``)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"


class AlgoStatus(StrEnum):
    """A conditional (Algo Service) order's status (``algoStatus`` / ``X``)."""

    NEW = "NEW"
    TRIGGERING = "TRIGGERING"  # the trigger fired; the child order is being created
    TRIGGERED = "TRIGGERED"  # the child order is in the matching engine
    FINISHED = "FINISHED"  # the child order ended
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class OrderType(StrEnum):
    """Order types (``type`` / ``orderType`` / ``o``). Binance adds types for its own
    orders (liquidation, ADL): those read as ``UNKNOWN``, which covers nothing."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
    LIQUIDATION = "LIQUIDATION"
    UNKNOWN = "UNKNOWN"


class ExecutionType(StrEnum):
    """``ORDER_TRADE_UPDATE.x``: what happened to the order in this event."""

    NEW = "NEW"
    CANCELED = "CANCELED"
    CALCULATED = "CALCULATED"  # a liquidation's execution
    EXPIRED = "EXPIRED"
    TRADE = "TRADE"
    AMENDMENT = "AMENDMENT"
    UNKNOWN = "UNKNOWN"


class WorkingType(StrEnum):
    """Which price triggers a conditional order; the config's LAST_PRICE is CONTRACT_PRICE."""

    MARK_PRICE = "MARK_PRICE"
    CONTRACT_PRICE = "CONTRACT_PRICE"


class IncomeType(StrEnum):
    """A row of the income history. Binance has many more (transfers, bonuses,
    insurance): those read as ``UNKNOWN``, which the day's PnL does not count."""

    REALIZED_PNL = "REALIZED_PNL"
    COMMISSION = "COMMISSION"
    FUNDING_FEE = "FUNDING_FEE"
    TRANSFER = "TRANSFER"
    UNKNOWN = "UNKNOWN"


class BracketOutcome(StrEnum):
    """How ``OrderManager.open_bracket`` ended for one signal."""

    OPENED = "opened"
    REFUSED = "refused"  # by sizing or the risk guard: nothing sent
    DUPLICATE = "duplicate"  # this intent (or a position) already exists
    NOT_FILLED = "not_filled"
    CLOSED = "closed"  # an exit would have triggered at once: position flattened
    UNPROTECTED = "unprotected"  # filled, but an exit could not be placed: alarm raised
    ERROR = "error"


OPEN_ORDER_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
FINAL_ORDER_STATUSES = frozenset(OrderStatus) - OPEN_ORDER_STATUSES
# An algo order is open until its child order exists: TRIGGERING has no child yet, so
# the stop still stands for the position (and a stop stuck there is repaired as
# missing); from TRIGGERED on, the child is tracked as a regular order.
OPEN_ALGO_STATUSES = frozenset({AlgoStatus.NEW, AlgoStatus.TRIGGERING})
# The trigger fired (the child may or may not exist yet).
TRIGGERED_ALGO_STATUSES = frozenset({AlgoStatus.TRIGGERING, AlgoStatus.TRIGGERED})
# Where a triggered algo order's child order and fills can be looked up.
HAS_CHILD_ALGO_STATUSES = TRIGGERED_ALGO_STATUSES | {AlgoStatus.FINISHED}
STOP_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.STOP})
TAKE_PROFIT_TYPES = frozenset({OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT})
CONDITIONAL_TYPES = STOP_TYPES | TAKE_PROFIT_TYPES | {OrderType.TRAILING_STOP_MARKET}
FILL_EXECUTION_TYPES = frozenset({ExecutionType.TRADE, ExecutionType.CALCULATED})
