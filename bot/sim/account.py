"""Account state (wallet, positions, orders, algo orders, trades, income) and fill maths.

Plain dataclasses so the whole account serialises to JSON for the state file. Position
arithmetic follows Binance one-way mode: a weighted-average entry on increase, realised
PnL on reduction at (fill - entry) × closed qty × direction, and a flip re-opens the
remainder at the fill price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Generic, Protocol, TypeVar

ZERO = Decimal(0)
TAKER_FEE = Decimal("0.0004")
MAKER_FEE = Decimal("0.0002")
PRICE_DECIMALS = Decimal("0.00000001")
BPS = Decimal(10_000)


@dataclass(frozen=True)
class Fees:
    """What a fill costs: commission rates, and the slippage a MARKET fill pays over the
    feed's last price (0 on the embedded venue, whose book is one tick wide; dry-run's
    ``slippage_bps`` against a real market, where depth is not modelled)."""

    maker: Decimal = MAKER_FEE
    taker: Decimal = TAKER_FEE
    slippage_bps: Decimal = ZERO

    def market_price(self, side: str, last: Decimal, tick: Decimal) -> Decimal:
        """A MARKET fill's price: ``last`` moved against the taker, to a whole tick."""
        if not self.slippage_bps:
            return last
        slipped = last * (BPS + self.slippage_bps if side == "BUY" else BPS - self.slippage_bps)
        steps = (slipped / BPS / tick).to_integral_value(ROUND_UP if side == "BUY" else ROUND_DOWN)
        return steps * tick


@dataclass
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    orig_type: str
    time_in_force: str
    orig_qty: Decimal
    price: Decimal
    stop_price: Decimal
    reduce_only: bool
    close_position: bool
    position_side: str
    working_type: str
    price_protect: bool
    time: int
    update_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    algo_id: int | None = None  # set when this is the child of a triggered algo order
    activate_price: Decimal = ZERO  # `AP`/`cr` of a trailing stop's child order
    callback_rate: Decimal = ZERO

    @property
    def avg_price(self) -> Decimal:
        if not self.executed_qty:
            return ZERO
        return (self.cum_quote / self.executed_qty).quantize(PRICE_DECIMALS)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    order_type: str
    position_side: str
    time_in_force: str
    quantity: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: str
    close_position: bool
    price_protect: bool
    reduce_only: bool
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None
    fail_reason: str = ""
    activate_price: Decimal = ZERO  # TRAILING_STOP_MARKET only (0: active from placement)
    callback_rate: Decimal = ZERO  # TRAILING_STOP_MARKET only, percent
    activated: bool = False
    extreme: Decimal = ZERO  # best price since activation, the trail's anchor

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"


@dataclass
class Position:
    symbol: str
    side: str = "BOTH"  # BOTH in one-way mode; LONG/SHORT in hedge mode
    amount: Decimal = ZERO  # signed: > 0 long, < 0 short
    entry_price: Decimal = ZERO
    realised: Decimal = ZERO  # Binance `cr`: accumulated realised PnL, pre-fee
    update_time: int = 0


@dataclass
class Trade:
    id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    realized_pnl: Decimal
    commission: Decimal
    maker: bool
    time: int


@dataclass
class Income:
    tran_id: int
    symbol: str
    income_type: str
    income: Decimal
    asset: str
    time: int
    trade_id: str = ""
    info: str = ""


class _Closable(Protocol):
    @property
    def is_open(self) -> bool: ...


Entry = TypeVar("Entry", bound=_Closable)


class OpenIndex(Generic[Entry]):
    """The open entries of an id → order map that only grows, without visiting the
    finished ones: the engine looks at open orders at every price move, and a long run
    (a backtest's months) finishes thousands. Exact because an order that left NEW /
    PARTIALLY_FILLED never returns, new entries are appended at the map's end, and an
    entry taken out of the map (a test's lost order) is dropped here too."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._maybe_open: dict[int, Entry] = {}

    def open(self, entries: dict[int, Entry]) -> list[Entry]:
        """``[e for e in entries.values() if e.is_open]``, in the map's order."""
        new = []
        for key in reversed(entries):  # the newest first, back to one seen before
            if key in self._seen:
                break
            new.append(key)
        for key in reversed(new):
            self._seen.add(key)
            self._maybe_open[key] = entries[key]
        found = []
        for key, entry in list(self._maybe_open.items()):
            if entries.get(key) is entry and entry.is_open:
                found.append(entry)
            else:
                del self._maybe_open[key]
        return found


@dataclass
class AccountState:
    wallet: dict[str, Decimal] = field(default_factory=lambda: {"USDC": Decimal(10000)})
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)  # "cross" | "isolated"
    dual_side: bool = False
    orders: dict[int, Order] = field(default_factory=dict)
    algo_orders: dict[int, AlgoOrder] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    countdowns: dict[str, int] = field(default_factory=dict)  # symbol -> deadline ms
    last_funding_ms: int = 0  # the last funding time settled (0: none yet)
    next_order_id: int = 4000000001
    next_algo_id: int = 1000000001
    next_trade_id: int = 500000001
    next_tran_id: int = 9000000001
    _open_orders: OpenIndex[Order] = field(
        default_factory=OpenIndex, init=False, repr=False, compare=False
    )
    _open_algo_orders: OpenIndex[AlgoOrder] = field(
        default_factory=OpenIndex, init=False, repr=False, compare=False
    )

    def open_orders(self) -> list[Order]:
        """Open regular orders, oldest first."""
        return self._open_orders.open(self.orders)

    def open_algo_orders(self) -> list[AlgoOrder]:
        """Open (NEW) algo orders, oldest first."""
        return self._open_algo_orders.open(self.algo_orders)

    def take_id(self, kind: str) -> int:
        attr = f"next_{kind}_id"
        value: int = getattr(self, attr)
        setattr(self, attr, value + 1)
        return value

    def position(self, symbol: str, side: str = "BOTH") -> Position:
        return self.positions.setdefault(f"{symbol}|{side}", Position(symbol, side))

    def positions_of(self, symbol: str | None = None) -> list[Position]:
        return [p for p in self.positions.values() if symbol in (None, p.symbol)]

    def leverage_of(self, symbol: str) -> int:
        return self.leverage.get(symbol, 20)

    def margin_type_of(self, symbol: str) -> str:
        return self.margin_type.get(symbol, "cross")


def apply_fill(position: Position, signed_qty: Decimal, price: Decimal) -> Decimal:
    """Update the position with a fill; return the realised PnL of the reduced part."""
    amount, entry = position.amount, position.entry_price
    if amount == 0 or (amount > 0) == (signed_qty > 0):
        total = abs(amount) + abs(signed_qty)
        position.entry_price = ((abs(amount) * entry + abs(signed_qty) * price) / total).quantize(
            PRICE_DECIMALS
        )
        position.amount = amount + signed_qty
        return ZERO
    closed = min(abs(signed_qty), abs(amount))
    direction = 1 if amount > 0 else -1
    # Binance books realised PnL in 8 decimals (userTrades, income, wallet `wb`): entry
    # prices carry 8 and quantities 3, so the raw product would carry 11.
    realised = ((price - entry) * closed * direction).quantize(PRICE_DECIMALS)
    position.amount = amount + signed_qty
    if position.amount == 0:
        position.entry_price = ZERO
    elif (position.amount > 0) != (amount > 0):  # flipped: the rest opens at the fill price
        position.entry_price = price
    position.realised += realised
    return realised


def unrealised(position: Position, mark: Decimal) -> Decimal:
    return (mark - position.entry_price) * position.amount if position.amount else ZERO
