"""The shared base of the simulated venue's parts (`Exchange` and its mixins).

`Exchange` is assembled from mixins (orders, algo orders, account, market data, margin,
funding) that share one state and call one another. This base names that state and the
methods one part calls on another, so the type checker sees each part as what it runs
as: a piece of one `Exchange`. The method declarations exist for the checker only
(`TYPE_CHECKING`); at run time the mixins' own definitions are the only ones, and the
checker verifies that they match these.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sim.account import AccountState, AlgoOrder, Fees, Order, Position
    from bot.sim.market import Clock, Market
    from bot.sim.stream import ListenKeys
    from bot.sim.symbols import SymbolSpec

Json = dict[str, Any]
"""A JSON object as Binance sends it (a REST body, a user-stream event)."""


class Venue:
    lock: threading.RLock
    clock: Clock
    specs: dict[str, SymbolSpec]
    market: Market
    fees: Fees
    listen_keys: ListenKeys
    account: AccountState
    outbox: list[Json]  # user-stream events, in the order they happened
    stall_triggers: bool
    margin_calls: set[str]
    funding_rates: dict[str, Decimal]

    if TYPE_CHECKING:

        def now_ms(self) -> int: ...
        def spec(self, symbol: str | None) -> SymbolSpec: ...

        # Trading
        def execute_on_arrival(self, order: Order) -> None: ...
        def _check_reduce_only(
            self, symbol: str, side: str, position_side: str, reduce_only: bool
        ) -> bool: ...
        def _check_margin(
            self, symbol: str, side: str, position_side: str, qty: Decimal, price: Decimal
        ) -> None: ...
        def fill(
            self, order: Order, qty: Decimal, price: Decimal, maker: bool, execution: str = ...
        ) -> None: ...
        def _finish(self, order: Order, status: str, reason: str = ...) -> None: ...
        def _income(
            self,
            symbol: str,
            kind: str,
            amount: Decimal,
            asset: str,
            now: int,
            trade_id: str = ...,
            info: str = ...,
        ) -> None: ...

        # AlgoTrading
        def on_order_done(self, order: Order) -> None: ...
        def expire_close_position_algos(self, symbol: str, position_side: str) -> None: ...
        def _set_status(
            self, algo: AlgoOrder, status: str, reason: str = ..., actual: Order | None = ...
        ) -> None: ...

        # AccountApi
        def asset_of(self, symbol: str) -> str: ...
        def available_balance(self, asset: str) -> Decimal: ...
        def _isolated_wallet(self, p: Position) -> Decimal: ...
        def account_update_event(
            self,
            reason: str,
            symbol: str | None,
            asset: str,
            change: Decimal = ...,
            funding_symbol: str | None = ...,
        ) -> Json: ...

        # MarginEngine
        def notional(self, p: Position) -> Decimal: ...
        def maint_margin(self, p: Position) -> Decimal: ...
        def cross_wallet(self, asset: str) -> Decimal: ...
        def liquidation_price(self, p: Position) -> Decimal: ...
        def is_isolated(self, p: Position) -> bool: ...
