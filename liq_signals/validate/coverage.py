"""Recorded ground truth: liquidation events of one symbol and the intervals their recordings covered.

Times are naive UTC ``pandas.Timestamp`` (as stored in DuckDB); prices USDT; notional USDT.
A horizon window (t0, t1] is *covered* when one recording's covered interval [start, end] contains it
(``start <= t0`` and ``t1 <= end``): a window that leaves the recording is never scored, because missing
events there would read as misses.
"""

from __future__ import annotations

import pandas as pd

EVENT_COLUMNS = ["time", "side", "price_low", "price_high", "notional_usd"]


def load_recorded_events(con, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Events with ``start < time <= end``: side ``long`` (Binance SELL) / ``short`` (BUY), point price bands."""
    df = con.execute(
        """
        SELECT time, CASE WHEN side = 'SELL' THEN 'long' ELSE 'short' END AS side,
               price AS price_low, price AS price_high, usd_value AS notional_usd
        FROM liquidations
        WHERE symbol = ? AND time > ? AND time <= ? AND side IN ('SELL', 'BUY')
        ORDER BY time
        """,
        [symbol, start.to_pydatetime(), end.to_pydatetime()],
    ).df()
    return df[EVENT_COLUMNS] if len(df) else pd.DataFrame(columns=EVENT_COLUMNS)


def load_coverage(con) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """All recordings' covered intervals as (start, end, source), sorted by start."""
    rows = con.execute(
        "SELECT start_time, end_time, source FROM liquidation_coverage ORDER BY start_time"
    ).fetchall()
    return [(pd.Timestamp(a), pd.Timestamp(b), s) for a, b, s in rows]


def window_covered(intervals, t0: pd.Timestamp, t1: pd.Timestamp) -> bool:
    """Does one interval [start, end] contain the window (t0, t1]?"""
    return any(a <= t0 and t1 <= b for a, b, *_ in intervals)


def events_in(events: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    """Events with t0 < time <= t1."""
    if len(events) == 0:
        return events
    t = events["time"]
    return events[(t > t0) & (t <= t1)]
