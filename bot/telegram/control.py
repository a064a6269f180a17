"""The Telegram control loop: one owned long-polling thread, allow-listed chats only.

Only chats in ``telegram.chat_ids`` are obeyed. A message from any other chat is
audited (``telegram_refused``, its chat id only) and never answered: a stranger
learns nothing, not even that the bot is there. Every obeyed message is audited
(``telegram_command``) before it acts.

``/flatten`` closes every position, so it takes two steps: the first answers with a
one-time code, and only ``/flatten CODE`` from the same chat within the confirm
window acts. Any second ``/flatten ...`` uses the code up, right or wrong, so a code
cannot be guessed by trying.

Messages sent while no service polled are not acted on: the first poll skips them
(a ``/resume`` from yesterday must not clear today's kill switch).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from bot.telegram.api import TelegramApi, TelegramError, Update

if TYPE_CHECKING:
    from bot.audit import AuditJournal

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
JOIN_MARGIN_S = 7.0  # beyond the poll timeout: the reply's margin and a send in progress
HELP = "commands: /status, /pnl, /stopentries, /resume, /flatten"


class Operator(Protocol):
    """What each command does (``bot.telegram.actions``: the command line's paths)."""

    def status(self) -> str: ...
    def pnl(self) -> str: ...
    def stop_entries(self) -> str: ...
    def resume(self) -> str: ...
    def flatten(self, stop: threading.Event) -> str: ...


class TelegramControl:
    """Polls ``getUpdates`` on its own thread, answers with ``sendMessage``.

    Started and stopped by its owner (the App, in service mode only); ``stop`` is
    prompt because each poll lasts at most ``poll_timeout_s``."""

    def __init__(
        self,
        api: TelegramApi,
        operator: Operator,
        audit: AuditJournal,
        *,
        chat_ids: Iterable[int],
        poll_timeout_s: int,
        confirm_window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._audit = audit
        self._chat_ids = frozenset(chat_ids)
        self._poll_timeout_s = poll_timeout_s
        self._confirm_window_s = confirm_window_s
        self._clock = clock
        self._operator = operator
        self._actions: dict[str, Callable[[], str]] = {
            "/status": operator.status,
            "/pnl": operator.pnl,
            "/stopentries": operator.stop_entries,
            "/resume": operator.resume,
            "/help": lambda: HELP,
            "/start": lambda: HELP,
        }
        self._codes: dict[int, tuple[str, float]] = {}  # chat -> (code, valid until)
        self._username = ""  # this bot's, from getMe before the first poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="telegram-control")
        self._thread.start()

    def stop(self) -> None:
        """Ends the loop within one poll; the session is closed after the join."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._poll_timeout_s + JOIN_MARGIN_S)
            if self._thread.is_alive():
                log.warning("the telegram control thread did not stop in time")
                return  # closing the session under a running request would race it
        self._api.close()

    # --- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._poll()
        except BaseException:  # the traceback goes to the log; the owner sees it gone
            log.critical("the telegram control thread died", exc_info=True)

    def _poll(self) -> None:
        offset: int | None = None
        skipping = True  # the first call only finds where the backlog ends
        failures = 0
        while not self._stop.is_set():
            try:
                if not self._username:
                    self._username = self._api.get_me().lower()
                if skipping:
                    updates = self._api.get_updates(-1, 0)
                else:
                    updates = self._api.get_updates(offset, self._poll_timeout_s)
            except TelegramError as error:
                failures += 1
                delay = min(MAX_BACKOFF_S, 2.0 ** (failures - 1))
                log.warning("telegram: %s; next try in %g s", error, delay)
                self._stop.wait(delay)
                continue
            failures = 0
            if skipping:
                skipping = False
                if updates:
                    offset = updates[-1].update_id + 1
                    log.info("telegram: messages sent before the service started are ignored")
                continue
            for update in updates:
                offset = max(offset or 0, update.update_id + 1)
                self._handle(update)

    def _handle(self, update: Update) -> None:
        chat_id, text = update.chat_id, update.text
        if chat_id is None or text is None:
            return
        if chat_id not in self._chat_ids:
            self._audit.append("telegram_refused", {"chat_id": chat_id})
            log.warning("telegram: a message from chat %d (not allow-listed) ignored", chat_id)
            return
        words = text.split()
        command, _, addressee = (words[0] if words else "").lower().partition("@")
        if addressee and addressee != self._username:
            return  # "/stopentries@another_bot" in a group: for that bot, not this one
        try:
            reply = self._answer(chat_id, command, words[1:])
        except Exception:
            log.exception("telegram %s failed", command)
            reply = f"{command} failed; see the bot's log"
        try:
            self._api.send_message(chat_id, reply)
        except TelegramError as error:
            log.warning("telegram: the answer to %s was not sent: %s", command, error)

    def _answer(self, chat_id: int, command: str, args: list[str]) -> str:
        if command == "/flatten":
            return self._flatten(chat_id, args)
        action = self._actions.get(command)
        known = command if action is not None else "unknown"
        self._audit.append("telegram_command", {"chat_id": chat_id, "command": known})
        log.info("telegram: %s from chat %d", known, chat_id)
        return action() if action is not None else HELP

    def _flatten(self, chat_id: int, args: list[str]) -> str:
        now = self._clock()
        if not args:
            code = f"{secrets.randbelow(10**6):06d}"
            self._codes[chat_id] = (code, now + self._confirm_window_s)
            self._audit_flatten(chat_id, "code sent")
            return (
                f"this cancels every order and closes every position at market: to confirm, "
                f"send /flatten {code} within {self._confirm_window_s:g} s"
            )
        pending = self._codes.pop(chat_id, None)  # one try per code
        if pending is None or now >= pending[1] or not _same(args[0], pending[0]):
            self._audit_flatten(chat_id, "refused: wrong or expired code")
            return "wrong or expired code: nothing done; send /flatten for a new code"
        self._audit_flatten(chat_id, "confirmed")
        return self._operator.flatten(self._stop)

    def _audit_flatten(self, chat_id: int, step: str) -> None:
        self._audit.append(
            "telegram_command", {"chat_id": chat_id, "command": "/flatten", "step": step}, sync=True
        )
        log.warning("telegram: /flatten from chat %d: %s", chat_id, step)


def _same(given: str, code: str) -> bool:
    """Constant-time comparison; bytes, because ``compare_digest`` refuses non-ASCII str."""
    return secrets.compare_digest(given.encode(), code.encode())
