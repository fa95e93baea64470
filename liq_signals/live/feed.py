"""``BinanceFeed``: the network side of the live client, without Nautilus (shared by the Nautilus data client
and the recorder).

Polls ``GET {base_url_http}/fapi/v1/openInterest?symbol=`` per symbol every ``oi_poll_secs`` (sequentially:
the next request only after the previous answer was handled) and streams ``<symbol>@markPrice`` /
``<symbol>@forceOrder`` from ``{base_url_ws}/stream?streams=...``. Handlers receive parsed records
(:mod:`liq_signals.live.parse`): ``on_open_interest(symbol, OIPoint)`` only for a ``time`` after the last one
(duplicates are counted and dropped; a step over ``gap_ns`` is logged as a gap), ``on_mark(symbol, MarkUpdate)``,
``on_force_order(ForceOrder)``. Faults: 429/418 → wait ``Retry-After`` seconds (else exponential backoff from
``backoff_secs`` to ``max_backoff_secs``); malformed JSON → logged, skipped; a dropped WebSocket is reconnected
after the backoff. ``stats`` counts all of it.
"""

from __future__ import annotations

import asyncio
import json
import logging

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
        self._session: aiohttp.ClientSession | None = None
        self.stats = dict(oi_published=0, oi_duplicates=0, oi_gaps=0, funding_published=0,
                          liquidations_published=0, http_backoffs=0, http_errors=0, ws_reconnects=0, malformed=0)

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
                        self.handle_open_interest(sym, json.loads(text))
            except (json.JSONDecodeError, FeedFormatError) as exc:
                self.stats["malformed"] += 1
                self.log.warning(f"openInterest {sym}: malformed response skipped ({exc})")
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.stats["http_errors"] += 1
                self.log.warning(f"openInterest {sym}: request failed ({exc!r}); retrying in {backoff:g} s")
                wait = backoff
                backoff = min(backoff * 2, cfg.max_backoff_secs)
            await asyncio.sleep(wait)

    def handle_open_interest(self, sym: str, payload) -> None:
        """Pass one ``/fapi/v1/openInterest`` answer on unless it repeats the last point (by ``time``)."""
        pt = parse_open_interest(payload)
        last = self._last_oi_ns.get(sym)
        if last is not None and pt.ts_ns <= last:
            self.stats["oi_duplicates"] += 1
            return
        if last is not None and pt.ts_ns - last > self.cfg.gap_ns:
            self.stats["oi_gaps"] += 1
            self.log.warning(f"openInterest {sym}: gap of {(pt.ts_ns - last) / 1e9:.0f} s "
                             f"(threshold {self.cfg.gap_ns / 1e9:g} s)")
        self._last_oi_ns[sym] = pt.ts_ns
        self.on_open_interest(sym, pt)
        self.stats["oi_published"] += 1

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
                    self.on_mark(sym, parse_mark_price(data))
            elif stream.endswith("@forceOrder"):
                f = parse_force_order(data)
                if f.symbol.upper() in self.symbols and self.on_force_order is not None:
                    self.on_force_order(f)
                    self.stats["liquidations_published"] += 1
        except (json.JSONDecodeError, FeedFormatError, AttributeError) as exc:
            self.stats["malformed"] += 1
            self.log.warning(f"websocket: malformed message skipped ({exc})")
