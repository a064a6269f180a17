"""Where each venue lives. URLs are data: a table, not branches.

The user-data stream URL is ``ws_root + user_path.format(listen_key=...)``.
Overrides (config ``exchange.rest_url`` / ``exchange.ws_url``) replace the roots,
never the path template: the template is a fact about the venue's layout
(live moved user data to ``/private`` in 2026; testnet is unconfirmed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Venue:
    rest: str
    ws_root: str
    user_path: str

    def user_stream_url(self, listen_key: str) -> str:
        return self.ws_root + self.user_path.format(listen_key=listen_key)


SIM_USER_PATH = "/private/ws/{listen_key}"

VENUES: dict[str, Venue] = {
    "live": Venue(
        "https://fapi.binance.com", "wss://fstream.binance.com", "/private/ws/{listen_key}"
    ),
    "testnet": Venue(
        "https://testnet.binancefuture.com", "wss://fstream.binancefuture.com", "/ws/{listen_key}"
    ),
}


def resolve_venue(
    name: str, rest_url: str | None = None, ws_url: str | None = None, sim: Venue | None = None
) -> Venue:
    """The venue called ``name`` with optional root overrides.

    ``sim`` must be given for ``"sim"``: the simulator's ports are only known once it runs.
    """
    if name == "sim":
        if sim is None:
            raise ValueError("venue 'sim' needs the running simulator's Venue")
        venue = sim
    elif name in VENUES:
        venue = VENUES[name]
    else:
        raise ValueError(f"unknown venue {name!r}; expected one of {sorted([*VENUES, 'sim'])}")
    if rest_url:
        venue = replace(venue, rest=rest_url.rstrip("/"))
    if ws_url:
        venue = replace(venue, ws_root=ws_url.rstrip("/"))
    return venue
