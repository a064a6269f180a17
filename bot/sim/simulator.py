"""`Simulator`: composition root and control surface of the local Binance UM futures venue.

It wires the exchange (state + matching), the REST gateway and server, the websocket
hub (user data and market streams) and a market ticker thread (triggers, limit fills, listenKey expiry,
countdown cancels happen even when nobody calls). Tests and the bot use it as a context
manager; every thread it starts is named and joined on exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.sim import state
from bot.sim.account import Fees
from bot.sim.credentials import SIM_API_KEY, SIM_API_SECRET
from bot.sim.errors import SimError
from bot.sim.exchange import Exchange
from bot.sim.faults import FaultPlan
from bot.sim.gateway import Gateway, RequestRecord
from bot.sim.hooks import CrashAt, Hook, RequestHooks
from bot.sim.inprocess import InProcessAdapter
from bot.sim.limits import RateLimiter
from bot.sim.market import Clock, PriceFeed
from bot.sim.market_streams import MarketFeed
from bot.sim.rest import RestServer
from bot.sim.routes import build_routes
from bot.sim.stream import ListenKeys, StreamHub
from bot.sim.symbols import SymbolSpec, default_symbols
from bot.sim.venue import Json

TICK_S = 0.25

log = logging.getLogger(__name__)


class Simulator:
    def __init__(
        self,
        state_file: Path | None = None,
        seed: int = 7,
        listen_key_ttl_s: float = 3600,
        ping_interval_s: float = 180,
        port: int = 0,
        ws_port: int = 0,
        feed: PriceFeed | None = None,
        fees: Fees | None = None,
        clock_offset_ms: int | None = None,
        specs: dict[str, SymbolSpec] | None = None,
    ) -> None:
        """``feed``: where prices come from (the seeded path by default, ``bot.sim.feeds``);
        ``clock_offset_ms``: server time minus wall time when the feed's venue dictates
        it (else the saved offset, which only ``advance`` grows); ``specs``: the
        instruments (the simulator's own by default, ``bot.sim.symbols``)."""
        self.state_file = Path(state_file) if state_file is not None else None
        saved = state.read(self.state_file) if self.state_file is not None else None
        account, offset_ms, pins = state.load_state(saved) if saved else (None, 0, {})
        self.exchange = Exchange(
            seed=seed,
            clock=Clock(offset_ms if clock_offset_ms is None else clock_offset_ms),
            specs=default_symbols() if specs is None else specs,
            listen_keys=ListenKeys(int(listen_key_ttl_s * 1000)),
            account=account,
            feed=feed,
            fees=fees,
        )
        self.exchange.market.pins.update(pins)
        self.limiter = RateLimiter()
        self.faults = FaultPlan()
        self.hooks = RequestHooks()
        self.gateway = Gateway(
            routes=build_routes(self.exchange),
            lock=self.exchange.lock,
            now_ms=self.exchange.now_ms,
            api_key=SIM_API_KEY,
            api_secret=SIM_API_SECRET,
            limiter=self.limiter,
            faults=self.faults,
            hooks=self.hooks,
            after_request=self._after_request,
        )
        self._port, self._ws_port = port, ws_port
        self._ping_interval_s = ping_interval_s
        self._feed = MarketFeed(self.exchange)
        self._rest: RestServer | None = None
        self._hub: StreamHub | None = None
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="sim-market-ticker")

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> Simulator:
        """Catch up with the market (triggers and fills due while no process ran), then
        serve REST and the streams and start the ticker."""
        self._catch_up()
        self._hub = StreamHub(
            self.exchange.listen_keys,
            self._key_is_valid,
            port=self._ws_port,
            ping_interval_s=self._ping_interval_s,
            market_frames=self._market_frames,
        )
        self._rest = RestServer(self.gateway, self._control, port=self._port)
        self._hub.start()
        self._rest.start()
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(timeout=5)
        if self._rest is not None:
            self._rest.stop()
        if self._hub is not None:
            self._hub.stop()
        with self.exchange.lock:
            self.save()
        self.exchange.market.feed.close()

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        if self.state_file is None:
            return
        with self.exchange.lock:
            data = state.dump_state(
                self.exchange.account,
                self.exchange.clock.offset_ms,
                self.exchange.market.pins,
            )
            state.write_atomic(self.state_file, data)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def adapter(self) -> InProcessAdapter:
        """A ``requests`` adapter answering REST from this process, without a socket
        (mount it on a session for the simulator's URL; see ``bot.sim.inprocess``)."""
        return InProcessAdapter(self.gateway)

    @property
    def rest_url(self) -> str:
        assert self._rest is not None, "start the simulator first"
        return self._rest.url

    @property
    def ws_url(self) -> str:
        assert self._hub is not None, "start the simulator first"
        return self._hub.url

    # --- control -----------------------------------------------------------------------
    def now_ms(self) -> int:
        return self.exchange.now_ms()

    def set_prices(
        self, symbol: str, *, mark: Decimal | None = None, last: Decimal | None = None
    ) -> None:
        """Pin mark and/or last price (they stay pinned across `advance`), then match."""
        with self.exchange.lock:
            self.exchange.spec(symbol)
            self.exchange.market.pin(
                symbol,
                mark=None if mark is None else Decimal(mark),
                last=None if last is None else Decimal(last),
            )
            self._run_market()
            self.save()

    def unpin_prices(self, symbol: str) -> None:
        """Let the symbol follow its seeded path again."""
        with self.exchange.lock:
            self.exchange.market.unpin(symbol)
            self._run_market()

    def advance(self, seconds: float) -> None:
        """Move server time forward minute by minute, matching at each step.

        Note: as on Binance with a skewed client clock, a client that signs with its local
        time is now behind server time; it must resync from /fapi/v1/time (-1021 otherwise).
        """
        remaining = int(seconds * 1000)
        with self.exchange.lock:
            while remaining > 0:
                step = min(remaining, 60_000)
                self.exchange.clock.advance_ms(step)
                remaining -= step
                self._run_market()
            self.save()

    def seed_balance(self, amount: Decimal, asset: str = "USDC") -> None:
        """Set the wallet balance of `asset` (a deposit as far as the account is concerned)."""
        with self.exchange.lock:
            change = Decimal(amount) - self.exchange.account.wallet.get(asset, Decimal(0))
            self.exchange.account.wallet[asset] = Decimal(amount)
            event = self.exchange.account_update_event("DEPOSIT", None, asset, change=change)
            self.exchange.outbox.append(event)
            self._after_request()

    def add_income(
        self, symbol: str, income_type: str, amount: Decimal, time_ms: int | None = None
    ) -> None:
        with self.exchange.lock:
            self.exchange.spec(symbol)
            self.exchange.add_income(symbol, income_type, Decimal(amount), time_ms)
            self._after_request()

    def position(self, symbol: str) -> Json:
        """positionRisk-shaped row of the one-way position (zero row if flat)."""
        with self.exchange.lock:
            self.exchange.spec(symbol)
            return self.exchange.position_row(self.exchange.account.position(symbol))

    def open_orders(self, symbol: str | None = None) -> list[Json]:
        with self.exchange.lock:
            return self.exchange.open_orders({"symbol": symbol} if symbol else {})

    def open_algo_orders(self, symbol: str | None = None) -> list[Json]:
        with self.exchange.lock:
            return self.exchange.open_algo_orders({"symbol": symbol} if symbol else {})

    def balance(self, asset: str = "USDC") -> Decimal:
        """Wallet balance (realised PnL and fees included, unrealised PnL not)."""
        with self.exchange.lock:
            return self.exchange.account.wallet.get(asset, Decimal(0))

    @property
    def request_log(self) -> list[RequestRecord]:
        return self.gateway.log_snapshot()

    def clear_request_log(self) -> None:
        self.gateway.clear_log()

    def used_weight_1m(self) -> int:
        with self.exchange.lock:
            return self.limiter.used_weight(self.exchange.now_ms())

    def inject(
        self,
        fault: str,
        *,
        method: str | None = None,
        path: str | None = None,
        count: int = 1,
        **options: object,
    ) -> None:
        """Arm a fault for the next `count` requests matching method/path (None = any).

        "-1007" answers HTTP 408 with -1007 after executing the request (Binance's backend
        timeout: status unknown); options `status=503` and `execute=False` change that.
        """
        self.faults.inject(fault, method, path, count, options)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        """The rate premiumIndex publishes and the next funding times settle."""
        with self.exchange.lock:
            self.exchange.funding_rates[self.exchange.spec(symbol).symbol] = Decimal(rate)

    def stall_triggers(self, on: bool) -> None:
        """Algo orders that trigger from now on stay TRIGGERING without a child order: the
        query shows TRIGGERING, a cancel answers -2011 (the bot's stuck-trigger watchdog
        needs this Binance fault)."""
        with self.exchange.lock:
            self.exchange.stall_triggers = on

    def reply_raw(
        self,
        method: str | None,
        path: str | None,
        body: str,
        *,
        status: int = 200,
        count: int = 1,
        execute: bool = True,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next `count` matching requests with `status` and `body`, as given.

        `execute=True`: the request is executed first (the order exists, the answer is
        garbage); `execute=False`: it is not executed at all.
        """
        options = {"status": status, "body": body, "execute": execute}
        self.inject(
            "raw", method=method, path=path, count=count, **options, content_type=content_type
        )

    def push_raw_frame(self, text: str | bytes) -> None:
        """Send one text frame, exactly as given, to every connected user-data socket
        (bytes as they are: a frame that is not UTF-8, as a broken link may deliver)."""
        self._require_hub().push_raw(text)

    def on_request(self, hook: Hook | None) -> None:
        """Call `hook(method, path, params)` when a request arrives, before it is executed.

        Returning `bot.sim.DROP` cuts the connection and the request is never executed.
        None removes the hook. Runs outside the exchange lock (see `bot.sim.hooks`).
        """
        self.hooks.before = hook

    def on_executed(self, hook: Hook | None) -> None:
        """Call `hook(method, path, params)` after a request was executed and logged, before
        its answer is written; returning `bot.sim.DROP` withholds the answer."""
        self.hooks.after = hook

    def crash_at(
        self,
        k: int,
        action: Callable[[], Any],
        *,
        executed: bool = False,
        writes_only: bool = False,
    ) -> CrashAt:
        """At the `k`-th signed request from now (1-based), run `action` (e.g. SIGKILL the
        bot) and drop the request: unexecuted, or executed with no answer (`executed`).

        Replaces both request hooks. `signed_requests()` of a clean run gives the range of k.
        """
        trap = CrashAt(k, action, executed=executed, writes_only=writes_only)
        self.hooks.before, self.hooks.after = trap.before, trap.after
        return trap

    def signed_requests(self, *, writes_only: bool = False) -> int:
        """Signed requests in the request log (non-GET only with `writes_only`)."""
        return sum(r.signed and not (writes_only and r.method == "GET") for r in self.request_log)

    def drop_streams(self) -> None:
        self._require_hub().drop_all()

    def silence_streams(self, on: bool) -> None:
        self._require_hub().silence(on)

    def expire_listen_key(self, key: str | None = None) -> None:
        """Push listenKeyExpired to the key's connections, then invalidate the key."""
        with self.exchange.lock:
            keys = self.exchange.listen_keys
            targets = [key] if key else list(keys.expiry)
            for k in targets:
                self._expire_key(k)

    def _expire_key(self, key: str) -> None:
        self.exchange.listen_keys.close(key)
        self._require_hub().push_to_key(
            key, {"e": "listenKeyExpired", "E": str(self.exchange.now_ms()), "listenKey": key}
        )

    def stream_connections(self) -> int:
        return self._require_hub().connection_count()

    # --- internals ---------------------------------------------------------------------
    def _require_hub(self) -> StreamHub:
        assert self._hub is not None, "start the simulator first"
        return self._hub

    def _market_frames(self, root: str, names: set[str]) -> dict[str, list[Json]]:
        with self.exchange.lock:
            return self._feed.due(names, root, time.monotonic())

    def _key_is_valid(self, key: str) -> bool:
        with self.exchange.lock:
            return self.exchange.listen_keys.is_valid(key, self.exchange.now_ms())

    def _run_market(self) -> None:
        """Match at the current prices and ship events; caller holds the lock."""
        self.exchange.match()
        now = self.exchange.now_ms()
        for key in self.exchange.listen_keys.due_to_expire(now):
            self._expire_key(key)
        self._after_request(mutating=False)

    def _after_request(self, mutating: bool = True) -> None:
        """Ship events; persist after a write request or anything that produced events."""
        mutated = mutating or bool(self.exchange.outbox)
        self._flush()
        if mutated:
            self.save()

    def _flush(self) -> None:
        events, self.exchange.outbox = self.exchange.outbox, []
        if events and self._hub is not None:
            self._hub.publish(events)

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            self._catch_up()

    def _catch_up(self) -> None:
        """Poll the feed (network I/O, so outside the lock), then match at its prices."""
        self.exchange.market.feed.refresh(self.exchange.now_ms())
        with self.exchange.lock:
            try:
                self._run_market()
            except SimError as error:  # the feed had no price: match again next tick
                log.warning("market not matched: %s", error.body())

    def _control(self, method: str, name: str, payload: Json) -> tuple[int, object]:
        """The `/_sim/<name>` HTTP control API (JSON in, JSON out) for subprocess tests."""
        if name == "now_ms":
            return 200, {"now_ms": self.now_ms()}
        if name == "set_prices":
            self.set_prices(
                payload["symbol"],
                mark=_opt_dec(payload.get("mark")),
                last=_opt_dec(payload.get("last")),
            )
        elif name == "unpin_prices":
            self.unpin_prices(payload["symbol"])
        elif name == "advance":
            self.advance(float(payload["seconds"]))
        elif name == "clear_request_log":
            self.clear_request_log()
        elif name == "request_log":
            return 200, [r.__dict__ for r in self.request_log]
        elif name == "inject":
            body = dict(payload)
            self.inject(body.pop("fault"), **body)
        elif name == "reply_raw":
            body = dict(payload)
            self.reply_raw(body.pop("method", None), body.pop("path", None), **body)
        elif name == "push_raw_frame":
            self.push_raw_frame(payload["text"])
        elif name == "push_raw_frames":  # many in one request: a bench's burst
            for text in payload["frames"]:
                self.push_raw_frame(text)
        elif name == "stall_triggers":
            self.stall_triggers(bool(payload.get("on", True)))
        elif name == "set_funding_rate":
            self.set_funding_rate(payload["symbol"], Decimal(str(payload["rate"])))
        elif name == "signed_requests":
            count = self.signed_requests(writes_only=bool(payload.get("writes_only")))
            return 200, {"signed_requests": count}
        elif name == "drop_streams":
            self.drop_streams()
        elif name == "silence_streams":
            self.silence_streams(bool(payload.get("on", True)))
        elif name == "expire_listen_key":
            self.expire_listen_key(payload.get("key"))
        elif name == "used_weight_1m":
            return 200, {"used_weight_1m": self.used_weight_1m()}
        elif name == "seed_balance":
            self.seed_balance(Decimal(str(payload["amount"])), payload.get("asset", "USDC"))
        elif name == "add_income":
            self.add_income(
                payload["symbol"],
                payload["income_type"],
                Decimal(str(payload["amount"])),
                payload.get("time_ms"),
            )
        elif name == "position":
            return 200, self.position(payload["symbol"])
        elif name == "open_orders":
            return 200, self.open_orders(payload.get("symbol"))
        elif name == "open_algo_orders":
            return 200, self.open_algo_orders(payload.get("symbol"))
        elif name == "balance":
            return 200, {"balance": f"{self.balance(payload.get('asset', 'USDC')):f}"}
        else:
            return 404, {"error": f"unknown control {name!r}"}
        return 200, {}


def _opt_dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))
