"""The API's only access to the DuckDB file (read-only): what the store covers and the frames the engine reads.

Times: epoch nanoseconds (UTC) in and out, ``TIMESTAMP`` (naive UTC) inside DuckDB. Bars are stamped at their
close (Binance ``close_time`` + 1 ms), as in :func:`liq_signals.data.reader.load_market_inputs`, which this
module calls for the engine inputs, so the API reads exactly what the CLI reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from liq_signals.data import db as dbmod
from liq_signals.data import reader
from liq_signals.data.layouts import interval_ms
from liq_signals.data.reader import load_market_inputs
from liq_signals.errors import LiqSignalsError
from liq_signals.times import NS_PER_DAY, ns_to_iso

# a pause between two bars longer than this splits a symbol's bars into separate covered segments
SEGMENT_GAP_NS = NS_PER_DAY


@dataclass(frozen=True)
class Segment:
    """A stretch of ``interval`` bars without a pause over a day: first/last bar close (epoch ns)."""

    interval: str
    first_ns: int
    last_ns: int
    bars: int

    def to_dict(self) -> dict:
        return {
            "interval": self.interval,
            "first": ns_to_iso(self.first_ns),
            "last": ns_to_iso(self.last_ns),
            "bars": self.bars,
        }


@dataclass(frozen=True)
class SymbolInfo:
    """What the store holds for one symbol with klines: ``segments`` (bars), ``kinds`` {kind: (first ns, last
    ns, rows)} and ``data_start_ns``, the earliest record the engine inputs could load."""

    symbol: str
    segments: tuple
    kinds: dict
    data_start_ns: int
    bar_closes: dict  # interval -> sorted bar close times (epoch ns, close_time + 1 ms)

    @property
    def first_ns(self) -> int:
        return min(s.first_ns for s in self.segments)

    @property
    def last_ns(self) -> int:
        return max(s.last_ns for s in self.segments)

    def segment_at(self, t_ns: int) -> Segment | None:
        """The segment whose bars answer a query at ``t_ns``: from its first bar close to one bar after its
        last (the next bar has not closed yet); the finest such interval."""
        hits = [s for s in self.segments if s.first_ns <= t_ns <= s.last_ns + interval_ms(s.interval) * 10**6]
        return min(hits, key=lambda s: interval_ms(s.interval)) if hits else None

    def to_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "first": ns_to_iso(self.first_ns),
            "last": ns_to_iso(self.last_ns),
            "segments": [s.to_dict() for s in self.segments],
            "kinds": {
                k: {"first": ns_to_iso(a), "last": ns_to_iso(b), "rows": n} for k, (a, b, n) in self.kinds.items()
            },
        }


class Store:
    """Read-only view of one DuckDB file. The catalogue of symbols is read once (the file is opened
    read-only, so nobody can change it while the server runs)."""

    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        con = self._connect()
        try:
            self.symbols = self._read_catalogue(con)
            self.has_liquidations = reader.has_liquidations(con)
        finally:
            con.close()
        if not self.symbols:
            raise LiqSignalsError(f"{self.db_path}: no klines stored (run `liq-signals ingest` first)")

    def _connect(self):
        try:
            return dbmod.connect(self.db_path, read_only=True)
        except LiqSignalsError:
            raise
        except Exception as exc:  # not a DuckDB file
            raise LiqSignalsError(f"cannot open database {self.db_path}: {exc}".splitlines()[0]) from None

    @staticmethod
    def _read_catalogue(con) -> dict[str, SymbolInfo]:
        out = {}
        for sym in reader.last_price_symbols(con):
            segments, closes = [], {}
            by_interval: dict[str, list[int]] = {}
            for interval, close_ns in reader.bar_close_times(con, sym):
                by_interval.setdefault(interval, []).append(close_ns)
            for interval, times in by_interval.items():
                t = np.asarray(times, dtype=np.int64)
                closes[interval] = t
                breaks = [0] + [i + 1 for i in range(len(t) - 1) if t[i + 1] - t[i] > SEGMENT_GAP_NS] + [len(t)]
                segments += [Segment(interval, int(t[a]), int(t[b - 1]), b - a) for a, b in zip(breaks, breaks[1:])]
            segments.sort(key=lambda s: (s.first_ns, interval_ms(s.interval)))
            kinds = reader.kind_spans(con, sym)
            start = min(v[0] for k, v in kinds.items() if k != "liquidations")
            out[sym] = SymbolInfo(sym, tuple(segments), kinds, start, closes)
        return out

    def interval_for(self, symbol: str, lo_ns: int | None, hi_ns: int) -> str:
        """The kline interval ``load_market_inputs`` picks for [lo, hi]: the finest with a bar whose
        ``close_time`` (bar close - 1 ms, as that function compares) lies in the range, else the finest stored."""
        closes = self.symbols[symbol].bar_closes
        lo = -(2**62) if lo_ns is None else lo_ns
        in_range = [
            iv
            for iv, t in closes.items()
            if np.searchsorted(t - 1_000_000, hi_ns, side="right") > np.searchsorted(t - 1_000_000, lo, side="left")
        ]
        return min(in_range or list(closes), key=interval_ms)

    def inputs(self, symbol: str, start_ns: int | None, end_ns: int | None, interval: str | None = None):
        """``MarketInputs`` of ``symbol`` with times in [start, end] (None = unbounded), the CLI's loader."""
        start = ns_to_iso(start_ns) if start_ns is not None else None
        end = ns_to_iso(end_ns) if end_ns is not None else None
        return load_market_inputs(self.db_path, symbol, start, end, interval=interval)

    def liquidations(self, symbol: str, start_ns: int, end_ns: int, limit: int) -> tuple[pd.DataFrame, list]:
        """Recorded liquidations of ``symbol`` in [start, end] (time ns, side long/short liquidated, price USDT,
        quantity base, usd_value USDT; at most ``limit`` rows, earliest first) and the recording intervals
        overlapping the window [(start ns, end ns, source)]."""
        return reader.liquidations_window(self.db_path, symbol, start_ns, end_ns, limit + 1)
