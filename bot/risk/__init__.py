"""Risk decisions: pure functions of limits, state and symbol rules."""

from bot.risk.guard import (
    Allowed,
    Decision,
    OrderIntent,
    Refused,
    RiskGuard,
    RiskLimits,
    RiskRule,
    RiskState,
)

__all__ = [
    "Allowed",
    "Decision",
    "OrderIntent",
    "Refused",
    "RiskGuard",
    "RiskLimits",
    "RiskRule",
    "RiskState",
]
