"""Binance's websocket stream protocol: URL forms and the JSON control messages.

Pure functions, no sockets, so every answer the simulator gives a client can be read here:

- roots `/public` (depth, bookTicker), `/market` (kline, markPrice, ticker, aggTrade...) and
  `/private` (user data), each as `/<root>/ws/<stream>` (raw frames) or
  `/<root>/stream?streams=a/b` (frames wrapped as `{"stream": name, "data": payload}`);
  `/private/ws/<listenKey>` and `/private/ws?listenKey=k&events=A/B` for user data;
- the legacy root paths (`/ws/...`, `/stream...`) were retired on 2026-04-23 and are refused;
- `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`/`SET_PROPERTY`/`GET_PROPERTY`, answered
  `{"result": ..., "id": id}`, errors `{"error": {"code", "msg"}, "id": id}` with the codes
  and messages of Binance's "Live Subscribing/Unsubscribing" page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from bot.sim.venue import Json

ROOTS = ("public", "market", "private")
MAX_STREAMS = 1024  # per connection (EXCHANGE-FACTS §2)
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
# Binance's USDⓈ-M page says "an unsigned INT"; the successor SDK sends a UUID string and
# Binance's newer pages accept "alphanumeric string; max length 36" or null: so do we.
_STRING_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


@dataclass
class Session:
    """One connection's protocol state."""

    root: str
    combined: bool
    streams: list[str] = field(default_factory=list)  # on /private: listenKeys
    events: frozenset[str] | None = None  # /private `events=` allow-list; None: all


def open_session(raw_path: str) -> Session | None:
    """The session a connection URL asks for, or None when Binance refuses the path."""
    url = urlsplit(raw_path)
    parts = url.path.strip("/").split("/")
    query = parse_qs(url.query)
    if len(parts) < 2 or parts[0] not in ROOTS or parts[1] not in ("ws", "stream"):
        return None
    root, combined = parts[0], parts[1] == "stream"
    rest = "/".join(parts[2:])
    if combined:
        if rest:
            return None
        streams = [s for s in "/".join(query.get("streams", [])).split("/") if s]
    else:
        streams = [rest] if rest else []
    if root == "private":
        streams += [k for k in query.get("listenKey", []) if k]
    events = query.get("events")
    allowed = frozenset("/".join(events).split("/")) if events and root == "private" else None
    return Session(root, combined, _unique(streams)[:MAX_STREAMS], allowed)


def answer(session: Session, text: str) -> Json:
    """Apply one client message to the session; return the reply Binance sends."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        return _error(3, f"Invalid JSON: {exc}", None)
    if not isinstance(message, dict):
        return _error(3, "Invalid JSON: expected an object", None)
    request_id = message.get("id")
    if not _valid_id(request_id):
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    method = message.get("method")
    if method is None:
        return _error(2, "Invalid request: missing field `method`", request_id)
    if method not in METHODS:
        expected = ", ".join(f"`{m}`" for m in METHODS)
        return _error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of {expected}",
            request_id,
        )
    params = message.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: params must be an array of strings", request_id)
        if method == "SUBSCRIBE":
            wanted = _unique(session.streams + params)
            if len(wanted) > MAX_STREAMS:
                return _error(2, "Invalid request: too many streams", request_id)
            session.streams = wanted
        else:
            session.streams = [s for s in session.streams if s not in params]
        return {"result": None, "id": request_id}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(session.streams), "id": request_id}
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return _error(2, "Invalid request: property name must be a string", request_id)
    if params[0] != "combined":
        return _error(0, "Unknown property", request_id)
    if method == "GET_PROPERTY":
        return {"result": session.combined, "id": request_id}
    if len(params) != 2 or not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", request_id)
    session.combined = params[1]
    return {"result": None, "id": request_id}


def frame(session: Session, stream: str, payload: Json) -> str:
    """The text frame of one payload: raw, or wrapped for a combined session."""
    body = {"stream": stream, "data": payload} if session.combined else payload
    return json.dumps(body, separators=(",", ":"))  # compact, as Binance sends it


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < 2**64
    return isinstance(value, str) and bool(_STRING_ID.match(value))


def _error(code: int, msg: str, request_id: object) -> Json:
    return {"error": {"code": code, "msg": msg}, "id": request_id}


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
