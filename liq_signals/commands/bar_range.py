"""Which times the DuckDB store can answer for: the stretches of time covered by a symbol's last-price bars.

A request (``levels --at``, ``heatmap --start/--end`` ...) for a time outside these stretches would be
answered from a stale bar (the last one before a gap or the end of the data), so commands refuse it with
one line naming the covered stretches. Bar times are close times (epoch ns, UTC), as in
``MarketInputs.bars["ts_ns"]``. A stretch ends where two consecutive bars of one interval are more than
``max(4 intervals, 1 h)`` apart.

The bar times come from :func:`liq_signals.data.reader.bar_close_times`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liq_signals.errors import LiqSignalsError
from liq_signals.times import NS_PER_HOUR, ns_to_iso

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class BarCoverage:
    """``segments``: sorted, disjoint ``(first_ns, last_ns)`` bar close times (epoch ns) with bars."""

    symbol: str
    segments: tuple
    interval: str | None = None

    @property
    def first_ns(self) -> int:
        return self.segments[0][0]

    @property
    def last_ns(self) -> int:
        return self.segments[-1][1]

    def describe(self) -> str:
        """``BTCUSDT bars cover 2023-11-12 11:00 → 2023-12-13 12:45, 2025-01-27 15:39 → 17:53`` (UTC)."""
        parts = [f"{_short(a)} → {_short(b)}" for a, b in self.segments]
        kind = f"{self.symbol} {self.interval}" if self.interval else self.symbol
        return f"the database's {kind} bars cover {', '.join(parts)} (UTC)"

    def segment_of(self, t_ns: int) -> tuple | None:
        """The stretch holding ``t_ns`` (bounds included), or None."""
        for a, b in self.segments:
            if a <= t_ns <= b:
                return a, b
        return None

    def require(self, t_ns: int, what: str) -> None:
        """Refuse (``LiqSignalsError`` naming ``what``, e.g. ``--at``) a time outside every stretch."""
        if self.segment_of(t_ns) is None:
            raise LiqSignalsError(f"{what} {_short(t_ns)} is outside the data: {self.describe()}")

    def require_range(self, t0_ns: int, t1_ns: int, start: str = "--start", end: str = "--end") -> None:
        """Refuse a range [t0, t1] that is not inside one stretch (outside the data, or across a gap)."""
        self.require(t0_ns, start)
        self.require(t1_ns, end)
        if self.segment_of(t0_ns) != self.segment_of(t1_ns):
            raise LiqSignalsError(
                f"{start} {_short(t0_ns)} and {end} {_short(t1_ns)} span a gap without bars: {self.describe()}"
            )


def _short(ns: int) -> str:
    return ns_to_iso(ns).replace("T", " ").replace(":00+00:00", "").replace("+00:00", "")


def split_segments(close_ns: np.ndarray, interval_ns: int) -> list[tuple[int, int]]:
    """Stretches of sorted bar close times where consecutive bars are at most ``max(4 intervals, 1 h)`` apart."""
    t = np.asarray(close_ns, dtype=np.int64)
    if len(t) == 0:
        return []
    gap = max(4 * int(interval_ns), NS_PER_HOUR)
    breaks = np.nonzero(np.diff(t) > gap)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(t) - 1]])
    return [(int(t[a]), int(t[b])) for a, b in zip(starts, ends)]


def merge_segments(segments) -> tuple:
    """Union of (first, last) stretches, sorted; overlapping or touching stretches are merged."""
    out: list[list[int]] = []
    for a, b in sorted(segments):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def bar_coverage(db_path: str | Path, symbol: str, interval: str | None = None) -> BarCoverage:
    """The stretches covered by ``symbol``'s last-price bars in the DuckDB file (all intervals, or one).

    Raises ``LiqSignalsError`` for a missing database or a symbol without bars."""
    from liq_signals.data import reader
    from liq_signals.data.layouts import interval_ms

    symbol = symbol.strip().upper()
    rows = reader.bar_close_times(db_path, symbol)
    segments = []
    by_interval: dict[str, list[int]] = {}
    for iv, close_ns in rows:
        if interval is None or iv == interval:
            by_interval.setdefault(iv, []).append(close_ns)
    for iv, times in by_interval.items():
        segments += split_segments(np.asarray(times, dtype=np.int64), interval_ms(iv) * NS_PER_MS)
    if not segments:
        known = reader.last_price_symbols(db_path)
        raise LiqSignalsError(
            f"no {interval + ' ' if interval else ''}bars for symbol {symbol} in {db_path} "
            f"(symbols with bars: {', '.join(known) or 'none'})"
        )
    return BarCoverage(symbol, merge_segments(segments), interval)
