"""Local Binance USDⓈ-M futures simulator: REST + user-data websocket on 127.0.0.1.

``Simulator`` and ``RequestRecord`` load on first use, so importing the credentials
(``from bot.sim import SIM_API_KEY``) does not pay for the whole simulator.
"""

from typing import TYPE_CHECKING

from bot.sim.credentials import SIM_API_KEY, SIM_API_SECRET

if TYPE_CHECKING:
    from bot.sim.gateway import RequestRecord
    from bot.sim.hooks import DROP
    from bot.sim.simulator import Simulator

__all__ = ["DROP", "SIM_API_KEY", "SIM_API_SECRET", "RequestRecord", "Simulator"]


def __getattr__(name: str) -> object:
    if name == "Simulator":
        from bot.sim.simulator import Simulator

        return Simulator
    if name == "DROP":
        from bot.sim.hooks import DROP

        return DROP
    if name == "RequestRecord":
        from bot.sim.gateway import RequestRecord

        return RequestRecord
    raise AttributeError(f"module 'bot.sim' has no attribute {name!r}")
