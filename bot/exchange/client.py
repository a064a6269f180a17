"""ExchangeClient: every call the bot makes to Binance USDⓈ-M futures.

Reads, cancels, account settings and listenKey calls are retried (bounded)
on transient errors and 429s. Order creation is never blindly retried: an
unknown outcome (timeout, 5xx, -1006/-1007, or a reply that is not a
well-formed acknowledgement of this order) is resolved by querying the order's
own client id; it is adopted if found and resent with the same id only after
Binance confirmed it does not exist. Conditional orders (SL/TP) go to the Algo
endpoints, which the SDK has no methods for.

Every public method returns typed records of ``bot.domain.records`` (decoded once, in
``replies``/``wire``), and raises only ``ExchangeError`` types (``MalformedReply``
for a reply of the wrong shape).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.domain.enums import IncomeType
from bot.domain.records import (
    Account,
    AccountConfig,
    AlgoOrder,
    AlgoOrderRequest,
    Balance,
    CommissionRate,
    Income,
    Kline,
    Order,
    OrderRequest,
    Position,
    SymbolConfig,
    Trade,
)
from bot.domain.rules import SymbolRules
from bot.exchange import replies
from bot.exchange.errors import (
    BENIGN,
    DUPLICATE_CLIENT_ID_CODE,
    MARGIN_TYPE_HELD_CODES,
    ExchangeError,
    MalformedReply,
    NotFound,
    RateLimited,
    Rejected,
    SymbolNotTradable,
    Transient,
    UnknownOutcome,
)
from bot.exchange.orders import algo_params, order_params
from bot.exchange.rules import rules_from_exchange_info, tradable_usdc_perpetual
from bot.exchange.transport import Auth, RequestObserver, Transport
from bot.exchange.venues import Venue
from bot.files import write_atomic

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from requests.adapters import BaseAdapter

INCOME_PAGE = 1000  # Binance's max page size for /fapi/v1/income
MARGIN_TYPES = {"ISOLATED": "ISOLATED", "CROSSED": "CROSSED", "CROSS": "CROSSED"}
IDEMPOTENT = (Transient, RateLimited, UnknownOutcome)  # for cancels and account settings
USDC = "USDC"
Created = TypeVar("Created", Order, AlgoOrder)
Done = TypeVar("Done")
Checked = TypeVar("Checked")  # what a reply check returns
Params = Mapping[str, object]  # request parameters, before transport.wire_params


class ExchangeClient:
    """Binance USDⓈ-M futures over ``binance-futures-connector`` (see module doc)."""

    def __init__(
        self,
        venue: Venue,
        api_key: str,
        api_secret: str,
        *,
        timeout_s: float = 10,
        recv_window_ms: int = 5000,
        weight_budget_share: float = 0.8,
        cache_dir: Path | None = None,
        exchange_info_ttl_s: float = 3600,
        read_only: bool = False,
        on_alarm: Callable[[str, dict[str, object]], None] | None = None,
        on_secret: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        resolve_delay_s: float = 0.5,
        create_rounds: int = 3,
        adapter: BaseAdapter | None = None,
        on_request: RequestObserver | None = None,
        wall_s: Callable[[], float] = time.time,
    ) -> None:
        """``adapter``: a ``requests`` transport adapter for the venue's URL (the engine in
        this process, ``bot.sim.inprocess``); requests are signed and checked as ever.
        ``on_request(method, path, seconds)`` is told of every request's duration (metrics).
        ``wall_s``: the local clock that stamps signed requests (a backtest: the engine's)."""
        self.venue = venue
        self._on_secret = on_secret or (lambda secret: None)  # the redactor learns listenKeys
        self._transport = Transport(
            venue.rest,
            api_key,
            api_secret,
            timeout_s=timeout_s,
            recv_window_ms=recv_window_ms,
            weight_budget_share=weight_budget_share,
            read_only=read_only,
            on_alarm=on_alarm,
            sleep=sleep,
            adapter=adapter,
            on_request=on_request,
            wall_s=wall_s,
        )
        self._sleep = sleep
        self._cache_file = cache_dir / "exchange_info.json" if cache_dir else None
        self._info_ttl_s = exchange_info_ttl_s
        self._info: tuple[float, replies.JsonObject] | None = None  # (fetched at, epoch s; payload)
        self._resolve_delay_s = resolve_delay_s
        self._create_rounds = create_rounds

    # --- bookkeeping ---------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self._transport.read_only

    @property
    def used_weight_1m(self) -> int:
        """Last ``X-MBX-USED-WEIGHT-1M`` seen (the IP's weight in the current minute)."""
        return self._transport.used_weight_1m

    @property
    def offset_ms(self) -> int:
        """Server time minus local time, as last measured (at start and after every -1021)."""
        return self._transport.offset_ms

    @property
    def writes_sent(self) -> int:
        """Signed non-GET requests sent so far (orders, cancels, account settings)."""
        return self._transport.writes_sent

    @property
    def weight_spent(self) -> int:
        """Total request weight this client spent (from the headers), for benchmarks."""
        return self._transport.weight_spent

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, method: str, path: str, params: Params | None = None, *, auth: Auth) -> object:
        return self._transport.retrying(
            lambda: self._transport.request(method, path, params, auth=auth)
        )

    def _write(
        self, method: str, path: str, params: Params, check: Callable[[object], Checked]
    ) -> Checked:
        """Send once; a reply that ``check`` refuses is an unknown outcome, not a success."""
        reply = self._transport.request(method, path, params, auth=Auth.SIGNED)
        try:
            return check(reply)
        except MalformedReply as malformed:
            raise UnknownOutcome(f"{method} {path}: {malformed}") from None

    # --- time and market data ----------------------------------------------------------

    def sync_time(self) -> int:
        """Measure and apply the server-time offset (ms). Also re-run after every -1021."""
        return self._transport.retrying(self._transport.sync_time)

    def exchange_info(self) -> replies.JsonObject:
        """exchangeInfo, cached in memory and in ``cache_dir`` for ``exchange_info_ttl_s``.

        A cron run (a new process each minute) reads the file instead of the API.
        """
        now = time.time()
        if self._info is None and self._cache_file and self._cache_file.exists():
            try:
                cached = json.loads(self._cache_file.read_text())
                cached_info = replies.obj(cached["exchange_info"], "cached exchangeInfo")
                replies.symbols(cached_info, "cached exchangeInfo")
                self._info = (float(cached["fetched_at"]), cached_info)
            except (ValueError, KeyError, TypeError, OSError, MalformedReply):
                log.warning("ignoring unreadable exchangeInfo cache %s", self._cache_file)
        if self._info is not None and now - self._info[0] < self._info_ttl_s:
            return self._info[1]
        info = replies.obj(
            self._read("GET", "/fapi/v1/exchangeInfo", auth=Auth.PUBLIC), "exchangeInfo"
        )
        replies.symbols(info, "exchangeInfo")
        self._info = (now, info)
        if self._cache_file:
            try:
                record = {"fetched_at": now, "exchange_info": info}
                write_atomic(self._cache_file, json.dumps(record), sync_directory=False)
            except OSError as error:  # the cache saves weight; its loss costs nothing else
                log.warning("cannot write the exchangeInfo cache %s: %s", self._cache_file, error)
        return info

    def symbol_rules(self, symbol: str) -> SymbolRules:
        """Rules of a USDC-margined perpetual that is trading; else ``SymbolNotTradable``."""
        entry = replies.symbols(self.exchange_info(), "exchangeInfo").get(symbol)
        if entry is None:
            raise SymbolNotTradable(f"symbol {symbol} is not listed on {self.venue.rest}")
        if not tradable_usdc_perpetual(entry):
            raise SymbolNotTradable(
                f"symbol {symbol} is not a trading USDC-margined perpetual (contractType="
                f"{entry.get('contractType')}, status={entry.get('status')},"
                f" marginAsset={entry.get('marginAsset')}); configure a *USDC perpetual"
            )
        try:
            return rules_from_exchange_info(entry)
        except (ValueError, ArithmeticError, KeyError, TypeError, AttributeError) as error:
            raise MalformedReply(f"exchangeInfo {symbol}: unusable filters: {error}") from None

    def klines(self, symbol: str, interval: str, limit: int) -> list[Kline]:
        """Candles, oldest first (the last one is usually still open)."""
        params = {"symbol": symbol, "interval": interval, "limit": limit}
        rows = self._read("GET", "/fapi/v1/klines", params, auth=Auth.PUBLIC)
        return replies.klines(rows, f"klines {symbol}")

    def mark_price(self, symbol: str) -> Decimal:
        """A finite positive mark price, or ``MalformedReply``."""
        data = self._read("GET", "/fapi/v1/premiumIndex", {"symbol": symbol}, auth=Auth.PUBLIC)
        return replies.number(
            replies.obj(data, "premiumIndex"), "markPrice", f"premiumIndex {symbol}", positive=True
        )

    def last_price(self, symbol: str) -> Decimal:
        """A finite positive last (contract) price, or ``MalformedReply``."""
        data = self._read("GET", "/fapi/v1/ticker/price", {"symbol": symbol}, auth=Auth.PUBLIC)
        return replies.number(
            replies.obj(data, "ticker/price"), "price", f"ticker/price {symbol}", positive=True
        )

    # --- account reads -----------------------------------------------------------------

    def account(self) -> Account:
        return replies.account(self._read("GET", "/fapi/v3/account", auth=Auth.SIGNED), "account")

    def usdc_balance(self) -> Balance:
        """The USDC entry of ``v3/account`` assets; the top-level totals are USDT-only.
        An account that never held USDC gets an all-zero balance."""
        balance = self.account().balance(USDC)
        return balance or Balance(USDC, Decimal(0), Decimal(0), Decimal(0))

    def position_risk(self) -> list[Position]:
        """Every position row (one-way mode: one per symbol; flat ones have amount 0)."""
        rows = self._read("GET", "/fapi/v3/positionRisk", auth=Auth.SIGNED)
        return replies.positions(rows, "positionRisk")

    def account_config(self) -> AccountConfig:
        """Permissions (canTrade, canWithdraw) and modes (hedge, multi-assets); weight 5."""
        data = self._read("GET", "/fapi/v1/accountConfig", auth=Auth.SIGNED)
        return replies.account_config(data, "accountConfig")

    def symbol_configs(self, symbol: str | None = None) -> list[SymbolConfig]:
        """Margin type and leverage per symbol (positionRisk v3 has neither); weight 5."""
        data = self._read("GET", "/fapi/v1/symbolConfig", {"symbol": symbol}, auth=Auth.SIGNED)
        return replies.symbol_configs(data, "symbolConfig")

    def commission_rate(self, symbol: str) -> CommissionRate:
        """The account's maker/taker rates on ``symbol``; weight 20."""
        data = self._read("GET", "/fapi/v1/commissionRate", {"symbol": symbol}, auth=Auth.SIGNED)
        return replies.commission_rate(data, f"commissionRate {symbol}")

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open regular orders (weight 1 with a symbol, 40 without). Algo orders are not here."""
        rows = self._read("GET", "/fapi/v1/openOrders", {"symbol": symbol}, auth=Auth.SIGNED)
        return replies.orders(rows, "openOrders")

    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        """Untriggered conditional (SL/TP) orders."""
        data = self._read("GET", "/fapi/v1/openAlgoOrders", {"symbol": symbol}, auth=Auth.SIGNED)
        return replies.algo_orders(data, "openAlgoOrders")

    def income(
        self,
        start_time_ms: int,
        income_types: Iterable[IncomeType] = (
            IncomeType.REALIZED_PNL,
            IncomeType.COMMISSION,
            IncomeType.FUNDING_FEE,
        ),
    ) -> list[Income]:
        """Income records since ``start_time_ms`` of the given types, oldest first.

        One unfiltered query per page (weight 30 each) instead of one per type;
        pages overlap at the boundary millisecond, so records are de-duplicated.
        """
        wanted = set(income_types)
        seen: set[tuple[int, str, str]] = set()
        records: list[Income] = []
        start = start_time_ms
        while True:
            params = {"startTime": start, "limit": INCOME_PAGE}
            page = replies.income(
                self._read("GET", "/fapi/v1/income", params, auth=Auth.SIGNED), "income"
            )
            fresh = 0
            for record in page:
                key = (record.tran_id, record.income_type, record.symbol)
                if key in seen:
                    continue
                seen.add(key)
                fresh += 1
                if record.income_type in wanted:
                    records.append(record)
            if len(page) < INCOME_PAGE or fresh == 0:
                return records
            start = page[-1].time_ms

    # --- orders ----------------------------------------------------------------------

    def place_order(self, order: OrderRequest) -> Order:
        """``POST /fapi/v1/order`` with our ``newClientOrderId``, never duplicated.

        Unknown outcome → query the id; adopt the order if it exists, resend the same
        id only after a confirmed -2013. -4116 (id already open) → adopt.
        """
        if not isinstance(order, OrderRequest):  # a stop sent here would be a MARKET order
            raise TypeError(
                f"place_order takes an OrderRequest, not {type(order).__name__}; a conditional"
                " order goes to place_algo_order (-4120 on /fapi/v1/order)"
            )
        client_id, symbol = order.client_id, order.symbol
        if not client_id:
            raise ValueError("place_order needs a client id (recorded before sending)")
        params = order_params(order)
        what = f"order {symbol} {client_id}"
        return self._create(
            lambda: self._write(
                "POST",
                "/fapi/v1/order",
                params,
                lambda reply: replies.order(reply, what, client_id=client_id),
            ),
            lambda: self.query_order(symbol, client_id),
            what,
        )

    def place_algo_order(self, order: AlgoOrderRequest) -> AlgoOrder:
        """``POST /fapi/v1/algoOrder`` (CONDITIONAL) with our ``clientAlgoId``; same rules as
        ``place_order``, resolved through ``GET /fapi/v1/algoOrder?clientAlgoId=``."""
        if not isinstance(order, AlgoOrderRequest):
            raise TypeError(
                f"place_algo_order takes an AlgoOrderRequest, not {type(order).__name__}"
            )
        client_algo_id = order.client_id
        if not client_algo_id:
            raise ValueError("place_algo_order needs a client algo id")
        params = algo_params(order)
        what = f"algo order {order.symbol} {client_algo_id}"
        return self._create(
            lambda: self._write(
                "POST",
                "/fapi/v1/algoOrder",
                params,
                lambda reply: replies.algo_order(reply, what, client_algo_id=client_algo_id),
            ),
            lambda: self.query_algo_order(client_algo_id),
            what,
        )

    def _create(
        self, send: Callable[[], Created], find: Callable[[], Created | None], what: str
    ) -> Created:
        for _ in range(self._create_rounds):
            try:
                # A 429 is a definite "not executed": waiting and resending is safe.
                return self._transport.retrying(send, retry_on=(RateLimited,))
            except UnknownOutcome as unknown:
                log.warning("%s: %s; querying its client id before anything else", what, unknown)
                existing = self._find_after_unknown(find, what)
            except Rejected as rejected:
                if rejected.code != DUPLICATE_CLIENT_ID_CODE:
                    raise
                log.warning("%s: -4116 duplicate client id; adopting the open order", what)
                existing = self._find_after_unknown(find, what)
                if existing is None:
                    raise
            if existing is not None:
                log.warning("%s: found on the exchange (status %s); adopted", what, existing.status)
                return existing
            log.warning("%s: confirmed absent; resending with the same client id", what)
        raise UnknownOutcome(f"{what}: outcome still unknown after {self._create_rounds} attempts")

    def _find_after_unknown(self, find: Callable[[], Created | None], what: str) -> Created | None:
        self._sleep(self._resolve_delay_s)  # let the matching engine catch up before -2013 counts
        try:
            return find()
        except ExchangeError as error:
            raise UnknownOutcome(
                f"{what}: sent, outcome unknown and the query failed: {error}"
            ) from error

    def query_order(self, symbol: str, client_id: str) -> Order | None:
        """The order with this client id (any status), or None if Binance has none (-2013)."""
        params = {"symbol": symbol, "origClientOrderId": client_id}
        try:
            reply = self._read("GET", "/fapi/v1/order", params, auth=Auth.SIGNED)
        except NotFound:
            return None
        return replies.order(reply, f"order {symbol} {client_id}", client_id=client_id)

    def query_order_by_id(self, symbol: str, order_id: int) -> Order | None:
        """An order by exchange id: a triggered algo order's child is known only by its id."""
        params = {"symbol": symbol, "orderId": order_id}
        try:
            reply = self._read("GET", "/fapi/v1/order", params, auth=Auth.SIGNED)
        except NotFound:
            return None
        return replies.order(reply, f"order {symbol} #{order_id}", order_id=order_id)

    def user_trades(self, symbol: str, order_id: int) -> list[Trade]:
        """The fills of one order (weight 5), with realised PnL and commission."""
        params = {"symbol": symbol, "orderId": order_id}
        rows = self._read("GET", "/fapi/v1/userTrades", params, auth=Auth.SIGNED)
        return replies.trades(rows, f"userTrades {symbol} #{order_id}")

    def query_algo_order(self, client_algo_id: str) -> AlgoOrder | None:
        params = {"clientAlgoId": client_algo_id}
        try:
            reply = self._read("GET", "/fapi/v1/algoOrder", params, auth=Auth.SIGNED)
        except NotFound:
            return None
        what = f"algo order {client_algo_id}"
        return replies.algo_order(reply, what, client_algo_id=client_algo_id)

    def cancel_order(self, symbol: str, client_id: str) -> Order | None:
        """Cancel by client id; None when it is already gone (filled, cancelled, unknown)."""
        params = {"symbol": symbol, "origClientOrderId": client_id}
        what = f"cancel {symbol} {client_id}"
        return self._cancel(
            "/fapi/v1/order", params, lambda r: replies.order(r, what, client_id=client_id)
        )

    def cancel_algo_order(self, client_algo_id: str) -> bool:
        """Cancel by client algo id; False when it is already gone (triggered, cancelled)."""
        what = f"cancel algo order {client_algo_id}"
        return (
            self._cancel(
                "/fapi/v1/algoOrder",
                {"clientAlgoId": client_algo_id},
                lambda r: replies.algo_cancel(r, what, client_algo_id=client_algo_id),
            )
            is not None
        )

    def _cancel(self, path: str, params: Params, check: Callable[[object], Done]) -> Done | None:
        """A cancel whose reply is not its acknowledgement is an unknown outcome: it is
        sent again (idempotent), and -2011 then says the order is gone."""
        try:
            return self._idempotent("DELETE", path, params, check)
        except NotFound:
            return None

    def cancel_all(self, symbol: str) -> None:
        """Cancel both books: regular orders do not include untriggered algo orders."""
        for path in ("/fapi/v1/allOpenOrders", "/fapi/v1/algoOpenOrders"):
            check = lambda reply, where=path: replies.done(reply, where)  # noqa: E731
            self._idempotent("DELETE", path, {"symbol": symbol}, check)

    def _idempotent(
        self, method: str, path: str, params: Params, check: Callable[[object], Checked]
    ) -> Checked:
        return self._transport.retrying(
            lambda: self._write(method, path, params, check), retry_on=IDEMPOTENT
        )

    # --- account setup -----------------------------------------------------------------

    def setup_account(
        self, symbols: Iterable[str], *, leverage: int, margin_type: str
    ) -> list[str]:
        """One-way position mode, margin type and leverage per symbol; safe to repeat.

        A hedge-mode account that cannot be switched (open positions/orders) is refused
        with a clear message. A read-only client only checks the position mode.
        Returns the symbols whose margin type Binance would not change now because a
        position or open orders hold it (-4048/-4047): nothing to fail the run on (that
        position still needs its stop), only a setting to apply on a later run.
        """
        wire_margin = MARGIN_TYPES.get(margin_type.upper())
        if wire_margin is None:
            raise ValueError(f"margin type {margin_type!r} is not ISOLATED or CROSSED")
        if self.read_only:
            mode = self._read("GET", "/fapi/v1/positionSide/dual", auth=Auth.SIGNED)
            if replies.flag(mode, "dualSidePosition", "positionSide/dual"):
                raise ExchangeError(_HEDGE_MODE_MESSAGE)
            return []
        try:
            self._setting("/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
        except Rejected as error:
            reason = f"{_HEDGE_MODE_MESSAGE} Binance said: {error.code} {error.message}"
            raise ExchangeError(reason) from error
        held = []
        for symbol in symbols:
            try:
                self._setting("/fapi/v1/marginType", {"symbol": symbol, "marginType": wire_margin})
            except Rejected as error:
                if error.code not in MARGIN_TYPE_HELD_CODES:
                    raise
                held.append(symbol)
            self._setting("/fapi/v1/leverage", {"symbol": symbol, "leverage": leverage})
        return held

    def _setting(self, path: str, params: Params) -> None:
        try:
            self._idempotent("POST", path, params, lambda reply: replies.obj(reply, path))
        except Rejected as error:
            if error.code not in BENIGN:  # -4046 / -4059: already set
                raise

    # --- user data stream ---------------------------------------------------------------

    def new_listen_key(self) -> str:
        """POST listenKey: the active key (extended) or a new one, registered as a secret."""
        key = replies.listen_key(self._user_stream("POST", {}), "listenKey")
        self._on_secret(key)
        return key

    def keepalive_listen_key(self, key: str) -> None:
        """Extend the key 60 min. Raises ``NotFound`` (-1125) when it expired: POST a new one."""
        self._user_stream("PUT", {"listenKey": key})

    def close_listen_key(self, key: str) -> None:
        self._user_stream("DELETE", {"listenKey": key})

    def user_stream_url(self, listen_key: str) -> str:
        return self.venue.user_stream_url(listen_key)

    def _user_stream(self, method: str, params: Params) -> replies.JsonObject:
        reply = self._transport.retrying(
            lambda: self._transport.request(method, "/fapi/v1/listenKey", params, auth=Auth.KEY)
        )
        return replies.obj(reply, f"{method} listenKey")


_HEDGE_MODE_MESSAGE = (
    "The account is in hedge (dual-side) position mode; this bot trades one-way mode only."
    " Close positions and open orders, then switch to one-way mode in Binance's preferences."
)
