"""``LiqLiveDataClient``: Binance USD-M open interest, funding and liquidations as Nautilus custom data.

Nautilus's Binance adapter streams bars but has no open-interest and no ``forceOrder`` handling; this client
fills the gap and runs next to it in a ``TradingNode`` (``data_clients`` + ``add_data_client_factory``):

- polls ``GET {base_url_http}/fapi/v1/openInterest?symbol=`` every ``oi_poll_secs`` and publishes
  :class:`~liq_signals.nautilus.data_types.OpenInterest` with ``ts_event = ts_init`` = Binance's ``time``
  (the observed instant), ``open_interest`` in base, ``open_interest_value`` = OI × the last mark price
  (USDT; NaN before the first mark update), ``taker_ratio`` NaN (not served live). A ``time`` not after the
  last published one is a duplicate and dropped; a step longer than ``gap_secs`` is logged as a gap;
- streams ``<symbol>@markPrice`` and publishes :class:`~liq_signals.nautilus.data_types.FundingRate` once
  per funding time, stamped at the first mark update at or after it (the observed instant), with the rate
  that was in force and that update's mark price;
- streams ``<symbol>@forceOrder`` and publishes :class:`~liq_signals.live.data_types.Liquidation`.

Faults: HTTP 429/418 → wait ``Retry-After`` seconds (else exponential backoff from ``backoff_secs`` up to
``max_backoff_secs``); malformed JSON → logged and skipped; a dropped WebSocket is reconnected after the
backoff. ``stats`` counts what happened (published, duplicates, gaps, backoffs, reconnects, malformed).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import CustomData, DataType
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from liq_signals.live.config import LiqLiveDataClientConfig, binance_symbol
from liq_signals.live.data_types import Liquidation
from liq_signals.live.parse import (
    FeedFormatError,
    FundingTracker,
    parse_force_order,
    parse_mark_price,
    parse_open_interest,
)
from liq_signals.nautilus.data_types import FundingRate, OpenInterest

RETRY_STATUSES = (429, 418)


def retry_after_secs(headers, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (integer seconds), else ``default``."""
    try:
        v = float(headers.get("Retry-After"))
        return v if v >= 0 else default
    except (TypeError, ValueError):
        return default


class LiqLiveDataClient(LiveMarketDataClient):
    """Publishes OpenInterest, FundingRate and Liquidation for the configured instruments (module doc)."""

    def __init__(self, loop, client_id: ClientId, msgbus, cache, clock, config: LiqLiveDataClientConfig):
        super().__init__(loop=loop, client_id=client_id, venue=None, msgbus=msgbus, cache=cache, clock=clock,
                         instrument_provider=InstrumentProvider(), config=config)
        self._cfg = config
        self._ids = {binance_symbol(i): InstrumentId.from_str(i) for i in config.instrument_ids}
        self._mark: dict[str, float] = {}
        self._funding = {s: FundingTracker() for s in self._ids}
        self._last_oi_ns: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None
        self._running: list[asyncio.Task] = []
        self.stats = dict(oi_published=0, oi_duplicates=0, oi_gaps=0, funding_published=0,
                          liquidations_published=0, http_backoffs=0, http_errors=0, ws_reconnects=0, malformed=0)

    # lifecycle ---------------------------------------------------------------------------------
    async def _connect(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        for sym in self._ids:
            self._running.append(self.create_task(self._poll_open_interest(sym)))
        if self._streams():
            self._running.append(self.create_task(self._stream()))

    async def _disconnect(self) -> None:
        for t in self._running:
            t.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _subscribe(self, command) -> None:  # everything is published from connect on
        pass

    async def _unsubscribe(self, command) -> None:
        pass

    def _streams(self) -> list[str]:
        out = []
        for sym in self._ids:
            if self._cfg.mark_price:
                out.append(f"{sym.lower()}@markPrice")
            if self._cfg.liquidations:
                out.append(f"{sym.lower()}@forceOrder")
        return out

    # open interest -----------------------------------------------------------------------------
    async def _poll_open_interest(self, sym: str) -> None:
        url = self._cfg.base_url_http.rstrip("/") + "/fapi/v1/openInterest"
        backoff = self._cfg.backoff_secs
        while True:
            wait = self._cfg.oi_poll_secs
            try:
                async with self._session.get(url, params={"symbol": sym}) as r:
                    if r.status in RETRY_STATUSES:
                        wait = retry_after_secs(r.headers, backoff)
                        backoff = min(backoff * 2, self._cfg.max_backoff_secs)
                        self.stats["http_backoffs"] += 1
                        self._log.warning(f"openInterest {sym}: HTTP {r.status}, backing off {wait:g} s")
                    elif r.status != 200:
                        self.stats["http_errors"] += 1
                        self._log.warning(f"openInterest {sym}: HTTP {r.status}")
                        wait = backoff
                    else:
                        text = await r.text()
                        backoff = self._cfg.backoff_secs
                        self.on_open_interest_payload(sym, json.loads(text))
            except (json.JSONDecodeError, FeedFormatError) as exc:
                self.stats["malformed"] += 1
                self._log.warning(f"openInterest {sym}: malformed response skipped ({exc})")
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                self.stats["http_errors"] += 1
                self._log.warning(f"openInterest {sym}: request failed ({exc!r}); retrying in {backoff:g} s")
                wait = backoff
                backoff = min(backoff * 2, self._cfg.max_backoff_secs)
            await asyncio.sleep(wait)

    def on_open_interest_payload(self, sym: str, payload) -> None:
        """Publish one ``/fapi/v1/openInterest`` response unless it duplicates the last point (by ``time``)."""
        pt = parse_open_interest(payload)
        last = self._last_oi_ns.get(sym)
        if last is not None and pt.ts_ns <= last:
            self.stats["oi_duplicates"] += 1
            return
        if last is not None and pt.ts_ns - last > self._cfg.gap_ns:
            self.stats["oi_gaps"] += 1
            self._log.warning(f"openInterest {sym}: gap of {(pt.ts_ns - last) / 1e9:.0f} s "
                              f"(threshold {self._cfg.gap_ns / 1e9:g} s)")
        self._last_oi_ns[sym] = pt.ts_ns
        mark = self._mark.get(sym, float("nan"))
        oi = OpenInterest(pt.ts_ns, pt.ts_ns, instrument_id=self._ids[sym], open_interest=pt.open_interest,
                          open_interest_value=pt.open_interest * mark)
        self._handle_data(CustomData(DataType(OpenInterest), oi))
        self.stats["oi_published"] += 1

    # websocket ---------------------------------------------------------------------------------
    async def _stream(self) -> None:
        url = self._cfg.base_url_ws.rstrip("/") + "/stream?streams=" + "/".join(self._streams())
        backoff = self._cfg.backoff_secs
        first = True
        while True:
            try:
                async with self._session.ws_connect(url, heartbeat=None, autoping=True) as ws:
                    if not first:
                        self.stats["ws_reconnects"] += 1
                        self._log.warning(f"websocket reconnected to {self._cfg.base_url_ws}")
                    first = False
                    backoff = self._cfg.backoff_secs
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self.on_stream_text(msg.data)
                        elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                self._log.warning(f"websocket failed ({exc!r})")
            first = False
            self._log.warning(f"websocket dropped; reconnecting in {backoff:g} s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._cfg.max_backoff_secs)

    def on_stream_text(self, text: str) -> None:
        """Handle one combined-stream message ``{"stream": ..., "data": {...}}``; malformed ones are skipped."""
        try:
            obj = json.loads(text)
            stream, data = obj.get("stream", ""), obj.get("data")
            if stream.endswith("@markPrice") or "@markPrice@" in stream:
                self._on_mark(parse_mark_price(data), data.get("s", stream.split("@")[0]).upper())
            elif stream.endswith("@forceOrder"):
                self._on_force_order(parse_force_order(data))
        except (json.JSONDecodeError, FeedFormatError, AttributeError) as exc:
            self.stats["malformed"] += 1
            self._log.warning(f"websocket: malformed message skipped ({exc})")

    def _on_mark(self, m, sym: str) -> None:
        if sym not in self._ids:
            return
        self._mark[sym] = m.mark_price
        crossing = self._funding[sym].update(m)
        if crossing is not None:
            fr = FundingRate(crossing.ts_ns, crossing.ts_ns, instrument_id=self._ids[sym], rate=crossing.rate,
                             mark_price=crossing.mark_price, interval_hours=crossing.interval_hours)
            self._handle_data(CustomData(DataType(FundingRate), fr))
            self.stats["funding_published"] += 1

    def _on_force_order(self, f) -> None:
        iid = self._ids.get(f.symbol.upper())
        if iid is None:
            return
        liq = Liquidation(f.ts_ns, f.ts_ns, instrument_id=iid, side=f.side, price=f.price, avg_price=f.avg_price,
                          quantity=f.quantity, notional_usd=f.notional_usd)
        self._handle_data(CustomData(DataType(Liquidation), liq))
        self.stats["liquidations_published"] += 1
