"""RiskGuard: the synchronous, pure yes/no asked before every order leaves the process.

It reads nothing and writes nothing: the caller passes the limits, a snapshot of
the risk state and the symbol's rules, and gets a decision with a sentence an
operator can act on. Exits (reduce-only / closePosition) are never blocked by
entry limits: a bot that cannot close its position is the dangerous one. They are
still precision-checked, because Binance rejects a badly rounded exit as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal
from enum import StrEnum
from typing import Literal

from bot.client_ids import Leg
from bot.console import usdc
from bot.domain.enums import Side
from bot.domain.rules import SymbolRules


class RiskRule(StrEnum):
    """Which rule refused: a code to count and journal; ``Refused.reason`` is the sentence."""

    KILL_SWITCH = "kill_switch"
    DAILY_LOSS = "daily_loss"
    SL_STREAK_COOLDOWN = "sl_streak_cooldown"
    MAX_LEVERAGE = "max_leverage"
    MAX_OPEN_POSITIONS = "max_open_positions"
    MAX_NOTIONAL_PER_SYMBOL = "max_notional_per_symbol"
    MAX_TOTAL_NOTIONAL = "max_total_notional"
    NO_QUANTITY = "no_quantity"
    PRECISION = "precision"  # the exchange's filters (tick, step, min notional, ...)


@dataclass(frozen=True)
class RiskLimits:
    daily_loss_limit: Decimal  # USDC, positive; entries stop once today's PnL <= -limit
    max_sl_streak: int  # consecutive stop-loss exits that start a cooldown
    sl_streak_cooldown_min: int
    cooldown_until_next_utc_day: bool  # instead of the minutes: blocked for the rest of the day
    max_open_positions: int
    max_notional_per_symbol: Decimal
    max_total_notional: Decimal
    max_leverage: int


@dataclass(frozen=True)
class RiskState:
    """What the guard needs to know, taken from the OMS view at decision time."""

    kill_switch: bool
    day_pnl: Decimal  # realised + commission + funding, this UTC day; negative = loss
    sl_streak: int
    last_sl_exit_at: datetime | None
    open_positions: Mapping[str, Decimal]  # symbol -> absolute notional (USDC)
    now: datetime  # timezone-aware UTC
    leverage: int


@dataclass(frozen=True)
class OrderIntent:
    """An order about to be sent. ``price`` None means a market order (notional at mark);
    ``trigger_price`` is the stop/take-profit trigger of an algo order (tick-checked only:
    PERCENT_PRICE does not apply to triggers)."""

    symbol: str
    side: Side
    qty: Decimal | None  # None only with close_position
    price: Decimal | None
    mark_price: Decimal
    reduce_only: bool = False
    close_position: bool = False
    leg: Leg = Leg.ENTRY
    client_id: str = ""
    trigger_price: Decimal | None = None

    @property
    def is_exit(self) -> bool:
        return self.reduce_only or self.close_position


@dataclass(frozen=True)
class Allowed:
    allowed: Literal[True] = field(default=True, init=False)
    reason: str = "all risk checks passed"


@dataclass(frozen=True)
class Refused:
    reason: str
    rule: RiskRule
    allowed: Literal[False] = field(default=False, init=False)


Decision = Allowed | Refused


class RiskGuard:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def check(self, intent: OrderIntent, state: RiskState, rules: SymbolRules) -> Decision:
        """Allowed, or Refused with the first rule that blocks, in order of severity."""
        if not intent.is_exit:
            refused = self._entry_refusal(intent, state)
            if refused is not None:
                return refused
        reason = self._precision_refusal(intent, rules)
        if reason is not None:
            return Refused(reason, RiskRule.PRECISION)
        return Allowed("exit: entry limits do not apply" if intent.is_exit else Allowed.reason)

    def entry_block(self, state: RiskState) -> Refused | None:
        """Why no entry at all is possible right now (kill switch, loss, streak), or None.

        Useful before any market data is fetched: no point sizing a signal that the
        account-wide rules refuse anyway."""
        return (
            self._kill_switch(state)
            or self._daily_loss(state)
            or self._sl_streak(state)
            or self._leverage(state)
        )

    def _entry_refusal(self, intent: OrderIntent, state: RiskState) -> Refused | None:
        if intent.qty is None:
            return Refused(f"{intent.symbol}: an entry needs a quantity", RiskRule.NO_QUANTITY)
        return (
            self.entry_block(state)
            or self._open_positions(intent, state)
            or self._notional(intent, intent.qty, state)
        )

    @staticmethod
    def _kill_switch(state: RiskState) -> Refused | None:
        if state.kill_switch:
            return Refused(
                "kill switch is on (emergency-stop): entries are blocked until `resume`",
                RiskRule.KILL_SWITCH,
            )
        return None

    def _daily_loss(self, state: RiskState) -> Refused | None:
        limit = self.limits.daily_loss_limit
        if state.day_pnl <= -limit:
            return Refused(
                f"daily loss limit reached: today's PnL {usdc(state.day_pnl)} USDC "
                f"(UTC {state.now.date()}) is at or below -{limit} USDC; "
                "entries resume after 00:00 UTC",
                RiskRule.DAILY_LOSS,
            )
        return None

    def _sl_streak(self, state: RiskState) -> Refused | None:
        reason = self._sl_streak_reason(state)
        return None if reason is None else Refused(reason, RiskRule.SL_STREAK_COOLDOWN)

    def _sl_streak_reason(self, state: RiskState) -> str | None:
        limit = self.limits.max_sl_streak
        if state.sl_streak < limit:
            return None
        streak = f"{state.sl_streak} stop-loss exits in a row (limit {limit})"
        last = state.last_sl_exit_at
        if last is None:
            return f"{streak}; the time of the last one is unknown, so entries stay blocked"
        if self.limits.cooldown_until_next_utc_day:
            if last.date() >= state.now.date():
                return f"{streak}, the last at {last:%H:%M} UTC: entries resume at 00:00 UTC"
            return None
        until = last + timedelta(minutes=self.limits.sl_streak_cooldown_min)
        if state.now < until:
            left = int((until - state.now).total_seconds() // 60) + 1
            return (
                f"{streak}: cooldown of {self.limits.sl_streak_cooldown_min} min after the last "
                f"at {last:%Y-%m-%d %H:%M} UTC, entries resume at {until:%H:%M} UTC "
                f"(~{left} min)"
            )
        return None

    def _leverage(self, state: RiskState) -> Refused | None:
        if state.leverage > self.limits.max_leverage:
            return Refused(
                f"leverage {state.leverage}x is above the cap {self.limits.max_leverage}x",
                RiskRule.MAX_LEVERAGE,
            )
        return None

    def _open_positions(self, intent: OrderIntent, state: RiskState) -> Refused | None:
        open_symbols = {s for s, notional in state.open_positions.items() if notional != 0}
        if intent.symbol in open_symbols:
            return None  # not a new position; the notional caps still apply
        if len(open_symbols) >= self.limits.max_open_positions:
            return Refused(
                f"{len(open_symbols)} positions are open ({', '.join(sorted(open_symbols))}); "
                f"the limit is {self.limits.max_open_positions}",
                RiskRule.MAX_OPEN_POSITIONS,
            )
        return None

    def _notional(self, intent: OrderIntent, qty: Decimal, state: RiskState) -> Refused | None:
        added = qty * (intent.mark_price if intent.price is None else intent.price)
        held = abs(state.open_positions.get(intent.symbol, Decimal(0)))
        per_symbol = self.limits.max_notional_per_symbol
        if held + added > per_symbol:
            return Refused(
                f"{intent.symbol}: notional would be {usdc(held + added, ROUND_UP)} USDC "
                f"({usdc(held)} held + {usdc(added)} new), above the per-symbol cap "
                f"{per_symbol} USDC",
                RiskRule.MAX_NOTIONAL_PER_SYMBOL,
            )
        total = sum((abs(n) for n in state.open_positions.values()), Decimal(0))
        cap = self.limits.max_total_notional
        if total + added > cap:
            return Refused(
                f"total notional would be {usdc(total + added, ROUND_UP)} USDC "
                f"({usdc(total)} held + {usdc(added)} new), "
                f"above the total cap {cap} USDC",
                RiskRule.MAX_TOTAL_NOTIONAL,
            )
        return None

    @staticmethod
    def _precision_refusal(intent: OrderIntent, rules: SymbolRules) -> str | None:
        """Algo orders (with a trigger) are checked for tick precision of trigger and
        limit price; PERCENT_PRICE applies only when the child order is placed."""
        is_algo = intent.trigger_price is not None
        prices = [("trigger price", intent.trigger_price), ("price", intent.price)]
        for label, value in prices if is_algo else []:
            if value is not None and value % rules.tick_size != 0:
                return (
                    f"{intent.symbol}: {label} {value} is not a multiple of "
                    f"PRICE_FILTER tickSize {rules.tick_size}"
                )
        if intent.qty is None:  # closePosition: Binance sizes it, nothing else to check
            return None
        price = None if is_algo else intent.price
        return rules.violation(
            qty=intent.qty,
            price=price,
            mark_price=intent.mark_price,
            market=price is None,
            reduce_only=intent.is_exit,
            side=intent.side,
        )
