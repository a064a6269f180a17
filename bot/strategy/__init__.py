"""Strategies turn closed candles into entry signals (or nothing)."""

from bot.strategy.base import Candle, Signal, Strategy, parse_klines
from bot.strategy.ema_cross import EmaCross
from bot.strategy.loader import load_strategy

__all__ = ["Candle", "EmaCross", "Signal", "Strategy", "load_strategy", "parse_klines"]
