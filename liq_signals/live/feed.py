"""``BinanceFeed``: the network side of the live client, without Nautilus (shared by the Nautilus data client
and the recorder).

Polls ``GET {base_url_http}/fapi/v1/openInterest?symbol=`` per symbol every ``oi_poll_secs`` (sequentially:
the next request only after the previous answer was handled) and streams ``<symbol>@markPrice`` /
``<symbol>@forceOrder`` from ``{base_url_ws}/stream?streams=...``. Handlers receive parsed records
(:mod:`liq_signals.live.parse`): ``on_open_interest(symbol, OIPoint, mark)`` only for a ``time`` after the
last one (duplicates are counted and dropped; a step over ``gap_ns`` is logged as a gap) with ``mark`` = the
mark price (USDT) of the last mark update at or before the OI ``time`` (None when unknown); with the mark
stream on, the poller first waits (at most ``mark_wait_secs``) for a mark update at or after that time, so the
mark is the one in force at the OI instant, not a stale one; and ``taker_ratio`` = with ``cfg.taker_ratio``,
the ``buySellRatio`` of the latest ``/futures/data/takerlongshortRatio`` 5-minute row stamped at or before the OI
time and less than 5 minutes before it (else None). ``on_mark(symbol, MarkUpdate)``,
``on_force_order(ForceOrder)``. Faults: 429/418 → wait ``Retry-After`` seconds (else exponential backoff from
``backoff_secs`` to ``max_backoff_secs``); malformed JSON → logged, skipped; a dropped WebSocket is reconnected
after the backoff. ``stats`` counts all of it.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
from collections import deque

import aiohttp

from liq_signals.live.parse import FeedFormatError, parse_force_order, parse_mark_price, parse_open_interest

RETRY_STATUSES = (429, 418)


def retry_after_secs(headers, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (integer seconds), else ``default``."""
    try:
        v = float(headers.get("Retry-After"))
        return v if v >= 0 else default
    except (TypeError, ValueError):
        return default


class BinanceFeed:
    """See module doc. ``cfg`` has the :class:`~liq_signals.live.config.LiqLiveDataClientConfig` fields;
    ``log`` needs ``info``/``warning``."""

    def __init__(self, cfg, symbols: list[str], on_open_interest, on_mark=None, on_force_order=None, log=None):
        self.cfg = cfg
        self.symbols = [s.upper() for s in symbols]
        self.on_open_interest, self.on_mark, self.on_force_order = on_open_interest, on_mark, on_force_order
        self.log = log or logging.getLogger("liq_signals.live")
        self._last_oi_ns: dict[str, int] = {}
        self._marks: dict[str, deque] = {s: deque(maxlen=256) for s in self.symbols}  # (ts_ns, mark) in order
        self._mark_seen: dict[str, asyncio.Event] = {}
        self._session: aiohttp.ClientSession | None = None
        self.stats = dict(
            oi_published=0,
            oi_duplicates=0,
            oi_gaps=0,
            funding_published=0,
            liquidations_published=0,
            http_backoffs=0,
            http_errors=0,
            ws_reconnects=0,
            malformed=0,
            taker_ratio_missing=0,
        )

    def streams(self) -> list[str]:
        out = []
        for sym in self.symbols:
            if self.cfg.mark_price and self.on_mark is not None:
                out.append(f"{sym.lower()}@markPrice")
            if self.cfg.liquidations and self.on_force_order is not None:
                out.append(f"{sym.lower()}@forceOrder")
        return out

    def coroutines(self) -> list:
        """The feed's long-running coroutines (run them as tasks; cancel them to stop, then ``close``)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        out = [self._poll_open_interest(s) for s in self.symbols]
        if self.streams():
            out.append(self._stream())
        return out

    def mark_at(self, sym: str, ts_ns: int) -> float | None:
        """Mark price (USDT) of the last mark update at or before ``ts_ns``, None when none is known."""
        marks = self._marks.get(sym)
        if not marks:
            return None
        i = bisect.bisect_right([t for t, _ in marks], ts_ns)
        return marks[i - 1][1] if i else None

    async def _await_mark(self, sym: str, ts_ns: int) -> None:
        """Wait until a mark update at or after ``ts_ns`` was seen (at most ``mark_wait_secs``)."""
        if not (self.cfg.mark_price and self.on_mark is not None):
            return
        ev = self._mark_seen.setdefault(sym, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.mark_wait_secs
        while not (self._marks[sym] and self._marks[sym][-1][0] >= ts_ns):
            ev.clear()
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(ev.wait(), left)
            except TimeoutError:
                return

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # open interest -----------------------------------------------------------------------------
    async def _poll_open_interest(self, sym: str) -> None:
        cfg = self.cfg
        url = cfg.base_url_http.rstrip("/") + "/fapi/v1/openInterest"
        backoff = cfg.backoff_secs
        while True:
            wait = cfg.oi_poll_secs
            pt = None
            try:
                async with self._session.get(url, params={"symbol": sym}) as r:
                    if r.status in RETRY_STATUSES:
                        wait = retry_after_secs(r.headers, backoff)
                        backoff = min(backoff * 2, cfg.max_backoff_secs)
                        self.stats["http_backoffs"] += 1
                        self.log.warning(f"openInterest {sym}: HTTP {r.status}, backing off {wait:g} s")
                    elif r.status != 200:
                        self.stats["http_errors"] += 1
                        self.log.warning(f"openInterest {sym}: HTTP {r.status}")
                        wait = backoff
                    else:
                        text = await r.text()
                        backoff = cfg.backoff_secs
                        pt = self.accept_open_interest(sym, json.loads(text))
            except (json.JSONDecodeError, FeedFormatError) as exc:
                self.stats["malformed"] += 1
                self.log.warning(f"openInterest {sym}: malformed response skipped ({exc})")
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.stats["http_errors"] += 1
                self.log.warning(f"openInterest {sym}: request failed ({exc!r}); retrying in {backoff:g} s")
                wait = backoff
                backoff = min(backoff * 2, cfg.max_backoff_secs)
            if pt is not None:
                await self._await_mark(sym, pt.ts_ns)
                ratio = await self._taker_ratio(sym, pt.ts_ns) if cfg.taker_ratio else None
                self.on_open_interest(sym, pt, self.mark_at(sym, pt.ts_ns), ratio)
                self.stats["oi_published"] += 1
            await asyncio.sleep(wait)

    async def _taker_ratio(self, sym: str, ts_ns: int) -> float | None:
        """The taker buy/sell volume ratio of the 5-minute row in force at ``ts_ns`` (see module doc)."""
        url = self.cfg.base_url_http.rstrip("/") + "/futures/data/takerlongshortRatio"
        try:
            async with self._session.get(url, params={"symbol": sym, "period": "5m", "limit": 1}) as r:
                rows = json.loads(await r.text()) if r.status == 200 else None
            row = rows[-1] if isinstance(rows, list) and rows else None
            t_ns = int(row["timestamp"]) * 1_000_000
            if 0 <= ts_ns - t_ns < 300_000_000_000:
                return float(row["buySellRatio"])
        except (TimeoutError, aiohttp.ClientError, OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
        self.stats["taker_ratio_missing"] += 1
        return None

    def accept_open_interest(self, sym: str, payload):
        """Parse one ``/fapi/v1/openInterest`` answer; the point, or None when it repeats the last one (by
        ``time``)."""
        pt = parse_open_interest(payload)
        last = self._last_oi_ns.get(sym)
        if last is not None and pt.ts_ns <= last:
            self.stats["oi_duplicates"] += 1
            return None
        if last is not None and pt.ts_ns - last > self.cfg.gap_ns:
            self.stats["oi_gaps"] += 1
            self.log.warning(
                f"openInterest {sym}: gap of {(pt.ts_ns - last) / 1e9:.0f} s (threshold {self.cfg.gap_ns / 1e9:g} s)"
            )
        self._last_oi_ns[sym] = pt.ts_ns
        return pt

    # websocket ---------------------------------------------------------------------------------
    async def _stream(self) -> None:
        cfg = self.cfg
        url = cfg.base_url_ws.rstrip("/") + "/stream?streams=" + "/".join(self.streams())
        backoff = cfg.backoff_secs
        first = True
        while True:
            try:
                async with self._session.ws_connect(url, heartbeat=None, autoping=True) as ws:
                    if not first:
                        self.stats["ws_reconnects"] += 1
                        self.log.warning(f"websocket reconnected to {cfg.base_url_ws}")
                    first = False
                    backoff = cfg.backoff_secs
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self.handle_stream_text(msg.data)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.log.warning(f"websocket failed ({exc!r})")
            first = False
            self.log.warning(f"websocket dropped; reconnecting in {backoff:g} s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, cfg.max_backoff_secs)

    def handle_stream_text(self, text: str) -> None:
        """One combined-stream message ``{"stream": ..., "data": {...}}``; malformed ones are skipped."""
        try:
            obj = json.loads(text)
            stream, data = obj.get("stream", ""), obj.get("data")
            if stream.endswith("@markPrice") or "@markPrice@" in stream:
                sym = str(data.get("s") or stream.split("@")[0]).upper()
                if sym in self.symbols and self.on_mark is not None:
                    m = parse_mark_price(data)
                    marks = self._marks[sym]
                    if not marks or m.ts_ns >= marks[-1][0]:
                        marks.append((m.ts_ns, m.mark_price))
                    self.on_mark(sym, m)
                    ev = self._mark_seen.get(sym)
                    if ev is not None:
                        ev.set()
            elif stream.endswith("@forceOrder"):
                f = parse_force_order(data)
                if f.symbol.upper() in self.symbols and self.on_force_order is not None:
                    self.on_force_order(f)
                    self.stats["liquidations_published"] += 1
        except (json.JSONDecodeError, FeedFormatError, AttributeError) as exc:
            self.stats["malformed"] += 1
            self.log.warning(f"websocket: malformed message skipped ({exc})")
