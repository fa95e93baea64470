"""Pure accuracy metrics: predicted liquidation zones vs realized liquidation events.

Inputs are plain pandas frames, so the metrics do not depend on the engine:

- **zones**: one row per predicted zone, columns ``side`` (``long``/``short``), ``price_low``,
  ``price_high`` (USDT, closed interval) and ``intensity`` (predicted notional, USDT, or any score).
- **events**: one row per realized liquidation, columns ``side`` (``long`` = a long was liquidated,
  Binance side SELL; ``short`` = BUY), ``price_low``, ``price_high`` (USDT; equal for a recorded fill,
  a range for an OI-drop proxy whose notional is spread uniformly over the range) and ``notional_usd``.

Definitions (docs/domain.md §4), for one snapshot and one horizon, restricted to one side or to both:

- a zone is *hit* when at least one same-side event overlaps its closed price interval;
  precision@k = hit zones / zones;
- realized notional *inside* the zones = for each event, its notional times the share of its price
  range covered by the union of same-side zones (1 or 0 for a point event); notional recall =
  inside / total same-side realized notional (NaN when nothing was realized);
- Spearman rank correlation (average ranks for ties) between zone intensity and the same-side notional
  realized inside each zone, over the zones the price path touched in the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SIDES = ("long", "short")
Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def _side_mask(frame: pd.DataFrame, side: str) -> np.ndarray:
    return frame["side"].to_numpy() == side


def event_overlap_fraction(ev_low: np.ndarray, ev_high: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Share of each event's price range inside the closed band [lo, hi] (point events: 1.0 or 0.0)."""
    ev_low = np.asarray(ev_low, dtype=float)
    ev_high = np.asarray(ev_high, dtype=float)
    width = ev_high - ev_low
    inter = np.clip(np.minimum(ev_high, hi) - np.maximum(ev_low, lo), 0.0, None)
    point = width <= 0
    frac = np.where(point, 0.0, inter / np.where(point, 1.0, width))
    inside_point = (ev_low >= lo) & (ev_low <= hi)
    return np.where(point, inside_point.astype(float), frac)


def zone_hits(zones: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Bool per zone: does at least one same-side event overlap the zone's closed price interval?"""
    out = np.zeros(len(zones), dtype=bool)
    if len(zones) == 0 or len(events) == 0:
        return out
    zl, zh, zs = (zones[c].to_numpy() for c in ("price_low", "price_high", "side"))
    el, eh, es = (events[c].to_numpy() for c in ("price_low", "price_high", "side"))
    same = zs[:, None] == es[None, :]
    overlap = (el[None, :] <= zh[:, None]) & (eh[None, :] >= zl[:, None])
    return (same & overlap).any(axis=1)


def zone_realized_notional(zones: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """Same-side realized notional (USDT) inside each zone (overlapping zones each count it in full)."""
    out = np.zeros(len(zones), dtype=float)
    if len(zones) == 0 or len(events) == 0:
        return out
    el, eh, es = (events[c].to_numpy() for c in ("price_low", "price_high", "side"))
    en = events["notional_usd"].to_numpy(dtype=float)
    for i, (lo, hi, side) in enumerate(zip(zones["price_low"], zones["price_high"], zones["side"])):
        m = es == side
        if m.any():
            out[i] = float(np.sum(en[m] * event_overlap_fraction(el[m], eh[m], lo, hi)))
    return out


def merge_intervals(lows: np.ndarray, highs: np.ndarray) -> list[tuple[float, float]]:
    """Union of closed intervals as sorted, disjoint (low, high) pairs."""
    order = np.argsort(lows, kind="stable")
    merged: list[list[float]] = []
    for lo, hi in zip(np.asarray(lows, float)[order], np.asarray(highs, float)[order]):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(a, b) for a, b in merged]


def captured_notional(zones: pd.DataFrame, events: pd.DataFrame, side: str | None = None) -> tuple[float, float]:
    """(notional inside the union of same-side zones, total notional), USDT, for ``side`` or both sides."""
    captured = total = 0.0
    for s in SIDES if side is None else (side,):
        ev = events[_side_mask(events, s)]
        if len(ev) == 0:
            continue
        en = ev["notional_usd"].to_numpy(dtype=float)
        total += float(en.sum())
        z = zones[_side_mask(zones, s)]
        if len(z) == 0:
            continue
        el, eh = ev["price_low"].to_numpy(float), ev["price_high"].to_numpy(float)
        frac = np.zeros(len(ev))
        for lo, hi in merge_intervals(z["price_low"].to_numpy(float), z["price_high"].to_numpy(float)):
            frac += event_overlap_fraction(el, eh, lo, hi)
        captured += float(np.sum(en * np.minimum(frac, 1.0)))
    return captured, total


def precision_at_k(zones: pd.DataFrame, events: pd.DataFrame) -> tuple[int, int]:
    """(zones hit by >= 1 same-side event, zones scored)."""
    return int(zone_hits(zones, events).sum()), len(zones)


def notional_recall(zones: pd.DataFrame, events: pd.DataFrame, side: str | None = None) -> float:
    """Share of realized same-side notional inside predicted zones; NaN when nothing was realized."""
    inside, total = captured_notional(zones, events, side)
    return inside / total if total > 0 else math.nan


def spearman(x, y) -> float:
    """Spearman rank correlation with average ranks for ties; NaN for < 3 pairs or a constant input."""
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError("spearman: x and y differ in length")
    if len(x) < 3:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def touched_mask(zones: pd.DataFrame, path_low: float, path_high: float) -> np.ndarray:
    """Bool per zone: does the closed price range [path_low, path_high] (USDT) overlap the zone?"""
    if len(zones) == 0 or not (math.isfinite(path_low) and math.isfinite(path_high)):
        return np.zeros(len(zones), dtype=bool)
    return (zones["price_low"].to_numpy(float) <= path_high) & (zones["price_high"].to_numpy(float) >= path_low)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (NaN, NaN) when there are no trials."""
    if trials <= 0:
        return math.nan, math.nan
    p = successes / trials
    z2 = z * z
    denom = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact 0 / 1 at the ends (no rounding dust)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True)
class SideScore:
    """One snapshot × horizon × side (``long``, ``short`` or ``all``) before aggregation."""

    side: str
    hits: int
    n_zones: int
    captured_usd: float
    realized_usd: float
    n_events: int
    spearman: float
    n_touched: int


def score_side(zones: pd.DataFrame, events: pd.DataFrame, side: str, path_low: float, path_high: float) -> SideScore:
    """Score ``zones`` against ``events`` for ``side`` (``long``/``short``/``all``) given the price path range."""
    if side == "all":
        z, ev = zones, events
        captured, total = captured_notional(zones, events, None)
    else:
        z, ev = zones[_side_mask(zones, side)], events[_side_mask(events, side)]
        captured, total = captured_notional(zones, events, side)
    hits, n = precision_at_k(z, ev)
    touched = touched_mask(z, path_low, path_high)
    realized = zone_realized_notional(z[touched], ev) if touched.any() else np.zeros(0)
    rho = spearman(z["intensity"].to_numpy(float)[touched], realized) if touched.sum() >= 3 else math.nan
    return SideScore(side, hits, n, captured, total, len(ev), rho, int(touched.sum()))


def score_snapshot(
    zones: pd.DataFrame, events: pd.DataFrame, path_low: float, path_high: float
) -> dict[str, SideScore]:
    """Scores for ``long``, ``short`` and ``all``."""
    return {s: score_side(zones, events, s, path_low, path_high) for s in (*SIDES, "all")}
