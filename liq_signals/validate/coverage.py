"""Recorded ground truth: liquidation events of one symbol and the intervals their recordings covered.

Times are naive UTC ``pandas.Timestamp`` (as stored in DuckDB); prices USDT; notional USDT.
A horizon window (t0, t1] is *covered* when one recording's covered interval [start, end] contains it
(``start <= t0`` and ``t1 <= end``): a window that leaves the recording is never scored, because missing
events there would read as misses.
"""

from __future__ import annotations

import pandas as pd

from liq_signals.data import reader

EVENT_COLUMNS = reader.RECORDED_EVENT_COLUMNS


def load_recorded_events(con, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Events with ``start < time <= end``: side ``long`` (Binance SELL) / ``short`` (BUY), point price bands."""
    return reader.recorded_liquidations(con, symbol, start, end)


def load_coverage(con) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """All recordings' covered intervals as (start, end, source), sorted by start."""
    return reader.coverage_intervals(con)


def window_covered(intervals, t0: pd.Timestamp, t1: pd.Timestamp) -> bool:
    """Does one interval [start, end] contain the window (t0, t1]?"""
    return any(a <= t0 and t1 <= b for a, b, *_ in intervals)


def events_in(events: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    """Events with t0 < time <= t1."""
    if len(events) == 0:
        return events
    t = events["time"]
    return events[(t > t0) & (t <= t1)]
