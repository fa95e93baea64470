"""The flush check: how much estimated long notional sat in the range the price then fell through.

Reads a run's heatmap snapshot at ``time`` (on the heatmap cadence) and the ``bars`` bars closing after it;
no data after the window is used. Prices USDT, notionals USDT, open interest in base units.
"""

from __future__ import annotations

import pandas as pd

from liq_signals.times import to_timestamp


def flush_check(heatmap: pd.DataFrame, bars: pd.DataFrame, open_interest: list, at, n_bars: int = 1) -> dict:
    """Estimated long notional (USDT) waiting in the range the price fell through after ``at``.

    Range = [lowest low of the ``n_bars`` bars closing after ``at``, close at ``at``]; a heatmap cell counts
    when its band overlaps the range. Also reports the OI change (base) over the same window.
    ``open_interest``: (ts ns, oi base, oi value USDT) tuples.
    """
    t = to_timestamp(at, "flush_check.time")
    snap = heatmap[heatmap["time"] == t]
    before = bars[bars["ts"] <= t].tail(1)
    after = bars[bars["ts"] > t].head(n_bars)
    if snap.empty or before.empty or after.empty:
        return {
            "time": t.isoformat(),
            "available": False,
            "note": "no heatmap snapshot or bars at this time (check heatmap_every / the run's range)",
        }
    price = float(before["close"].iloc[0])
    low = float(after["low"].min())
    longs = snap[snap["side"] == "long"]
    hit = longs[(longs["price_high"] > low) & (longs["price_low"] < price)]
    in_range = float(hit["notional_usd"].sum())
    total = float(longs["notional_usd"].sum())
    oi = pd.DataFrame(open_interest, columns=["ts", "oi", "oi_value"]) if open_interest else None
    oi_change = None
    if oi is not None and not oi.empty:
        end_t = after["ts"].iloc[-1].value
        o0 = oi[oi["ts"] <= t.value]
        o1 = oi[oi["ts"] <= end_t]
        if not o0.empty and not o1.empty:
            oi_change = float(o1["oi"].iloc[-1] - o0["oi"].iloc[-1])
    return {
        "time": t.isoformat(),
        "available": True,
        "close_before": price,
        "low_after": low,
        "window_end": after["ts"].iloc[-1].isoformat(),
        "long_notional_in_range_usd": in_range,
        "long_notional_total_usd": total,
        "share_of_longs_in_range": in_range / total if total > 0 else None,
        "long_clusters_waiting": in_range > 0,
        "open_interest_change_base": oi_change,
    }
