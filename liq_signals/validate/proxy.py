"""PROXY ground truth from open-interest drops (``--proxy oi-drop``), for windows with no recording.

Between two consecutive observed OI snapshots a (earlier) and b, when OI fell by more than
``min_drop`` (fraction of OI_a), the fall is read as forced closes:

- side: ``long`` when price fell (implied price p_b < p_a), else ``short``;
- notional (USDT) = |OI_b - OI_a| (base) × (p_a + p_b) / 2;
- price band = [min, max] of p_a, p_b and the high/low of every bar lying wholly inside [a, b]; the
  notional is spread uniformly over that band (metrics treat it as a range event);
- event time = b (the observation time), so it belongs to a horizon window (t0, t1] only when
  ``t0 <= a`` and ``b <= t1``.

Implied price p = sum_open_interest_value / sum_open_interest (the price at the snapshot, docs/domain.md §2).
Coverage = runs of OI observations with no gap longer than ``max_gap`` (default 2 × the median cadence).
This is an estimate, not a recording: every output labels it PROXY.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liq_signals.data import reader

DEFAULT_MIN_DROP = 0.005  # 0.5 %: about the 1st percentile of 5-minute OI changes in the shipped BTCUSDT 2023 month


def load_open_interest(con, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Observed OI snapshots (``time`` = observed time) with a positive OI and value, ascending."""
    return reader.open_interest_series(con, symbol, start, end)


def oi_drop_events(
    oi: pd.DataFrame, bars: pd.DataFrame, min_drop: float = DEFAULT_MIN_DROP, max_gap: pd.Timedelta | None = None
) -> pd.DataFrame:
    """Proxy events (columns time, start_time, side, price_low, price_high, notional_usd).

    ``bars``: columns open_time, close_time (exclusive end, = open_time + interval), high, low.
    """
    cols = ["time", "start_time", "side", "price_low", "price_high", "notional_usd"]
    if len(oi) < 2:
        return pd.DataFrame(columns=cols)
    t = pd.to_datetime(oi["time"]).to_numpy()
    q = oi["oi"].to_numpy(float)
    p = oi["oi_value"].to_numpy(float) / q
    gap = max_gap if max_gap is not None else 2 * pd.Series(np.diff(t)).median()
    rows = []
    for i in range(1, len(oi)):
        if pd.Timedelta(t[i] - t[i - 1]) > gap:
            continue
        d = q[i] - q[i - 1]
        if not (d < -min_drop * q[i - 1]):
            continue
        lo, hi = min(p[i - 1], p[i]), max(p[i - 1], p[i])
        if len(bars):
            inside = bars[(bars["open_time"] >= t[i - 1]) & (bars["close_time"] <= t[i])]
            if len(inside):
                lo, hi = min(lo, float(inside["low"].min())), max(hi, float(inside["high"].max()))
        side = "long" if p[i] < p[i - 1] else "short"
        rows.append((pd.Timestamp(t[i]), pd.Timestamp(t[i - 1]), side, lo, hi, abs(d) * (p[i - 1] + p[i]) / 2))
    return pd.DataFrame(rows, columns=cols)


def oi_coverage(oi: pd.DataFrame, max_gap: pd.Timedelta | None = None) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Runs of OI observations without a gap > ``max_gap`` as (start, end, 'oi-drop proxy')."""
    if len(oi) < 2:
        return []
    t = pd.to_datetime(oi["time"]).to_numpy()
    gap = max_gap if max_gap is not None else 2 * pd.Series(np.diff(t)).median()
    out, s = [], t[0]
    for i in range(1, len(t)):
        if pd.Timedelta(t[i] - t[i - 1]) > gap:
            out.append((pd.Timestamp(s), pd.Timestamp(t[i - 1]), "oi-drop proxy"))
            s = t[i]
    out.append((pd.Timestamp(s), pd.Timestamp(t[-1]), "oi-drop proxy"))
    return out


def proxy_events_in(events: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    """Proxy events whose whole OI interval lies in the window: t0 <= start_time and time <= t1."""
    if len(events) == 0:
        return events
    return events[(events["start_time"] >= t0) & (events["time"] <= t1)]
