"""Read-only access for the operator's commands (``status``, ``pnl``, ``doctor``).

The exchange through a client that refuses writes and takes no lock, so they run
beside the service; and the local store (SQLite in WAL mode allows a reader beside its
writer). The embedded simulator and dry-run's paper engine live inside the bot's
process: there is no venue to read from outside it, only the store. The client is
imported when it is used, so importing this module loads no SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import BotConfig, Secrets
from bot.oms.oms import load_view
from bot.oms.state import OmsView
from bot.oms.store import Store

if TYPE_CHECKING:
    from bot.exchange.client import ExchangeClient


def engine_in_process(config: BotConfig) -> bool:
    """``venue: sim`` without a ``rest_url`` is a simulator the bot runs itself."""
    return config.exchange.venue == "sim" and config.exchange.rest_url is None


class ExchangeReader:
    """A client for the configured venue that refuses every signed write (orders,
    cancels, settings). ListenKey calls are not signed: only ``doctor`` makes one."""

    def __init__(
        self,
        config: BotConfig,
        state_dir: Path,
        *,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        """``on_secret`` learns the API key and secret, and each listenKey the client is
        given, so what is printed can be redacted."""
        from bot.wiring import connect_venue, credentials, exchange_client

        venue, _ = connect_venue(config, state_dir)  # not in-process: nothing is started
        key, secret = credentials(Secrets.load(), config.exchange.venue)
        if on_secret is not None:
            on_secret(key)
            on_secret(secret)
        self.client = exchange_client(
            config, venue, key, secret, state_dir / "cache", read_only=True, on_secret=on_secret
        )

    def __enter__(self) -> ExchangeClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def stored_view(state_dir: Path) -> OmsView | None:
    """The store's state, or None before the first run (nothing is created)."""
    path = state_dir / "state.db"
    if not path.exists():
        return None
    with Store.open(path) as store:
        return load_view(store)
