"""Where alerts go: the apprise URLs from ``BOT_ALERT_URLS``, and their secrets.

apprise turns one URL list into Telegram, Discord, Slack, e-mail, ntfy, generic
webhooks and more, so the bot holds no client of its own for any of them. A URL
carries its service's token (``tgram://<bot token>/<chat>``,
``json://user:password@host/...``), so every URL and the parts of it that may be
a token are registered with the Redactor before anything could log them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from bot.alerts.rules import Alert

log = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[\s,]+")
_HOST = re.compile(
    r"^(localhost|\d+(\.\d+){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?$"
)
MIN_TOKEN_LENGTH = 12  # a path segment this long, or with a digit, may be a token
# apprise's notify types by our levels (its NotifyType values)
NOTIFY_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


def split_urls(text: str | None) -> list[str]:
    """``BOT_ALERT_URLS``: URLs separated by commas and/or whitespace."""
    return [url for url in _SEPARATORS.split(text or "") if url]


def url_secrets(url: str) -> Iterator[str]:
    """The URL and each part of it that may be a token: the password, a host that
    is not a host name (``tgram://<token>/...``), path segments and query values that
    hold a digit or are long. A plain host name is left readable in the logs."""
    yield url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        if parts.password:  # a user name is no secret (and masking it would mask words)
            yield parts.password
    except ValueError:  # not parseable: the whole URL is registered, that is enough
        return
    if netloc and not _HOST.match(netloc):
        yield netloc
    pieces = [*parts.path.split("/"), *(value for _, value in parse_qsl(parts.query))]
    for piece in pieces:
        if len(piece) >= MIN_TOKEN_LENGTH or any(char.isdigit() for char in piece):
            yield piece


class _FileOnly(logging.Filter):
    """apprise's own lines (one per failed send, with details) go to the log file only:
    the console gets our one line (``bot.logs`` drops records marked ``file_only``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.file_only = True
        return True


_FILE_ONLY = _FileOnly()


class AppriseChannel:
    """Sends one alert to every URL; never raises. Each service's connect and read
    timeouts are set to ``timeout_s`` (apprise's ``cto``/``rto``), and sending is
    sequential on the caller's thread (apprise's async mode and executor off): no
    thread but the sender's ever waits on a network."""

    def __init__(self, urls: list[str], *, timeout_s: float) -> None:
        import apprise  # here, not at module import: ~60 ms every run pays only with URLs

        logging.getLogger("apprise").addFilter(_FILE_ONLY)  # the same filter: added once
        # service_timeout=0: no apprise executor thread (whose workers Python joins at
        # exit, so a hung send would hold --once past its flush deadline)
        asset = apprise.AppriseAsset(async_mode=False, service_timeout=0)
        self._apprise = apprise.Apprise(asset=asset)
        self.rejected = 0
        for number, url in enumerate(urls, 1):
            service = apprise.Apprise.instantiate(url, asset=self._apprise.asset)
            if service is None:
                self.rejected += 1
                log.warning("BOT_ALERT_URLS entry %d is not a URL apprise can use; skipped", number)
                continue
            service.socket_connect_timeout = timeout_s
            service.socket_read_timeout = timeout_s
            self._apprise.add(service)

    def __len__(self) -> int:
        return len(self._apprise)

    def send(self, alert: Alert) -> bool:
        """True when every service accepted the alert."""
        try:
            return bool(
                self._apprise.notify(
                    body=alert.body or alert.title,
                    title=alert.title,
                    notify_type=NOTIFY_TYPES[alert.level],
                )
            )
        except Exception as error:  # a plugin's bug must not end the sender
            log.warning("alert %s not sent: %s", alert.event, error)
            return False
