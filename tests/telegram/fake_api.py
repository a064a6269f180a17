"""A local Telegram Bot API: ``/bot<TOKEN>/getUpdates`` and ``/bot<TOKEN>/sendMessage``.

Like Telegram it holds a ``getUpdates`` call until a message arrives or its timeout
ends, confirms the updates below the ``offset`` it is given, answers a negative
offset with the newest updates only, and refuses a wrong token with 401.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_USERNAME = "usdc_test_bot"  # what getMe answers


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_id = 100
        self._closing = False
        self.sent: list[tuple[int, str]] = []  # (chat id, text) of every sendMessage
        self.calls: list[str] = []  # every path requested, token included
        self._raw_replies: list[bytes] = []  # answers to the next getUpdates calls, as is
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-telegram"
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def say(self, chat_id: int, text: str) -> None:
        """A user in ``chat_id`` sends ``text`` to the bot."""
        with self._cond:
            self._updates.append(
                {
                    "update_id": self._next_id,
                    "message": {"message_id": self._next_id, "chat": {"id": chat_id}, "text": text},
                }
            )
            self._next_id += 1
            self._cond.notify_all()

    def reply_raw(self, body: bytes) -> None:
        """The next ``getUpdates`` is answered 200 with ``body``, whatever it is."""
        with self._cond:
            self._raw_replies.append(body)

    def raw_pending(self) -> int:
        with self._cond:
            return len(self._raw_replies)

    def replies(self, chat_id: int) -> list[str]:
        with self._cond:
            return [text for chat, text in self.sent if chat == chat_id]

    def polls(self) -> int:
        with self._cond:
            return sum(path.endswith("/getUpdates") for path in self.calls)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        timeout = min(float(params.get("timeout", 0)), 2.0)
        with self._cond:
            if isinstance(offset, int) and offset < 0:
                return self._updates[offset:]
            if isinstance(offset, int):
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._cond.wait_for(lambda: self._updates or self._closing, timeout=timeout)
            return list(self._updates)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                params = json.loads(self.rfile.read(length) or b"{}")
                with fake._cond:
                    fake.calls.append(self.path)
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                method = self.path[len(prefix) :]
                raw = None
                with fake._cond:
                    if method == "getUpdates" and fake._raw_replies:
                        raw = fake._raw_replies.pop(0)
                if raw is not None:
                    self._send(200, raw)
                elif method == "getMe":
                    me = {"id": 1, "is_bot": True, "username": BOT_USERNAME}
                    self._reply(200, {"ok": True, "result": me})
                elif method == "getUpdates":
                    self._reply(200, {"ok": True, "result": fake._get_updates(params)})
                elif method == "sendMessage":
                    with fake._cond:
                        fake.sent.append((params["chat_id"], params["text"]))
                    self._reply(200, {"ok": True, "result": {"message_id": 1}})
                else:
                    self._reply(404, {"ok": False, "description": "Not Found"})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                self._send(status, json.dumps(body).encode())

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
