"""``main.py doctor``: what an operator checks before going live and after any change.

One line per check, ``ok`` / ``warn`` / ``FAIL`` and what to do; any FAIL makes the
command exit non-zero. Everything is read-only: no order, no account setting, no lock
(it may run beside the service). The one thing it opens on the venue is the user-data
stream's listenKey, which Binance hands out once per account (the running service's
own key is returned and extended, never replaced); it is not closed, since closing
it would end the service's stream.

What the futures API cannot tell: the API key's own permissions (withdrawals, IP
restriction) are only at ``GET /sapi/v1/account/apiRestrictions``, a spot endpoint
that testnet does not have; ``doctor`` says so instead of guessing. It reads what the
futures API offers: a signed read succeeds (a key without futures permission gets
-2015) and ``/fapi/v1/accountConfig`` says whether the account may trade.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bot import audit_anchor
from bot.config import BotConfig
from bot.domain.records import AccountConfig
from bot.exchange.errors import ExchangeError
from bot.readers import ExchangeReader, engine_in_process
from bot.redact import Redactor
from bot.runtime import state_dir_for
from bot.wiring import CredentialsMissing

if TYPE_CHECKING:
    from bot.exchange.client import ExchangeClient

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "FAIL"
TIME_AHEAD_LIMIT_MS = 1000  # Binance refuses a timestamp >= serverTime + 1000
SKEW_WARN_MS = 500
WS_DEADLINE_S = 5.0  # connect and first frame; the 1 s mark price stream is the probe


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # ok | warn | FAIL
    text: str

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    def line(self) -> str:
        return f"{self.verdict:<4}  {self.name}: {self.text}"


def run_checks(config: BotConfig, *, dry_run: bool) -> list[Check]:
    state_dir = state_dir_for(config, dry_run=dry_run)
    checks = [_state_dir_writable(state_dir), _journal(state_dir)]
    if dry_run or engine_in_process(config):
        venue = "dry-run's paper engine" if dry_run else "the embedded simulator"
        checks.append(
            Check(
                "venue",
                WARN,
                f"{venue} runs inside the bot's process: account and stream checks skipped "
                "(run doctor against testnet or live before trading there)",
            )
        )
        return checks
    redactor = Redactor()
    try:
        reader = ExchangeReader(config, state_dir, on_secret=redactor.add)
    except CredentialsMissing as missing:
        return [*checks, Check("api key", FAIL, str(missing))]
    with reader as client:
        for check in _venue_checks(config, client):
            checks.append(Check(check.name, check.verdict, redactor.text(check.text)))
    return checks


def _guarded(name: str, probe: Callable[[], Check]) -> Check:
    """An exchange or network error fails that check alone, as one line (the traceback
    only at DEBUG: the console gets no traceback)."""
    import websocket

    try:
        return probe()
    except (ExchangeError, OSError, ValueError, websocket.WebSocketException) as error:
        log.debug("doctor: %s failed", name, exc_info=True)
        return Check(name, FAIL, " ".join(str(error).split()) or type(error).__name__)


def _venue_checks(config: BotConfig, client: ExchangeClient) -> Iterator[Check]:
    yield _guarded("clock", partial(_clock, config, client))
    try:
        account = client.account_config()  # signed: a key without futures permission fails
    except ExchangeError as error:
        yield Check("api key", FAIL, f"a signed futures read failed: {error}")
    else:
        yield _api_key(account)
        yield from _modes(account)
    for symbol in config.symbols:
        yield _guarded(f"symbol {symbol}", partial(_symbol, client, symbol))
    yield _guarded("leverage and margin type", partial(_settings, config, client))
    for symbol in config.symbols:
        yield _guarded(f"commission {symbol}", partial(_commission, client, symbol))
    yield _guarded("user-data stream", partial(_user_stream, client))
    yield _guarded("market stream", partial(_market_stream, client, config.symbols[0]))


def _modes(account: AccountConfig) -> Iterator[Check]:
    hedge, multi = account.dual_side_position, account.multi_assets_margin
    yield Check(
        "position mode",
        FAIL if hedge else OK,
        "hedge (dual-side) mode: this bot trades one-way only; close positions and "
        "orders, then switch to one-way in Binance's preferences"
        if hedge
        else "one-way",
    )
    yield Check(
        "multi-assets mode",
        FAIL if multi else OK,
        "ON: margin is pooled across assets; switch to single-asset mode "
        "(the bot's USDC wallet and daily loss limit assume it)"
        if multi
        else "off (single-asset margin)",
    )


def _clock(config: BotConfig, client: ExchangeClient) -> Check:
    """Server time minus local time. Binance refuses a request stamped 1 s ahead of it or
    more than recvWindow behind; the bot corrects for the offset it measures, but a
    drifting clock between measurements breaks requests and candle timing."""
    offset = client.sync_time()
    window = config.exchange.recv_window_ms
    text = f"local clock {abs(offset)} ms {'behind' if offset > 0 else 'ahead of'} the venue"
    if offset <= -TIME_AHEAD_LIMIT_MS or offset > window:
        return Check(
            "clock", FAIL, f"{text}: outside Binance's window (1000 ms ahead, {window} ms "
            "behind); enable NTP (timedatectl set-ntp true / chrony)"
        )  # fmt: skip
    if abs(offset) > SKEW_WARN_MS:
        return Check("clock", WARN, f"{text}: within the window, but check NTP")
    return Check("clock", OK, text)


def _api_key(account: AccountConfig) -> Check:
    if not account.can_trade:
        return Check(
            "api key", FAIL, "signed futures reads work but the account may not trade "
            "(canTrade false): enable futures trading for this key/account"
        )  # fmt: skip
    withdrawals = (
        "the account can withdraw, " if account.can_withdraw else "the account cannot withdraw; "
    )
    return Check(
        "api key",
        WARN,
        "futures enabled, trading allowed; "
        + withdrawals
        + "whether THIS KEY may withdraw is not visible to the futures API "
        "(GET /sapi/v1/account/apiRestrictions, spot only): make sure 'Enable Withdrawals' "
        "is off and the key is IP-restricted in API Management",
    )


def _symbol(client: ExchangeClient, symbol: str) -> Check:
    rules = client.symbol_rules(symbol)  # SymbolNotTradable names the status and asset
    return Check(
        f"symbol {symbol}",
        OK,
        f"TRADING USDC-margined perpetual (tick {rules.tick_size.normalize():f}, "
        f"step {rules.step_size.normalize():f})",
    )


def _settings(config: BotConfig, client: ExchangeClient) -> Check:
    execution = config.execution
    found = {c.symbol: c for c in client.symbol_configs()}
    wrong = []
    for symbol in config.symbols:
        setting = found.get(symbol)
        if setting is None:
            wrong.append(f"{symbol}: not listed by /fapi/v1/symbolConfig")
        elif setting.leverage != execution.leverage or setting.margin_type != execution.margin_type:
            wrong.append(
                f"{symbol} {setting.margin_type} x{setting.leverage}"
                f" (configured {execution.margin_type} x{execution.leverage})"
            )
    if wrong:
        return Check(
            "leverage and margin type", FAIL, "; ".join(wrong) + ": the next `python main.py "
            "--once` sets them (Binance refuses a change while a position or order is open)"
        )  # fmt: skip
    return Check(
        "leverage and margin type",
        OK,
        f"{execution.margin_type} x{execution.leverage} on {', '.join(config.symbols)}",
    )


def _commission(client: ExchangeClient, symbol: str) -> Check:
    rate = client.commission_rate(symbol)
    return Check(
        f"commission {symbol}",
        OK,
        f"maker {rate.maker * 100:.4f}%, taker {rate.taker * 100:.4f}%",
    )


def _user_stream(client: ExchangeClient) -> Check:
    import websocket

    key = client.new_listen_key()  # the account's one key: the service's, if it runs
    connection = websocket.create_connection(client.user_stream_url(key), timeout=WS_DEADLINE_S)
    connection.close()
    return Check(
        "user-data stream",
        OK,
        "listenKey issued and the stream accepted a connection (it sends events only "
        "when the account changes)",
    )


def _market_stream(client: ExchangeClient, symbol: str) -> Check:
    """The 1 s mark price stream on the ``/market`` root must deliver a frame quickly.
    The bot trades on REST candles, so a silent market stream is a warning."""
    import websocket

    url = f"{client.venue.ws_root}/market/ws/{symbol.lower()}@markPrice@1s"
    try:
        connection = websocket.create_connection(url, timeout=WS_DEADLINE_S)
        try:
            frame = json.loads(connection.recv())
        finally:
            connection.close()
    except (OSError, websocket.WebSocketException, ValueError) as error:
        return Check("market stream", WARN, f"no mark price frame within {WS_DEADLINE_S:g} s "
                     f"from {url}: {error}")  # fmt: skip
    if not isinstance(frame, dict):
        return Check("market stream", WARN, f"unexpected first frame from {url}")
    return Check("market stream", OK, f"{symbol} mark price frame within {WS_DEADLINE_S:g} s")


def _state_dir_writable(state_dir: Path) -> Check:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state_dir, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        return Check("state dir", FAIL, f"{state_dir} is not writable: {error.strerror}")
    return Check("state dir", OK, f"{state_dir} writable")


def _journal(state_dir: Path) -> Check:
    audit_dir = state_dir / "audit"
    if not audit_dir.exists():
        return Check("audit journal", OK, "none yet (the first run starts it)")
    log_file = state_dir / "logs" / "bot.log"
    result = audit_anchor.check_journal(
        audit_dir, audit_anchor.load_audit_key(), log_file if log_file.exists() else None
    )
    if not result.ok:
        return Check(
            "audit journal", FAIL, audit_anchor.describe(result) + "; see `main.py verify-audit`"
        )
    return Check("audit journal", OK, f"intact ({result.records} records)")
