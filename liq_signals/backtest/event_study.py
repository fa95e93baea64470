"""Signal event study: do prices get pulled to estimated liquidation clusters, or bounce off them?

Input: a run directory's published proximity events (``proximity_events.csv``) and its bars (``bars.parquet``,
stamped at their close). For every ``entered`` event at bar close t0 (price p0, cluster at ``distance_bps``
d on ``side``: 'long' clusters lie below the price, 'short' above) and each horizon H:

- **first touch**: did the price reach the cluster's near edge within (t0, t0 + H]? (long: a bar low
  <= p0·(1 − d); short: a bar high >= p0·(1 + d));
- **return toward** the cluster: sign · (close(t0 + H) / p0 − 1) in bps, sign −1 for long clusters (below),
  +1 for short ones — positive = the price moved toward the cluster.

For every ``swept`` event (the bar traded through a cluster), the **continuation**: the return over H in the
direction of the sweep (down through long clusters, up through short ones), in bps.

Each event is set against ``controls`` random bar closes drawn (seeded) from the same **regime** with the same
side and distance: the answer to "would the price have gone that far that way anyway?". Regimes: a bar is in a
**cascade** when its trailing ``regime_window`` high-low range (as a fraction of its close) is in the top
``1 - cascade_quantile`` of the run's bars (default: the most volatile 10 %), else **calm**. Only data up to
t0 decides an event's regime; outcomes use bars after t0 (that is what is being measured).

Figures: rates with Wilson 95 % intervals, mean returns with normal 95 % intervals (mean ± 1.96·sd/√n); the
control side pools all its draws (n·controls), so its interval is narrower than independent samples would
give. Events whose horizon runs past the last bar are left out and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from liq_signals.errors import LiqSignalsError
from liq_signals.times import to_duration_ns
from liq_signals.validate.metrics import wilson_interval

REGIMES = ("all", "calm", "cascade")


@dataclass(frozen=True)
class EventStudyConfig:
    """Horizons (unit-bearing durations), control draws per event, RNG seed, regime window and quantile."""

    horizons: tuple = ("1h", "4h", "24h")
    controls: int = 20
    seed: int = 0
    regime_window: str = "4h"
    cascade_quantile: float = 0.9

    def __post_init__(self) -> None:
        for h in self.horizons:
            to_duration_ns(h, "--horizons")
        to_duration_ns(self.regime_window, "--regime-window")
        if not isinstance(self.controls, int) or self.controls < 1:
            raise LiqSignalsError(f"--controls must be an integer >= 1, got {self.controls!r}")
        if not 0 < self.cascade_quantile < 1:
            raise LiqSignalsError(f"--cascade-quantile must be in (0, 1), got {self.cascade_quantile!r}")


def _bars_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    ts = pd.to_datetime(bars["ts"], utc=True).astype("int64").to_numpy()
    if len(ts) < 3 or not (np.diff(ts) > 0).all():
        raise LiqSignalsError("bars.parquet: needs at least 3 bars in increasing time order")
    return ts, bars["high"].to_numpy(float), bars["low"].to_numpy(float), bars["close"].to_numpy(float)


def regimes(
    ts: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, window_ns: int, quantile: float
) -> np.ndarray:
    """bool per bar: True = cascade (trailing ``window_ns`` high-low range / close above its ``quantile``)."""
    step = int(np.median(np.diff(ts)))
    w = max(1, window_ns // step)
    hi = pd.Series(high).rolling(w, min_periods=1).max().to_numpy()
    lo = pd.Series(low).rolling(w, min_periods=1).min().to_numpy()
    rng = (hi - lo) / close
    return rng > np.quantile(rng, quantile)


def _outcomes(i0: np.ndarray, h: int, dist: np.ndarray, sign: np.ndarray, high, low, close):
    """(touched, return toward bps) for start bars ``i0`` over the next ``h`` bars; ``sign`` -1 = below."""
    idx = i0[:, None] + np.arange(1, h + 1)[None, :]
    p0 = close[i0]
    reach_down = low[idx].min(axis=1) <= p0 * (1.0 - dist)
    reach_up = high[idx].max(axis=1) >= p0 * (1.0 + dist)
    touched = np.where(sign < 0, reach_down, reach_up)
    ret = sign * (close[i0 + h] / p0 - 1.0) * 1e4
    return touched, ret


def _mean_ci(x: np.ndarray) -> dict:
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": [None, None]}
    m = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": m, "ci95": [m - half, m + half]}


def _rate_ci(x: np.ndarray) -> dict:
    n, k = len(x), int(np.sum(x))
    lo, hi = wilson_interval(k, n) if n else (None, None)
    return {"n": n, "rate": k / n if n else None, "ci95": [lo, hi]}


def run_event_study(events: pd.DataFrame, bars: pd.DataFrame, cfg: EventStudyConfig = EventStudyConfig()) -> dict:
    """The study (see module doc) as a JSON-ready dict: per event kind, horizon and regime, the events' figures
    next to the controls', and ``rows``: one record per event and horizon."""
    ts, high, low, close = _bars_arrays(bars)
    step = int(np.median(np.diff(ts)))
    cascade = regimes(ts, high, low, close, to_duration_ns(cfg.regime_window), cfg.cascade_quantile)
    ev = events.copy()
    ev["t_ns"] = pd.to_datetime(ev["ts"], utc=True).astype("int64")
    pos = np.searchsorted(ts, ev["t_ns"].to_numpy())
    found = (pos < len(ts)) & (ts[np.minimum(pos, len(ts) - 1)] == ev["t_ns"].to_numpy())
    ev, pos = ev[found].reset_index(drop=True), pos[found]
    rng = np.random.default_rng(cfg.seed)
    out: dict = {
        "settings": {
            "horizons": list(cfg.horizons),
            "controls": cfg.controls,
            "seed": cfg.seed,
            "regime_window": cfg.regime_window,
            "cascade_quantile": cfg.cascade_quantile,
            "bar_ns": step,
            "events_matched_to_bars": int(found.sum()),
            "events_not_on_a_bar": int((~found).sum()),
        },
        "results": [],
        "rows": [],
    }
    for kind in ("entered", "swept"):
        mask = (ev["event"] == kind).to_numpy()
        sign = np.where(ev["side"].to_numpy()[mask] == "long", -1.0, 1.0)
        dist = ev["distance_bps"].to_numpy(float)[mask] / 1e4
        i0_all = pos[mask]
        for hz in cfg.horizons:
            h = max(1, -(-to_duration_ns(hz) // step))
            ok = i0_all + h < len(ts)
            i0, s, d = i0_all[ok], sign[ok], dist[ok]
            touched, ret = _outcomes(i0, h, d, s, high, low, close)
            eligible = np.arange(len(ts) - h)
            # controls: same side and distance, random bar closes of the same regime as the event
            c_touch, c_ret, c_reg = [], [], []
            for k in range(len(i0)):
                pool = eligible[cascade[eligible] == cascade[i0[k]]]
                j = rng.choice(pool, cfg.controls)
                t, r = _outcomes(j, h, np.full(cfg.controls, d[k]), np.full(cfg.controls, s[k]), high, low, close)
                c_touch.append(t)
                c_ret.append(r)
                c_reg.append(np.full(cfg.controls, cascade[i0[k]]))
            c_touch = np.concatenate(c_touch) if c_touch else np.zeros(0, bool)
            c_ret = np.concatenate(c_ret) if c_ret else np.zeros(0)
            c_reg = np.concatenate(c_reg) if c_reg else np.zeros(0, bool)
            reg = cascade[i0]
            for regime in REGIMES:
                m = np.ones(len(i0), bool) if regime == "all" else (reg if regime == "cascade" else ~reg)
                cm = np.ones(len(c_reg), bool) if regime == "all" else (c_reg if regime == "cascade" else ~c_reg)
                res = {
                    "event": kind,
                    "horizon": hz,
                    "regime": regime,
                    "events": int(m.sum()),
                    "dropped_past_data": int((~ok).sum()) if regime == "all" else None,
                }
                label = "return_toward_bps" if kind == "entered" else "continuation_bps"
                res[label] = _mean_ci(ret[m])
                res[f"control_{label}"] = _mean_ci(c_ret[cm])
                if kind == "entered":
                    res["touch"] = _rate_ci(touched[m])
                    res["control_touch"] = _rate_ci(c_touch[cm])
                out["results"].append(res)
            for k in range(len(i0)):
                out["rows"].append(
                    {
                        "ts": pd.Timestamp(ts[i0[k]], unit="ns", tz="UTC").isoformat(),
                        "event": kind,
                        "side": "long" if s[k] < 0 else "short",
                        "distance_bps": d[k] * 1e4,
                        "horizon": hz,
                        "regime": "cascade" if reg[k] else "calm",
                        "touched": bool(touched[k]) if kind == "entered" else None,
                        "return_bps": float(ret[k]),
                    }
                )
    return out


def headline(study: dict) -> list[str]:
    """One plain sentence per horizon for 'entered' events over all regimes (what the README quotes)."""
    lines = []
    for r in study["results"]:
        if r["event"] != "entered" or r["regime"] != "all" or not r["events"]:
            continue
        t, ct = r["touch"], r["control_touch"]
        m, cm = r["return_toward_bps"], r["control_return_toward_bps"]
        lines.append(
            f"{r['horizon']}: {r['events']} entered events touched their cluster {t['rate']:.0%} "
            f"(95% {t['ci95'][0]:.0%}-{t['ci95'][1]:.0%}) vs {ct['rate']:.0%} for matched random times; "
            f"return toward the cluster {m['mean']:+.1f} bps (95% {m['ci95'][0]:+.1f} to {m['ci95'][1]:+.1f}) "
            f"vs {cm['mean']:+.1f} bps"
        )
    return lines
