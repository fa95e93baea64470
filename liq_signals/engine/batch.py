"""Batch outputs built by stepping ONE ``LiquidationEngine`` through the inputs in time order.

``run_heatmap`` snapshots every ``every`` on a grid fixed for the whole run (so a bucket is the same
price band in every column); ``levels_at`` gives one snapshot; ``compare_models`` runs the three models
(one ensemble engine holds them all) and measures how much they agree. A snapshot at time t reflects the
last bar closed at or before t and nothing stamped later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.feeder import InputFeeder
from liq_signals.errors import LiqSignalsError
from liq_signals.times import ns_to_iso, to_duration_ns, to_ns  # noqa: F401  (to_ns re-exported)


@dataclass(frozen=True, eq=False)
class Heatmap:
    """Snapshots over time on one fixed grid. ``times_ns`` [T] (epoch ns), ``prices`` [T] (last close,
    USDT), ``edges`` [B+1] (USDT), ``long``/``short`` [T, B] and ``long_tiers``/``short_tiers`` [T, tier, B]
    notional (USDT; ensemble: USDT-scaled intensity), ``notes`` (unique, in order of appearance),
    ``brackets`` (table of the last snapshot)."""

    symbol: str
    model: str
    tiers: tuple
    times_ns: np.ndarray
    prices: np.ndarray
    edges: np.ndarray
    long_tiers: np.ndarray
    short_tiers: np.ndarray
    notes: tuple
    brackets: dict
    outside_grid: tuple = ()

    @property
    def long(self) -> np.ndarray:
        return self.long_tiers.sum(axis=1)

    @property
    def short(self) -> np.ndarray:
        return self.short_tiers.sum(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Long format: time (UTC), side, tier, price_low, price_high, notional_usd (non-zero cells only)."""
        frames = []
        for side, arr in (("long", self.long_tiers), ("short", self.short_tiers)):
            t, k, b = np.nonzero(arr)
            frames.append(
                pd.DataFrame(
                    {
                        "time": pd.to_datetime(self.times_ns[t], unit="ns", utc=True),
                        "side": side,
                        "tier": np.asarray(self.tiers, float)[k],
                        "price_low": self.edges[b],
                        "price_high": self.edges[b + 1],
                        "notional_usd": arr[t, k, b].astype(float),
                    }
                )
            )
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values(["time", "side", "tier", "price_low"], ignore_index=True)


def _snapshot_times(inputs, start, end, every) -> np.ndarray:
    t0 = to_ns(start) if start is not None else int(inputs.bars["ts_ns"].iloc[0])
    t1 = to_ns(end) if end is not None else int(inputs.bars["ts_ns"].iloc[-1])
    if t1 < t0:
        raise LiqSignalsError("end is before start")
    step = to_duration_ns(every, "every")
    times = np.arange(t0, t1 + 1, step, dtype=np.int64)
    first_bar = int(inputs.bars["ts_ns"].iloc[0])
    times = times[times >= first_bar]
    if len(times) == 0:
        raise LiqSignalsError("no bars at or before the requested range: nothing to snapshot")
    return times


def run_edges(inputs, config: EngineConfig, times: np.ndarray) -> np.ndarray:
    """One grid for the whole run: the price range of the bars up to the last snapshot, widened by
    ``grid_range_fraction`` on both sides."""
    b = inputs.bars[inputs.bars["ts_ns"] <= times[-1]]
    lo, hi = float(b["low"].min()), float(b["high"].max())
    r = config.grid_range_fraction
    return config.grid().edges(lo * (1 - r), hi * (1 + r))


def _add_note(notes: list, note: str) -> None:
    """Keep notes unique; bracket notes (which name the day) keep only the latest one."""
    if note in notes:
        return
    if note.startswith("brackets:"):
        notes[:] = [n for n in notes if not n.startswith("brackets:")]
    notes.append(note)


def _run(inputs, config: EngineConfig, times: np.ndarray, models: list[str], edges, progress=None):
    engine = LiquidationEngine(config)
    feeder = InputFeeder(inputs, engine)
    n_t, n_b = len(config.tiers), len(edges) - 1
    out = {
        m: (np.zeros((len(times), n_t, n_b), np.float32), np.zeros((len(times), n_t, n_b), np.float32), [], [], {})
        for m in models
    }
    prices = np.full(len(times), np.nan)
    for i, t in enumerate(times):
        feeder.run_until(int(t))
        if engine.ts_ns is None:
            continue
        prices[i] = engine.price
        for m in models:
            snap = engine.snapshot(edges, model=m)
            lt, st, notes, outside, br = out[m]
            lt[i], st[i] = snap.long_notional, snap.short_notional
            for n in snap.notes:
                _add_note(notes, n)
            outside.append(snap.outside_grid)
            br.update(snap.brackets)
        if progress is not None:
            progress(i + 1, len(times))
    return out, prices


def run_heatmap(inputs, config: EngineConfig, start=None, end=None, every="15m", progress=None) -> Heatmap:
    """Heatmap of ``config.model`` from ``start`` to ``end`` (UTC) every ``every`` (e.g. '15m'); the engine
    warms up on all inputs before ``start``. ``progress(i, n)`` is called after each snapshot."""
    times = _snapshot_times(inputs, start, end, every)
    edges = run_edges(inputs, config, times)
    out, prices = _run(inputs, config, times, [config.model], edges, progress)
    lt, st, notes, outside, br = out[config.model]
    return Heatmap(
        inputs.symbol, config.model, config.tiers, times, prices, edges, lt, st, tuple(notes), br, tuple(outside)
    )


def levels_at(inputs, config: EngineConfig, t) -> LevelSnapshot:  # noqa: F821
    """The engine's snapshot at time ``t`` (after the last bar closed at or before t)."""
    t_ns = to_ns(t)
    engine = LiquidationEngine(config)
    feeder = InputFeeder(inputs, engine)
    feeder.run_until(t_ns)
    if engine.ts_ns is None:
        raise LiqSignalsError(f"no bar at or before {ns_to_iso(t_ns)}")
    return engine.snapshot()


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return float("nan")
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _cosine(x: np.ndarray, y: np.ndarray) -> float:
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    return float(x @ y / (nx * ny)) if nx > 0 and ny > 0 else float("nan")


def _top_buckets(long: np.ndarray, short: np.ndarray, k: int) -> set:
    cells = [("long", i, v) for i, v in enumerate(long) if v > 0] + [
        ("short", i, v) for i, v in enumerate(short) if v > 0
    ]
    cells.sort(key=lambda c: -c[2])
    return {(s, i) for s, i, _ in cells[:k]}


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """``heatmaps`` {model: Heatmap}; ``agreement`` rows {a, b, spearman, cosine, top_k_overlap} averaged
    over snapshot times where both models have levels (Spearman/cosine over buckets either model fills,
    long and short stacked; overlap = Jaccard of the top-k (side, bucket) cells)."""

    heatmaps: dict
    agreement: pd.DataFrame


def compare_models(inputs, config: EngineConfig, start=None, end=None, every="1h", top_k: int = 10) -> ModelComparison:
    """Run a, b, c and the ensemble through one engine and measure their pairwise agreement."""
    cfg = replace(config, model="ensemble")
    times = _snapshot_times(inputs, start, end, every)
    edges = run_edges(inputs, cfg, times)
    models = ["a", "b", "c", "ensemble"]
    out, prices = _run(inputs, cfg, times, models, edges)
    heatmaps = {
        m: Heatmap(
            inputs.symbol,
            m,
            cfg.tiers,
            times,
            prices,
            edges,
            out[m][0],
            out[m][1],
            tuple(out[m][2]),
            out[m][4],
            tuple(out[m][3]),
        )
        for m in models
    }
    rows = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            sp, co, ov = [], [], []
            ha, hb = heatmaps[a], heatmaps[b]
            va = np.concatenate([ha.long, ha.short], axis=1)
            vb = np.concatenate([hb.long, hb.short], axis=1)
            for t in range(len(times)):
                x, y = va[t].astype(float), vb[t].astype(float)
                if x.sum() <= 0 or y.sum() <= 0:
                    continue
                m = (x > 0) | (y > 0)
                sp.append(_spearman(x[m], y[m]))
                co.append(_cosine(x, y))
                ta = _top_buckets(ha.long[t], ha.short[t], top_k)
                tb = _top_buckets(hb.long[t], hb.short[t], top_k)
                ov.append(len(ta & tb) / len(ta | tb) if ta | tb else np.nan)
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "n_times": len(co),
                    "spearman": float(np.nanmean(sp)) if sp and not np.all(np.isnan(sp)) else float("nan"),
                    "cosine": float(np.nanmean(co)) if co and not np.all(np.isnan(co)) else float("nan"),
                    "top_k_overlap": float(np.nanmean(ov)) if ov and not np.all(np.isnan(ov)) else float("nan"),
                }
            )
    return ModelComparison(heatmaps, pd.DataFrame(rows))
