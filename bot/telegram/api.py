"""The two Telegram Bot API calls the control loop needs: ``getUpdates`` and ``sendMessage``.

The bot token is part of every URL (``/bot<TOKEN>/<method>``) and ``requests`` puts
the URL into its exception messages, so a failure is re-raised as
:class:`TelegramError` naming only the method and the kind of failure, with the
original exception dropped (``from None``: not even a chained traceback holds the
URL). The token is also registered with the Redactor, which masks it in every log
line (urllib3 logs request lines at DEBUG).

Replies are untrusted: an update that does not fit is skipped (its id still moves
the offset on), a reply that is not ``{"ok": true, "result": ...}`` (or not JSON
Python can parse, e.g. nested too deep) is an error, never an exception of another
type that would end the polling thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

CONNECT_TIMEOUT_S = 5.0
REPLY_MARGIN_S = 5.0  # a long poll is answered within its timeout plus this
MAX_TEXT = 4000  # Telegram refuses messages over 4096 characters
MAX_DESCRIPTION = 120  # characters of an error description kept


class TelegramError(Exception):
    """A Bot API call failed; the message never holds a URL or the token."""


@dataclass(frozen=True)
class Update:
    """One incoming update; ``chat_id``/``text`` None when it is not a text message."""

    update_id: int
    chat_id: int | None
    text: str | None


def _is_int(value: object) -> bool:
    return type(value) is int  # a JSON true is not a chat id


def decode_update(raw: object) -> Update | None:
    """An update from its JSON, or None when it has no usable ``update_id``."""
    if not isinstance(raw, dict) or not _is_int(raw.get("update_id")):
        return None
    message = raw.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    text = message.get("text") if isinstance(message, dict) else None
    return Update(
        raw["update_id"],
        chat_id if _is_int(chat_id) else None,
        text if isinstance(text, str) else None,
    )


class TelegramApi:
    """A ``requests`` session on one bot's API; every call has a timeout."""

    def __init__(self, base: str, token: str) -> None:
        self._url = f"{base.rstrip('/')}/bot{token}/"
        self._session = requests.Session()

    def get_updates(self, offset: int | None, timeout_s: int) -> list[Update]:
        """Updates from ``offset`` on, held by Telegram up to ``timeout_s`` when none."""
        params: dict[str, object] = {"timeout": timeout_s, "allowed_updates": ["message"]}
        if offset is not None:
            params["offset"] = offset
        result = self._call("getUpdates", params, read_timeout_s=timeout_s + REPLY_MARGIN_S)
        if not isinstance(result, list):
            raise TelegramError("getUpdates: the result is not a list")
        return [update for update in map(decode_update, result) if update is not None]

    def get_me(self) -> str:
        """This bot's username: a command addressed ``/cmd@name`` to another is not ours."""
        result = self._call("getMe", {}, read_timeout_s=10)
        username = result.get("username") if isinstance(result, dict) else None
        if not isinstance(username, str) or not username:
            raise TelegramError("getMe: no username in the result")
        return username

    def send_message(self, chat_id: int, text: str) -> None:
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 20] + "\n… (cut; see status)"
        self._call("sendMessage", {"chat_id": chat_id, "text": text}, read_timeout_s=10)

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, params: dict[str, object], *, read_timeout_s: float) -> Any:
        try:
            response = self._session.post(
                self._url + method, json=params, timeout=(CONNECT_TIMEOUT_S, read_timeout_s)
            )
        except requests.RequestException as error:  # its message holds the URL
            raise TelegramError(f"{method}: {type(error).__name__}") from None
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
            raise TelegramError(f"{method}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict) or body.get("ok") is not True or "result" not in body:
            described = body.get("description") if isinstance(body, dict) else None
            why = described[:MAX_DESCRIPTION] if isinstance(described, str) else "no description"
            raise TelegramError(f"{method}: HTTP {response.status_code}, {why}")
        return body["result"]
