"""What the exchange told us, as immutable records in domain words.

``bot.exchange`` decodes every REST reply into these once (and refuses a reply it
cannot decode with ``MalformedReply``); nothing past it reads a Binance field name.
Amounts are finite Decimals, ids and times non-negative ints, times in exchange
milliseconds (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from bot.domain.enums import (
    AlgoStatus,
    IncomeType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    WorkingType,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Order:
    """A regular (matching-engine) order: an ack, a query, a cancel or an open order."""

    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    orig_qty: Decimal
    filled_qty: Decimal = ZERO
    price: Decimal = ZERO
    avg_price: Decimal = ZERO
    stop_price: Decimal = ZERO
    cum_quote: Decimal = ZERO
    reduce_only: bool = False
    close_position: bool = False
    position_side: PositionSide = PositionSide.BOTH
    orig_type: OrderType | None = None  # None: the same as ``order_type``
    updated_ms: int = 0

    @property
    def fill_price(self) -> Decimal | None:
        """The average fill price: ``avg_price``, else quote / quantity; None unfilled."""
        if self.avg_price > 0:
            return self.avg_price
        if self.filled_qty > 0 and self.cum_quote > 0:
            return self.cum_quote / self.filled_qty
        return None


@dataclass(frozen=True, slots=True)
class AlgoOrder:
    """A conditional (Algo Service) order: stop loss or take profit."""

    client_algo_id: str
    algo_id: int
    symbol: str
    side: Side
    order_type: OrderType
    status: AlgoStatus
    qty: Decimal = ZERO
    trigger_price: Decimal = ZERO
    price: Decimal = ZERO
    working_type: WorkingType | None = None
    reduce_only: bool = False
    close_position: bool = False
    position_side: PositionSide = PositionSide.BOTH
    actual_order_id: int | None = None  # the child order, once triggered
    algo_type: str = "CONDITIONAL"
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class Position:
    """One row of ``positionRisk``; ``amount`` is signed (short < 0)."""

    symbol: str
    amount: Decimal
    entry_price: Decimal = ZERO
    breakeven_price: Decimal = ZERO
    mark_price: Decimal = ZERO
    unrealised_pnl: Decimal = ZERO
    margin_type: str = "cross"  # "cross" | "isolated", as the user stream says
    position_side: PositionSide = PositionSide.BOTH
    updated_ms: int = 0
    liquidation_price: Decimal = ZERO  # 0: none (no position, or a margin that cannot run out)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of an order (``userTrades``)."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    realised_pnl: Decimal
    maker: bool
    time_ms: int


@dataclass(frozen=True, slots=True)
class Income:
    """One row of the income history (realised PnL, commission, funding, ...)."""

    income_type: IncomeType
    amount: Decimal
    asset: str
    symbol: str  # "" for account-wide income
    time_ms: int
    tran_id: int
    trade_id: int | None  # the fill it belongs to (PnL and commission)


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of the futures account (the USDC entry is the bot's wallet)."""

    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    available: Decimal
    unrealised_pnl: Decimal = ZERO
    margin_balance: Decimal = ZERO
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class Account:
    """``v3/account``: the per-asset balances (its top-level totals are USDT-only)."""

    balances: tuple[Balance, ...]

    def balance(self, asset: str) -> Balance | None:
        return next((b for b in self.balances if b.asset == asset), None)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """``/fapi/v1/accountConfig``: the futures account's permissions and modes."""

    can_trade: bool
    can_withdraw: bool
    dual_side_position: bool  # hedge mode; the bot trades one-way only
    multi_assets_margin: bool
    fee_tier: int = 0


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """``/fapi/v1/symbolConfig``: a symbol's margin type and leverage on the account
    (positionRisk v3 has neither)."""

    symbol: str
    margin_type: str  # "ISOLATED" | "CROSSED", as the endpoint spells it
    leverage: int


@dataclass(frozen=True, slots=True)
class CommissionRate:
    """``/fapi/v1/commissionRate``: the account's fee rates on one symbol."""

    symbol: str
    maker: Decimal
    taker: Decimal


class Kline(NamedTuple):
    """One candle as the klines endpoint lists it, oldest first; a tuple, so it reads
    like the row it was decoded from."""

    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_time_ms: int


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A MARKET order to send: an entry, or a reduce-only close. ``client_id`` names
    its intent (``bot.client_ids``), so a resend can never be a second order."""

    symbol: str
    side: Side
    qty: Decimal
    client_id: str
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class AlgoOrderRequest:
    """A conditional exit to send (stop loss, take profit): reduce-only for ``qty``, or
    ``close_position`` (which Binance allows with neither quantity nor reduce-only)."""

    symbol: str
    side: Side
    order_type: OrderType
    trigger_price: Decimal
    client_id: str
    qty: Decimal | None = None
    close_position: bool = False
    price: Decimal | None = None  # the limit of a TAKE_PROFIT; market exits have none
    working_type: WorkingType = WorkingType.MARK_PRICE
    price_protect: bool = True

    @property
    def reduce_only(self) -> bool:
        return not self.close_position
