"""``LiqLiveDataClient``: Binance USD-M open interest, funding and liquidations as Nautilus custom data.

Nautilus's Binance adapter streams bars but has no open-interest and no ``forceOrder`` handling; this client
fills the gap and runs next to it in a ``TradingNode`` (``data_clients`` + ``add_data_client_factory``). The
network side (polling, streams, backoff, reconnects, dedupe) is :class:`~liq_signals.live.feed.BinanceFeed`;
this adapter publishes:

- :class:`~liq_signals.nautilus.data_types.OpenInterest` per new ``/fapi/v1/openInterest`` point:
  ``ts_event = ts_init`` = Binance's ``time`` (the observed instant), ``open_interest`` in base,
  ``open_interest_value`` = OI × the mark price in force at that time (USDT; NaN when unknown),
  ``taker_ratio`` the taker buy/sell ratio of the 5-minute row in force (with ``taker_ratio = true``; else NaN);
- :class:`~liq_signals.nautilus.data_types.FundingRate` once per funding time, stamped at the first mark
  update at or after it (the observed instant), with the rate that was in force and that update's mark price;
- :class:`~liq_signals.nautilus.data_types.Liquidation` per ``forceOrder`` snapshot.

``stats`` counts what happened (published, duplicates, gaps, backoffs, reconnects, malformed).
"""

from __future__ import annotations

import asyncio

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.data import CustomData, DataType
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from liq_signals.live.config import LiqLiveDataClientConfig, binance_symbol
from liq_signals.live.feed import BinanceFeed, retry_after_secs  # noqa: F401  (re-exported)
from liq_signals.live.parse import FundingTracker
from liq_signals.nautilus.data_types import FundingRate, Liquidation, OpenInterest


class LiqLiveDataClient(LiveMarketDataClient):
    """Publishes OpenInterest, FundingRate and Liquidation for the configured instruments (module doc)."""

    def __init__(self, loop, client_id: ClientId, msgbus, cache, clock, config: LiqLiveDataClientConfig):
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=None,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=InstrumentProvider(),
            config=config,
        )
        self._ids = {binance_symbol(i): InstrumentId.from_str(i) for i in config.instrument_ids}
        self._funding = {s: FundingTracker() for s in self._ids}
        self.feed = BinanceFeed(
            config, list(self._ids), self._on_open_interest, self._on_mark, self._on_force_order, log=self._log
        )
        self._running: list[asyncio.Task] = []

    @property
    def stats(self) -> dict:
        return self.feed.stats

    async def _connect(self) -> None:
        self._running = [self.create_task(c) for c in self.feed.coroutines()]

    async def _disconnect(self) -> None:
        for t in self._running:
            t.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running.clear()
        await self.feed.close()

    async def _subscribe(self, command) -> None:  # everything is published from connect on
        pass

    async def _unsubscribe(self, command) -> None:
        pass

    def _on_open_interest(self, sym: str, pt, mark, ratio) -> None:
        mark = float("nan") if mark is None else mark
        oi = OpenInterest(
            pt.ts_ns,
            pt.ts_ns,
            instrument_id=self._ids[sym],
            open_interest=pt.open_interest,
            open_interest_value=pt.open_interest * mark,
            taker_ratio=float("nan") if ratio is None else ratio,
        )
        self._handle_data(CustomData(DataType(OpenInterest), oi))

    def _on_mark(self, sym: str, m) -> None:
        crossing = self._funding[sym].update(m)
        if crossing is not None:
            fr = FundingRate(
                crossing.ts_ns,
                crossing.ts_ns,
                instrument_id=self._ids[sym],
                rate=crossing.rate,
                mark_price=crossing.mark_price,
                interval_hours=crossing.interval_hours,
            )
            self._handle_data(CustomData(DataType(FundingRate), fr))
            self.feed.stats["funding_published"] += 1

    def _on_force_order(self, f) -> None:
        liq = Liquidation(
            f.ts_ns,
            f.ts_ns,
            instrument_id=self._ids[f.symbol.upper()],
            side=f.side,
            price=f.price,
            avg_price=f.avg_price,
            quantity=f.quantity,
            notional_usd=f.notional_usd,
        )
        self._handle_data(CustomData(DataType(Liquidation), liq))
