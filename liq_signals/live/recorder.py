"""``Recorder``: Binance USD-M liquidations, open-interest polls and mark/funding into a DuckDB file.

Uses :class:`~liq_signals.live.feed.BinanceFeed` (same polling, streams, backoff and dedupe as the live data
client) and writes, in one transaction per batch (every ``flush_secs``, and on stop / SIGTERM / Ctrl-C):

- ``liquidations`` (the ingest schema's table): one row per ``forceOrder`` snapshot, ``price`` = average
  fill price (USDT), ``quantity`` base, ``usd_value`` USDT, ``source = 'binance-forceOrder'`` (Binance pushes at
  most one snapshot per symbol per second: counts are lower bounds);
- ``funding`` (the ingest schema's table): one row per funding time seen crossing on ``@markPrice`` (time =
  the funding time, rate in force, mark price of the first update after it, interval hours);
- ``live_open_interest`` (symbol, time, open_interest base, mark_price USDT or NULL): each new
  ``/fapi/v1/openInterest`` point, time = Binance's ``time``, the mark in force then;
- ``live_mark_price`` (symbol, time, mark_price, funding_rate, next_funding_time): each mark update.

Every insert is ``INSERT OR IGNORE`` on the tables' primary keys, so a restart over the same period records
no duplicate. Times are naive UTC ``TIMESTAMP``s (ms precision from Binance).
"""

from __future__ import annotations

import asyncio
import signal

from liq_signals.live.parse import FundingTracker
from liq_signals.times import to_naive_utc

LIVE_TABLES = """
CREATE TABLE IF NOT EXISTS live_open_interest (
    symbol VARCHAR NOT NULL, time TIMESTAMP NOT NULL, open_interest DOUBLE NOT NULL, mark_price DOUBLE,
    PRIMARY KEY (symbol, time));
CREATE TABLE IF NOT EXISTS live_mark_price (
    symbol VARCHAR NOT NULL, time TIMESTAMP NOT NULL, mark_price DOUBLE NOT NULL, funding_rate DOUBLE,
    next_funding_time TIMESTAMP, PRIMARY KEY (symbol, time));
"""
INSERTS = {
    "liquidations": "INSERT OR IGNORE INTO liquidations (symbol, time, side, price, quantity, usd_value, source) "
    "VALUES (?, ?, ?, ?, ?, ?, 'binance-forceOrder')",
    "funding": "INSERT OR IGNORE INTO funding (symbol, time, funding_rate, mark_price, interval_hours) "
    "VALUES (?, ?, ?, ?, ?)",
    "live_open_interest": "INSERT OR IGNORE INTO live_open_interest VALUES (?, ?, ?, ?)",
    "live_mark_price": "INSERT OR IGNORE INTO live_mark_price VALUES (?, ?, ?, ?, ?)",
}


def _t(ns: int):
    return to_naive_utc(int(ns)).to_pydatetime()


class Recorder:
    """See module doc. ``cfg``: a :class:`~liq_signals.live.config.LiqLiveDataClientConfig`."""

    def __init__(self, db_path, symbols: list[str], cfg, flush_secs: float = 5.0, log=None):
        from liq_signals.data import db as dbmod
        from liq_signals.live.feed import BinanceFeed

        self.con = dbmod.connect(db_path)
        self.con.execute(LIVE_TABLES)
        self.flush_secs = flush_secs
        self.buffer: dict[str, list[tuple]] = {k: [] for k in INSERTS}
        self._funding = {s.upper(): FundingTracker() for s in symbols}
        self.feed = BinanceFeed(cfg, symbols, self._on_oi, self._on_mark, self._on_force, log=log)
        self.batches = 0

    # handlers (buffer only) ----------------------------------------------------------------------
    def _on_oi(self, sym, pt, mark, ratio=None) -> None:
        self.buffer["live_open_interest"].append((sym, _t(pt.ts_ns), pt.open_interest, mark))

    def _on_mark(self, sym, m) -> None:
        self.buffer["live_mark_price"].append((sym, _t(m.ts_ns), m.mark_price, m.rate, _t(m.next_funding_ns)))
        c = self._funding[sym].update(m)
        if c is not None:
            self.buffer["funding"].append((sym, _t(c.funding_ns), c.rate, c.mark_price, c.interval_hours or None))
            self.feed.stats["funding_published"] += 1

    def _on_force(self, f) -> None:
        self.buffer["liquidations"].append(
            (f.symbol.upper(), _t(f.ts_ns), f.side, f.avg_price, f.quantity, f.notional_usd)
        )

    # writing -------------------------------------------------------------------------------------
    def flush(self) -> int:
        """Write the buffered rows in one transaction; return how many rows were buffered."""
        batch = {k: v for k, v in self.buffer.items() if v}
        if not batch:
            return 0
        self.buffer = {k: [] for k in INSERTS}
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table, rows in batch.items():
                self.con.executemany(INSERTS[table], rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.batches += 1
        return sum(len(v) for v in batch.values())

    def counts(self) -> dict[str, int]:
        """Rows per recorded table (the liquidations/funding tables may also hold ingested files' rows)."""
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in INSERTS}

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_secs)
            self.flush()

    async def run(self, stop: asyncio.Event) -> None:
        """Record until ``stop`` is set, then flush what is buffered and close the database."""
        tasks = [asyncio.ensure_future(c) for c in self.feed.coroutines()]
        tasks.append(asyncio.ensure_future(self._flusher()))
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.feed.close()
            self.flush()

    def close(self) -> None:
        self.con.close()


def record(
    db_path, symbols: list[str], cfg, flush_secs: float = 5.0, duration_s: float | None = None, log=None
) -> dict:
    """Run a :class:`Recorder` until ``duration_s`` passed, SIGTERM or SIGINT; return the table counts."""
    rec = Recorder(db_path, symbols, cfg, flush_secs, log)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if duration_s is not None:
            loop.call_later(duration_s, stop.set)
        await rec.run(stop)

    try:
        asyncio.run(main())
        out = rec.counts()
        out["batches"] = rec.batches
        out.update({f"feed_{k}": v for k, v in rec.feed.stats.items()})
        return out
    finally:
        rec.close()
