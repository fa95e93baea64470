"""Loopback Binance USD-M replay server: serves a DuckDB file's data on 127.0.0.1 at a chosen speed.

REST (Binance shapes): ``/fapi/v1/exchangeInfo``, ``/fapi/v1/openInterest``, ``/futures/data/openInterestHist``,
``/futures/data/takerlongshortRatio``, ``/fapi/v1/fundingRate``, ``/fapi/v1/klines``, plus what Nautilus's Binance instrument provider asks for
(``/fapi/v2/account``, ``/fapi/v3/positionRisk``: a blank account) and ``/replay/status`` (clock, done).
WebSocket: ``/stream?streams=a/b`` (combined ``{"stream", "data"}`` messages, ``SUBSCRIBE`` supported) and
``/ws/<stream>`` (raw) for ``<symbol>@kline_<interval>``, ``<symbol>@markPrice``, ``<symbol>@forceOrder``.

The replay clock starts at ``start_ms`` (data before it is history, served by the REST history endpoints only)
and walks the data's instants in time order: a bar close sends the closed kline and a mark update; each
funding time and each OI instant sends a mark update too (live, they come every 1-3 s). The mark is the
last of: mark bars' closes (else last-price closes) and the mark implied by the OI rows (value / OI);
``r``/``T`` = the next funding row. An OI row becomes
the ``/fapi/v1/openInterest`` answer; a liquidation is pushed on ``@forceOrder``. ``speed`` = replay seconds
per wall second (0 = as fast as possible). With ``lossless`` (default) the clock does not pass an OI row
until a poll *after* the one that returned it arrived — a sequential poller has then published it — so no
OI row is skipped and each one reaches the node before the next bar. Replay starts once every stream in
``wait_streams`` has a subscriber, with the mark update of the last history bar (a live subscriber gets the
current mark at once). ``faults`` (a list, consumed in order) injects 'http429', 'malformed'
(answers of the next OI polls) and 'drop_ws:N' (closes every WebSocket before the N-th live bar, then waits
for the clients to resubscribe).
Times on the wire are epoch ms; prices USDT; sizes base.
"""

from __future__ import annotations

import asyncio
import json
import threading

import numpy as np
from aiohttp import WSMsgType, web

from liq_signals.live.replay_data import ReplayData
from liq_signals.nautilus.instruments import contract_spec

MARK, OI, LIQ, KLINE = 0, 1, 2, 3  # the order of same-instant events: observations before the bar


def _fmt(v: float, decimals: int) -> str:
    return "0" if v != v else f"{v:.{decimals}f}"


class ReplayServer:
    """See module doc. Run it in a thread with :class:`ReplayServerThread` or await ``start``/``stop``."""

    def __init__(
        self,
        data: ReplayData,
        start_ms: int | None = None,
        end_ms: int | None = None,
        speed: float = 0.0,
        lossless: bool = True,
        wait_streams: tuple[str, ...] = (),
        confirm_timeout_s: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.data, self.speed, self.lossless = data, float(speed), lossless
        self.host, self.port = host, port
        self.sym = data.symbol.upper()
        self.spec = contract_spec(self.sym)
        self.pd = self.spec.price_precision
        b = data.bars
        self.start_ms = int(start_ms) if start_ms is not None else int(b["open_ms"].iloc[0])
        self.end_ms = int(end_ms) if end_ms is not None else int(b["close_ms"].iloc[-1]) + 1  # last kline goes out then
        self.clock_ms = self.start_ms - 1
        self.wait_streams = tuple(wait_streams)
        self.confirm_timeout_s = confirm_timeout_s
        self.faults: list[str] = []
        self.done = False
        self.sent = {"kline": 0, "markPrice": 0, "forceOrder": 0, "oi_rows": 0}
        self.oi_unconfirmed = 0  # rows the clock passed without a confirming poll (lossless timeout)
        self.ws_drops = 0
        self.retry_gaps_s: list[float] = []  # wall seconds from each injected OI fault to the next OI request
        self._fault_at: float | None = None
        self._subs: dict[web.WebSocketResponse, tuple[set[str], bool]] = {}
        self._oi_times = data.open_interest["time_ms"].to_numpy(np.int64)
        self._mark_t, self._mark_p = self._mark_series()
        self._served = self._confirmed = -1
        self._cond: asyncio.Condition | None = None
        self._runner = None
        self._task = None

    # ---------------------------------------------------------------------------------- schedule
    def _schedule(self) -> list[tuple[int, int, int]]:
        """(time_ms, kind, row) for every instant in [start_ms, end_ms], in time order."""
        d = self.data
        # a closed kline goes out at its close instant (close time + 1 ms), after the observations stamped then
        ev = [(int(t) + 1, KLINE, i) for i, t in enumerate(d.bars["close_ms"])]
        ev += [(int(t), OI, i) for i, t in enumerate(self._oi_times)]
        marks = set(int(t) for t in d.funding["time_ms"]) | set(int(t) for t in self._oi_times)
        ev += [(t, MARK, 0) for t in marks]  # a mark update at each funding time and OI instant
        ev += [(int(t), LIQ, i) for i, t in enumerate(d.liquidations["time_ms"])]
        return sorted(e for e in ev if self.start_ms <= e[0] <= self.end_ms)

    def _oi_index(self) -> int:
        return int(np.searchsorted(self._oi_times, self.clock_ms, side="right")) - 1

    # ---------------------------------------------------------------------------------- messages
    def _kline_msg(self, i: int) -> dict:
        r = self.data.bars.iloc[i]
        p, q = self.pd, self.spec.size_precision
        return {
            "e": "kline",
            "E": int(r.close_ms),
            "s": self.sym,
            "k": {
                "t": int(r.open_ms),
                "T": int(r.close_ms),
                "s": self.sym,
                "i": self.data.interval,
                "f": 0,
                "L": 0,
                "o": _fmt(r.open, p),
                "c": _fmt(r.close, p),
                "h": _fmt(r.high, p),
                "l": _fmt(r.low, p),
                "v": _fmt(r.volume, q),
                "n": 0,
                "x": True,
                "q": "0",
                "V": _fmt(r.taker_buy_volume, q),
                "Q": "0",
                "B": "0",
            },
        }

    def _mark_series(self) -> tuple[np.ndarray, np.ndarray]:
        """(time_ms, mark USDT) sorted: mark bars' closes when the DB has them, else last-price closes, plus the
        mark implied by each OI row (value / OI: the metrics file values OI at the mark of its instant)."""
        d = self.data
        if len(d.mark):
            t, p = d.mark["close_ms"].to_numpy(np.int64), d.mark["close"].to_numpy(float)
        else:
            t, p = d.bars["close_ms"].to_numpy(np.int64), d.bars["close"].to_numpy(float)
        oi = d.open_interest
        with np.errstate(divide="ignore", invalid="ignore"):
            implied = oi["open_interest_value"].to_numpy(float) / oi["open_interest"].to_numpy(float)
        ok = np.isfinite(implied) & (implied > 0)
        t = np.concatenate([t, self._oi_times[ok]])
        p = np.concatenate([p, implied[ok]])
        order = np.argsort(t, kind="stable")
        return t[order], p[order]

    def _mark_msg(self, t: int) -> dict:
        """The mark update at ``t`` ms: the last point of the mark series at or before ``t``; the rate and time
        of the next funding after ``t``."""
        d = self.data
        j = int(np.searchsorted(self._mark_t, t, side="right")) - 1
        mark = float(self._mark_p[max(j, 0)])
        ft = d.funding["time_ms"].to_numpy(np.int64)
        k = int(np.searchsorted(ft, t, side="right"))
        rate, nxt = (float(d.funding["rate"].iloc[k]), int(ft[k])) if k < len(ft) else (0.0, t + 8 * 3_600_000)
        return {
            "e": "markPriceUpdate",
            "E": t,
            "s": self.sym,
            "p": _fmt(mark, self.pd),
            "i": _fmt(mark, self.pd),
            "P": _fmt(mark, self.pd),
            "r": f"{rate:.8f}",
            "T": nxt,
        }

    def _liq_msg(self, i: int) -> dict:
        r = self.data.liquidations.iloc[i]
        q = self.spec.size_precision
        return {
            "e": "forceOrder",
            "E": int(r.time_ms),
            "o": {
                "s": self.sym,
                "S": "SELL" if r.side == "long" else "BUY",
                "o": "LIMIT",
                "f": "IOC",
                "q": _fmt(r.quantity, q),
                "p": _fmt(r.price, self.pd),
                "ap": _fmt(r.price, self.pd),
                "X": "FILLED",
                "l": _fmt(r.quantity, q),
                "z": _fmt(r.quantity, q),
                "T": int(r.time_ms),
            },
        }

    async def _broadcast(self, stream: str, data: dict) -> None:
        for ws, (streams, combined) in list(self._subs.items()):
            if stream in streams and not ws.closed:
                try:
                    await ws.send_str(json.dumps({"stream": stream, "data": data} if combined else data))
                except (ConnectionError, RuntimeError):
                    self._subs.pop(ws, None)

    # ---------------------------------------------------------------------------------- replay
    async def _replay(self) -> None:
        loop = asyncio.get_running_loop()
        await self._wait_for_streams(None)
        sl = self.sym.lower()
        before = np.nonzero(self.data.bars["close_ms"].to_numpy(np.int64) < self.start_ms)[0]
        if len(before):  # like Binance, a new subscriber gets the current mark at once
            await self._broadcast(f"{sl}@markPrice", self._mark_msg(int(self.data.bars["close_ms"].iloc[before[-1]])))
        t0_wall = loop.time()
        for t, kind, i in self._schedule():
            if self.speed > 0:
                delay = t0_wall + (t - self.start_ms) / 1000.0 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.clock_ms = t
            if kind == KLINE:
                f = self.faults[0] if self.faults else ""
                if f.startswith("drop_ws") and self.sent["kline"] >= int(f.partition(":")[2] or 0):
                    self.faults.pop(0)
                    for ws in list(self._subs):
                        await ws.close()
                    self._subs.clear()
                    self.ws_drops += 1
                    await self._wait_for_streams(30.0)  # the clients reconnect and resubscribe
                await self._broadcast(f"{sl}@kline_{self.data.interval}", self._kline_msg(i))
                await self._broadcast(f"{sl}@markPrice", self._mark_msg(t))
                self.sent["kline"] += 1
                self.sent["markPrice"] += 1
            elif kind == MARK:
                await self._broadcast(f"{sl}@markPrice", self._mark_msg(t))
                self.sent["markPrice"] += 1
            elif kind == OI:
                self.sent["oi_rows"] += 1
                if self.lossless:
                    await self._wait_confirmed(i)
            else:
                await self._broadcast(f"{sl}@forceOrder", self._liq_msg(i))
                self.sent["forceOrder"] += 1
            await asyncio.sleep(0)
        self.done = True

    async def _wait_for_streams(self, timeout_s: float | None) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while any(not any(s in st for st, _ in self._subs.values()) for s in self.wait_streams):
            if timeout_s is not None and loop.time() - t0 > timeout_s:
                return
            await asyncio.sleep(0.01)

    async def _wait_confirmed(self, i: int) -> None:
        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: self._confirmed >= i), self.confirm_timeout_s)
            except TimeoutError:
                self.oi_unconfirmed += 1

    # ---------------------------------------------------------------------------------- REST
    async def _open_interest(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        if self._fault_at is not None:
            self.retry_gaps_s.append(loop.time() - self._fault_at)
            self._fault_at = None
        if self.faults and self.faults[0] in ("http429", "malformed"):
            f = self.faults.pop(0)
            self._fault_at = loop.time()
            if f == "http429":
                return web.json_response(
                    {"code": -1003, "msg": "Too many requests"}, status=429, headers={"Retry-After": "1"}
                )
            return web.Response(text='{"openInterest": "1.0", "symbol"', content_type="application/json")
        j = self._oi_index()
        if j < 0:
            return web.json_response({"code": -1121, "msg": "no data yet"}, status=400)
        async with self._cond:
            if self._served == j and self._confirmed < j:
                self._confirmed = j
                self._cond.notify_all()
            self._served = j
        r = self.data.open_interest.iloc[j]
        return web.json_response(
            {
                "openInterest": _fmt(r.open_interest, self.spec.size_precision),
                "symbol": self.sym,
                "time": int(r.time_ms),
            }
        )

    def _window(self, request, times: np.ndarray, max_limit: int, default_limit: int) -> np.ndarray:
        q = request.query
        lo = int(q.get("startTime", 0))
        hi = min(int(q.get("endTime", 2**62)), self.clock_ms)
        limit = min(int(q.get("limit", default_limit)), max_limit)
        idx = np.nonzero((times >= lo) & (times <= hi))[0]
        return idx[:limit] if "startTime" in q else idx[-limit:]

    async def _oi_hist(self, request):
        d = self.data.open_interest
        idx = self._window(request, self._oi_times, 500, 30)
        return web.json_response(
            [
                {
                    "symbol": self.sym,
                    "sumOpenInterest": f"{d.open_interest.iloc[i]:.8f}",
                    "sumOpenInterestValue": f"{d.open_interest_value.iloc[i]:.8f}",
                    "timestamp": int(self._oi_times[i]),
                }
                for i in idx
            ]
        )

    async def _taker_ratio(self, request):
        d = self.data.open_interest
        idx = self._window(request, self._oi_times, 500, 30)
        return web.json_response(
            [
                {
                    "buySellRatio": f"{d.taker_ratio.iloc[i]:.8f}",
                    "buyVol": "0",
                    "sellVol": "0",
                    "timestamp": int(self._oi_times[i]),
                }
                for i in idx
                if d.taker_ratio.iloc[i] == d.taker_ratio.iloc[i]
            ]
        )

    async def _funding(self, request):
        d = self.data.funding
        idx = self._window(request, d["time_ms"].to_numpy(np.int64), 1000, 100)
        return web.json_response(
            [
                {
                    "symbol": self.sym,
                    "fundingTime": int(d.time_ms.iloc[i]),
                    "fundingRate": f"{d.rate.iloc[i]:.8f}",
                    "markPrice": _fmt(d.mark_price.iloc[i], 8),
                }
                for i in idx
            ]
        )

    async def _klines(self, request):
        b = self.data.bars
        idx = self._window(request, b["close_ms"].to_numpy(np.int64), 1500, 500)
        p, q = self.pd, self.spec.size_precision
        return web.json_response(
            [
                [
                    int(b.open_ms.iloc[i]),
                    _fmt(b.open.iloc[i], p),
                    _fmt(b.high.iloc[i], p),
                    _fmt(b.low.iloc[i], p),
                    _fmt(b.close.iloc[i], p),
                    _fmt(b.volume.iloc[i], q),
                    int(b.close_ms.iloc[i]),
                    "0",
                    0,
                    _fmt(b.taker_buy_volume.iloc[i], q),
                    "0",
                    "0",
                ]
                for i in idx
            ]
        )

    async def _exchange_info(self, request):
        s = self.spec
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": max(self.clock_ms, 0),
                "rateLimits": [],
                "exchangeFilters": [],
                "assets": [],
                "symbols": [
                    {
                        "symbol": self.sym,
                        "pair": self.sym,
                        "contractType": "PERPETUAL",
                        "deliveryDate": 4133404800000,
                        "onboardDate": 1569398400000,
                        "status": "TRADING",
                        "maintMarginPercent": "2.5000",
                        "requiredMarginPercent": "5.0000",
                        "baseAsset": s.base,
                        "quoteAsset": "USDT",
                        "marginAsset": "USDT",
                        "pricePrecision": s.price_precision,
                        "quantityPrecision": s.size_precision,
                        "baseAssetPrecision": 8,
                        "quotePrecision": 8,
                        "underlyingType": "COIN",
                        "underlyingSubType": [],
                        "triggerProtect": "0.0500",
                        "liquidationFee": "0.012500",
                        "marketTakeBound": "0.05",
                        "orderTypes": ["LIMIT", "MARKET"],
                        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                        "filters": [
                            {
                                "filterType": "PRICE_FILTER",
                                "minPrice": s.price_tick,
                                "maxPrice": "4529764",
                                "tickSize": s.price_tick,
                            },
                            {
                                "filterType": "LOT_SIZE",
                                "minQty": s.min_qty,
                                "maxQty": s.max_qty or "100000",
                                "stepSize": s.size_step,
                            },
                            {
                                "filterType": "MARKET_LOT_SIZE",
                                "minQty": s.min_qty,
                                "maxQty": s.max_qty or "100000",
                                "stepSize": s.size_step,
                            },
                            {"filterType": "MIN_NOTIONAL", "notional": f"{s.min_notional_usdt:g}"},
                        ],
                    }
                ],
            }
        )

    async def _account(self, request):
        return web.json_response(
            {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "updateTime": 0, "assets": []}
        )

    async def _position_risk(self, request):
        return web.json_response([])

    async def _status(self, request):
        return web.json_response(
            {
                "clock_ms": self.clock_ms,
                "done": self.done,
                "start_ms": self.start_ms,
                "end_ms": self.end_ms,
                "sent": self.sent,
                "oi_unconfirmed": self.oi_unconfirmed,
            }
        )

    # ---------------------------------------------------------------------------------- WebSocket
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if "stream" in request.match_info:
            streams, combined = {request.match_info["stream"]}, False
        else:
            streams = {s for s in request.query.get("streams", "").split("/") if s}
            combined = True
        self._subs[ws] = (streams, combined)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except json.JSONDecodeError:
                    continue
                params = {str(p) for p in req.get("params", [])}
                if req.get("method") == "SUBSCRIBE":
                    streams |= params
                elif req.get("method") == "UNSUBSCRIBE":
                    streams -= params
                await ws.send_str(json.dumps({"result": None, "id": req.get("id")}))
        finally:
            self._subs.pop(ws, None)
        return ws

    # ---------------------------------------------------------------------------------- lifecycle
    async def start(self) -> int:
        """Bind and start serving and replaying; return the port."""
        self._cond = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/fapi/v1/exchangeInfo", self._exchange_info)
        app.router.add_get("/fapi/v1/openInterest", self._open_interest)
        app.router.add_get("/futures/data/openInterestHist", self._oi_hist)
        app.router.add_get("/futures/data/takerlongshortRatio", self._taker_ratio)
        app.router.add_get("/fapi/v1/fundingRate", self._funding)
        app.router.add_get("/fapi/v1/klines", self._klines)
        app.router.add_get("/fapi/v2/account", self._account)
        app.router.add_get("/fapi/v3/positionRisk", self._position_risk)
        app.router.add_get("/fapi/v2/positionRisk", self._position_risk)
        app.router.add_get("/replay/status", self._status)
        app.router.add_get("/stream", self._ws)
        app.router.add_get("/ws/{stream}", self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(self._replay())
        return self.port

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for ws in list(self._subs):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()


class ReplayServerThread:
    """Runs a :class:`ReplayServer` on its own event loop in a daemon thread (``start`` → port, ``stop``)."""

    def __init__(self, server: ReplayServer):
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="replay-server", daemon=True)

    def start(self, timeout: float = 10.0) -> int:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout)

    @property
    def base_http(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def base_ws(self) -> str:
        return f"ws://{self.server.host}:{self.server.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout)
