"""Distance-matched random baseline for precision@k and notional recall.

Definition (for one snapshot with reference price ``p0`` = the last close at or before t0, USDT):
every real zone ``i`` (side ``s_i``, width ``w_i`` in USDT) gets a random twin with the **same side and
width** whose centre is ``p0 * (1 + sigma * d_J)``, where

- ``d_j = |centre_j / p0 - 1|`` is the relative distance from price of real zone ``j`` of the same
  snapshot (both sides pooled),
- ``J`` is drawn uniformly from the snapshot's zones and ``sigma`` uniformly from {-1, +1},
  independently per zone and per draw.

So the random zones have exactly the real zones' distance distribution from price and their widths,
but no knowledge of which distance goes with which zone nor on which side of price it lies. The
expectation is analytic: each twin is one of ``2N`` equally likely placements, so the expected hit
probability of zone ``i`` is the hit share over those placements (:func:`expected_hit_probability`).
The run estimates the baseline as the mean over ``n_draws`` seeded draws (``numpy.random.default_rng``).

Caveat (printed in reports): placing a zone on the wrong side of price is part of the null, so a model
that merely puts long zones below price and short zones above already beats this baseline whenever the
price moves one way; compare the lift between models, not against 1 alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liq_signals.validate.metrics import SIDES, event_overlap_fraction, merge_intervals


def relative_distances(zones: pd.DataFrame, p0: float) -> np.ndarray:
    """|zone centre / p0 - 1| per zone (dimensionless)."""
    centre = (zones["price_low"].to_numpy(float) + zones["price_high"].to_numpy(float)) / 2.0
    return np.abs(centre / p0 - 1.0)


def candidate_centres(zones: pd.DataFrame, p0: float) -> np.ndarray:
    """The ``2N`` equally likely twin centres (USDT): ``p0 * (1 ± d_j)`` for every zone ``j``."""
    d = relative_distances(zones, p0)
    return np.concatenate([p0 * (1.0 - d), p0 * (1.0 + d)])


def draw_centres(zones: pd.DataFrame, p0: float, rng: np.random.Generator, n_draws: int) -> np.ndarray:
    """Random twin centres, shape ``(n_draws, N)`` (USDT)."""
    n = len(zones)
    d = relative_distances(zones, p0)
    j = rng.integers(0, n, size=(n_draws, n))
    sigma = rng.choice(np.array([-1.0, 1.0]), size=(n_draws, n))
    return p0 * (1.0 + sigma * d[j])


def _hits(zl: np.ndarray, zh: np.ndarray, zs: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    """Hit flags for zone bounds of any leading shape ``(..., N)``; zs has shape ``(N,)``."""
    if len(events) == 0:
        return np.zeros(zl.shape, dtype=bool)
    el, eh, es = (events[c].to_numpy() for c in ("price_low", "price_high", "side"))
    same = zs[:, None] == es[None, :]  # (N, E)
    overlap = (el <= zh[..., None]) & (eh >= zl[..., None])  # (..., N, E)
    return (overlap & same).any(axis=-1)


def expected_hit_probability(zones: pd.DataFrame, events: pd.DataFrame, p0: float) -> np.ndarray:
    """Exact expected hit probability of each zone's random twin (average over the 2N placements)."""
    if len(zones) == 0:
        return np.zeros(0)
    c = candidate_centres(zones, p0)  # (2N,)
    w = (zones["price_high"] - zones["price_low"]).to_numpy(float)  # (N,)
    zl = c[:, None] - w[None, :] / 2.0  # (2N, N): placement x zone
    zh = c[:, None] + w[None, :] / 2.0
    return _hits(zl, zh, zones["side"].to_numpy(), events).mean(axis=0)


def _captured(zl, zh, zs, el, eh, es, en, side) -> float:
    zm, em = zs == side, es == side
    if not zm.any() or not em.any():
        return 0.0
    frac = np.zeros(int(em.sum()))
    for lo, hi in merge_intervals(zl[zm], zh[zm]):
        frac += event_overlap_fraction(el[em], eh[em], lo, hi)
    return float(np.sum(en[em] * np.minimum(frac, 1.0)))


def baseline_scores(
    zones: pd.DataFrame, events: pd.DataFrame, p0: float, rng: np.random.Generator, n_draws: int = 200
) -> dict[str, tuple[float, float]]:
    """Mean over draws of (zones hit, realized notional inside zones in USDT) per side and ``all``."""
    out = {s: (0.0, 0.0) for s in (*SIDES, "all")}
    if len(zones) == 0 or n_draws <= 0:
        return out
    zs = zones["side"].to_numpy()
    w = (zones["price_high"] - zones["price_low"]).to_numpy(float)
    c = draw_centres(zones, p0, rng, n_draws)
    zl, zh = c - w / 2.0, c + w / 2.0
    hits = _hits(zl, zh, zs, events)  # (D, N)
    el, eh, es = (events[c_].to_numpy() for c_ in ("price_low", "price_high", "side"))
    en = events["notional_usd"].to_numpy(float)
    cap = {s: 0.0 for s in SIDES}
    if len(events):
        for d in range(n_draws):
            for s in SIDES:
                cap[s] += _captured(zl[d], zh[d], zs, el, eh, es, en, s)
    for s in SIDES:
        m = zs == s
        out[s] = (float(hits[:, m].sum(axis=1).mean()) if m.any() else 0.0, cap[s] / n_draws)
    out["all"] = (float(hits.sum(axis=1).mean()), sum(cap.values()) / n_draws)
    return out
