"""Local Binance USDⓈ-M futures simulator: REST + user-data websocket on 127.0.0.1."""

from bot.sim.gateway import RequestRecord
from bot.sim.simulator import SIM_API_KEY, SIM_API_SECRET, Simulator

__all__ = ["SIM_API_KEY", "SIM_API_SECRET", "RequestRecord", "Simulator"]
