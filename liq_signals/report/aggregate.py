"""Aggregation of heatmap rows onto display grids (pure numpy/pandas, no Plotly).

Heatmap rows are long-format engine snapshots: ``time``, ``side``, ``tier`` (leverage), ``price_low``,
``price_high`` (USDT) and ``notional_usd`` (USDT of positions estimated to liquidate in that band).
A month of 5-minute snapshots is far more than a browser can draw, so:

- **time**: consecutive snapshots are grouped into at most ``max_cols`` columns; a column holds the
  **mean** over its snapshots (so a cluster present for half a column shows at half intensity and swept
  clusters still end where they ended);
- **price**: each row's notional is spread over a regular grid of at most ``max_rows`` bins in proportion
  to the overlap of its band with each bin (notional is conserved inside the grid range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


def nice_step(raw: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k step >= ``raw`` (raw > 0)."""
    if not (raw > 0 and math.isfinite(raw)):
        raise ValueError(f"step must be > 0, got {raw}")
    exp = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * 10.0**exp
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 ** (exp + 1)


def price_grid(low: float, high: float, max_rows: int, min_step: float = 0.0) -> np.ndarray:
    """Regular edges (USDT) on a nice step covering [low, high] with at most ``max_rows`` bins."""
    if not (0 < low < high):
        high = low * 1.001 + 1e-9 if low > 0 else 1.0
        low = max(low, 1e-9)
    step = nice_step(max((high - low) / max(max_rows, 1), min_step, 1e-9))
    while True:
        k0, k1 = math.floor(low / step), math.ceil(high / step)
        if k1 - k0 <= max_rows or step > high:
            break
        step = nice_step(step * 1.0001)
    k1 = max(k1, k0 + 1)
    return np.arange(k0, k1 + 1) * step


def spread_onto_grid(
    lo: np.ndarray, hi: np.ndarray, weight: np.ndarray, col: np.ndarray, edges: np.ndarray, ncols: int
) -> np.ndarray:
    """Spread each band [lo, hi] (USDT) with ``weight`` onto regular price ``edges`` in column ``col``.

    Returns an ``(len(edges) - 1, ncols)`` array; a band's weight goes to bins in proportion to overlap
    (a zero-width band goes to the bin holding it). Parts outside the grid are dropped.
    """
    nrows = len(edges) - 1
    out = np.zeros((nrows, ncols))
    if len(lo) == 0:
        return out
    e0, step = float(edges[0]), float(edges[1] - edges[0])
    lo = np.asarray(lo, float)
    hi = np.maximum(np.asarray(hi, float), lo)
    w = np.asarray(weight, float)
    col = np.asarray(col, np.int64)
    a = (lo - e0) / step
    b = (hi - e0) / step
    point = (b - a) <= 1e-12
    # zero-width bands: whole weight to the bin holding the price
    if point.any():
        ip = np.floor(a[point]).astype(np.int64)
        ok = (ip >= 0) & (ip < nrows)
        np.add.at(out, (ip[ok], col[point][ok]), w[point][ok])
    a, b, w, col = a[~point], b[~point], w[~point], col[~point]
    if len(a) == 0:
        return out
    dens = w / (b - a)  # weight per bin-width unit
    a = np.clip(a, 0.0, nrows)
    b = np.clip(b, 0.0, nrows)
    keep = b > a
    a, b, dens, col = a[keep], b[keep], dens[keep], col[keep]
    ia = np.minimum(np.floor(a).astype(np.int64), nrows - 1)
    ib = np.minimum(np.floor(b).astype(np.int64), nrows - 1)
    same = ia == ib
    np.add.at(out, (ia[same], col[same]), dens[same] * (b[same] - a[same]))
    d = ~same
    ia, ib, a, b, dens, col = ia[d], ib[d], a[d], b[d], dens[d], col[d]
    np.add.at(out, (ia, col), dens * (ia + 1 - a))
    np.add.at(out, (ib, col), dens * (b - ib))
    # interior bins ia+1 .. ib-1 each get one full bin of density: difference array along price
    diff = np.zeros((nrows + 1, ncols))
    inner = ib > ia + 1
    np.add.at(diff, (ia[inner] + 1, col[inner]), dens[inner])
    np.add.at(diff, (ib[inner], col[inner]), -dens[inner])
    out += np.cumsum(diff, axis=0)[:nrows]
    return out


@dataclass(frozen=True)
class HeatmapMatrix:
    """Time x price grid of estimated liquidation notional (USDT, mean over the snapshots of a column).

    ``long``/``short``/``tiers`` are indexed ``[price_bin, column]``; ``by_tier[i]`` belongs to
    ``tiers[i]`` (long + short). ``times`` are the first snapshot time of each column (naive UTC).
    """

    times: np.ndarray  # datetime64[ns], len ncols
    edges: np.ndarray  # USDT, len nrows + 1
    long: np.ndarray
    short: np.ndarray
    tiers: np.ndarray  # leverage values
    by_tier: np.ndarray  # (ntiers, nrows, ncols)
    snapshots_per_col: np.ndarray  # int, len ncols
    notional_outside: float  # mean-per-column USDT of bands outside the grid (summed over columns)

    @property
    def total(self) -> np.ndarray:
        return self.long + self.short

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    def dominant_tier(self) -> np.ndarray:
        """Leverage tier with the most notional in each cell (0 where the cell is empty)."""
        if len(self.tiers) == 0:
            return np.zeros(self.long.shape)
        idx = np.argmax(self.by_tier, axis=0)
        return np.where(self.total > 0, self.tiers[idx], 0)


def column_index(times: np.ndarray, max_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group sorted unique snapshot times into <= ``max_cols`` consecutive columns.

    Returns (column of each unique time, first time of each column, snapshot count per column).
    """
    uniq = np.unique(times)
    per = max(1, math.ceil(len(uniq) / max(max_cols, 1)))
    col_of_uniq = np.arange(len(uniq)) // per
    ncols = int(col_of_uniq[-1]) + 1 if len(uniq) else 0
    counts = np.bincount(col_of_uniq, minlength=ncols)
    firsts = uniq[::per]
    return col_of_uniq, firsts, counts


def heatmap_matrix(
    heatmap: pd.DataFrame,
    max_cols: int = 720,
    max_rows: int = 260,
    price_range: tuple[float, float] | None = None,
) -> HeatmapMatrix:
    """Aggregate long-format heatmap rows (see module doc) to a ``HeatmapMatrix``.

    ``price_range`` (USDT) bounds the grid; default: the range of all bands.
    """
    times = heatmap["time"].to_numpy()
    col_of_uniq, firsts, counts = column_index(times, max_cols)
    uniq = np.unique(times)
    col = col_of_uniq[np.searchsorted(uniq, times)]
    ncols = len(firsts)
    lo = heatmap["price_low"].to_numpy(float)
    hi = heatmap["price_high"].to_numpy(float)
    if price_range is None:
        price_range = (float(lo.min()), float(hi.max())) if len(lo) else (1.0, 2.0)
    widths = hi - lo
    native = float(np.median(widths[widths > 0])) if (widths > 0).any() else 0.0
    edges = price_grid(price_range[0], price_range[1], max_rows, min_step=native)
    notional = heatmap["notional_usd"].to_numpy(float)
    side_long = heatmap["side"].to_numpy() == "long"
    tier = heatmap["tier"].to_numpy(np.int64)
    tiers = np.unique(tier)
    by_tier = np.zeros((len(tiers), len(edges) - 1, ncols))
    long = np.zeros((len(edges) - 1, ncols))
    short = np.zeros_like(long)
    for i, t in enumerate(tiers):
        for is_long, target in ((True, long), (False, short)):
            m = (tier == t) & (side_long == is_long)
            if m.any():
                part = spread_onto_grid(lo[m], hi[m], notional[m], col[m], edges, ncols)
                by_tier[i] += part
                target += part
    scale = 1.0 / np.maximum(counts, 1)
    long *= scale
    short *= scale
    by_tier *= scale
    inside = float(long.sum() + short.sum())
    total_mean = float(np.bincount(col, weights=notional, minlength=ncols).dot(scale)) if ncols else 0.0
    return HeatmapMatrix(
        times=firsts,
        edges=edges,
        long=long,
        short=short,
        tiers=tiers,
        by_tier=by_tier,
        snapshots_per_col=counts,
        notional_outside=max(total_mean - inside, 0.0),
    )


@dataclass(frozen=True)
class LevelProfile:
    """One snapshot on a price grid: notional (USDT) per ``[tier, bin]`` for each side, plus the
    cumulative curves a trader reads on a liquidation map (longs summed from the price downwards,
    shorts from the price upwards)."""

    time: np.datetime64
    price: float  # reference (last) price in USDT
    edges: np.ndarray
    tiers: np.ndarray
    long: np.ndarray  # (ntiers, nbins)
    short: np.ndarray  # (ntiers, nbins)

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    def _snapshot(self):
        from liq_signals.engine.snapshot import LevelSnapshot

        return LevelSnapshot(
            symbol="",
            ts_ns=0,
            price=self.price,
            model="",
            edges=self.edges,
            tiers=tuple(self.tiers),
            long_notional=self.long,
            short_notional=self.short,
            brackets={},
        )

    def cumulative_long(self) -> np.ndarray:
        """The engine's rule (``LevelSnapshot.cumulative_long``): for bins whose low edge is below the price,
        the long notional of that bin and every bin up to the price; NaN for the other bins (not drawn)."""
        below = self.edges[:-1] < self.price
        return np.where(below, self._snapshot().cumulative_long(), np.nan)

    def cumulative_short(self) -> np.ndarray:
        """The engine's rule (``LevelSnapshot.cumulative_short``): for bins whose high edge is above the price,
        the short notional from the price up to that bin; NaN for the other bins (not drawn)."""
        above = self.edges[1:] > self.price
        return np.where(above, self._snapshot().cumulative_short(), np.nan)


def snapshot_range(
    rows: pd.DataFrame, price: float, coverage: float = 0.98, min_frac: float = 0.03, max_frac: float = 0.30
) -> tuple[float, float]:
    """Price window (USDT) around ``price`` holding ``coverage`` of the snapshot's notional, clipped to
    ``price * (1 ± [min_frac, max_frac])``."""
    if len(rows) == 0:
        return price * (1 - min_frac), price * (1 + min_frac)
    mid = (rows["price_low"].to_numpy(float) + rows["price_high"].to_numpy(float)) / 2
    dist = np.abs(mid / price - 1.0)
    w = rows["notional_usd"].to_numpy(float)
    order = np.argsort(dist)
    cw = np.cumsum(w[order])
    k = int(np.searchsorted(cw, coverage * cw[-1]))
    frac = float(dist[order][min(k, len(order) - 1)]) * 1.05
    frac = min(max(frac, min_frac), max_frac)
    return price * (1 - frac), price * (1 + frac)


def level_profile(
    rows: pd.DataFrame,
    time,
    price: float,
    max_rows: int = 120,
    price_range: tuple[float, float] | None = None,
    tiers: np.ndarray | None = None,
) -> LevelProfile:
    """Put one snapshot's rows (a single ``time``) on a regular price grid around ``price``."""
    if price_range is None:
        price_range = snapshot_range(rows, price)
    edges = price_grid(price_range[0], price_range[1], max_rows)
    if tiers is None:
        tiers = np.unique(rows["tier"].to_numpy(np.int64))
    tier = rows["tier"].to_numpy(np.int64)
    side_long = rows["side"].to_numpy() == "long"
    lo = rows["price_low"].to_numpy(float)
    hi = rows["price_high"].to_numpy(float)
    w = rows["notional_usd"].to_numpy(float)
    out = {True: np.zeros((len(tiers), len(edges) - 1)), False: np.zeros((len(tiers), len(edges) - 1))}
    for i, t in enumerate(tiers):
        for is_long in (True, False):
            m = (tier == t) & (side_long == is_long)
            if m.any():
                out[is_long][i] = spread_onto_grid(lo[m], hi[m], w[m], np.zeros(int(m.sum()), np.int64), edges, 1)[:, 0]
    return LevelProfile(
        time=np.datetime64(pd.Timestamp(time).to_datetime64()),
        price=float(price),
        edges=edges,
        tiers=np.asarray(tiers),
        long=out[True],
        short=out[False],
    )


def price_at(bars: pd.DataFrame, time) -> float:
    """Close (USDT) of the last bar with ``ts <= time`` (first bar's open when before the data)."""
    ts = bars["ts"].to_numpy()
    i = int(np.searchsorted(ts, np.datetime64(pd.Timestamp(time).to_datetime64()), side="right")) - 1
    return float(bars["close"].iloc[i]) if i >= 0 else float(bars["open"].iloc[0])


def profile_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two non-negative profiles after normalising each to sum 1: sum(min(a, b)) in [0, 1]
    (1 = same shape, 0 = disjoint); NaN when either is empty."""
    sa, sb = float(np.sum(a)), float(np.sum(b))
    if sa <= 0 or sb <= 0:
        return float("nan")
    return float(np.minimum(np.asarray(a) / sa, np.asarray(b) / sb).sum())


def downsample_bars(bars: pd.DataFrame, max_bars: int) -> pd.DataFrame:
    """OHLCV resampled to a whole multiple of the bar interval so at most ``max_bars`` remain."""
    if len(bars) <= max_bars:
        return bars
    per = math.ceil(len(bars) / max_bars)
    g = np.arange(len(bars)) // per
    agg = bars.groupby(g).agg(
        ts=("ts", "first"),
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    return agg.reset_index(drop=True)
