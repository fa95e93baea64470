"""Ensemble — a weighted blend of the models' normalised intensity.

Each available model's long and short grids (USDT per tier x bucket) are divided by that model's total
open notional (long + short, all levels — also those outside the grid), so every model contributes its
distribution; the blend is the weighted mean of those distributions (weights renormalised over the
available models), rescaled by the weighted mean of the models' totals so the result stays in USDT-like
units. Normalising by the full totals, not by what falls inside the grid, makes a cell's value the same
whatever window is drawn (the actor's window around the price, the batch heatmap's fixed grid). A model
whose inputs are missing drops out and the caller adds a note.
"""

from __future__ import annotations

import numpy as np


def blend(
    grids: dict[str, tuple[np.ndarray, np.ndarray]], weights: dict[str, float], totals: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Blend ``{model: (long, short)}`` with ``{model: weight}`` (models absent from ``grids`` ignored).

    ``totals``: each model's total open notional (USDT); default the sum of its grids."""
    names = [m for m in grids if weights.get(m, 0.0) > 0]
    if not names:
        any_grid = next(iter(grids.values()), None)
        if any_grid is None:
            raise ValueError("no model grids to blend")
        return np.zeros(any_grid[0].shape), np.zeros(any_grid[1].shape)
    w = np.array([weights[m] for m in names], dtype=float)
    w = w / w.sum()
    if totals is None:
        totals = {m: grids[m][0].sum() + grids[m][1].sum() for m in names}
    totals = np.array([totals[m] for m in names], dtype=float)
    scale = float((w * totals).sum())
    long = np.zeros(grids[names[0]][0].shape)
    short = np.zeros(grids[names[0]][1].shape)
    for wi, tot, m in zip(w, totals, names):
        if tot > 0:
            long += wi * grids[m][0] / tot
            short += wi * grids[m][1] / tot
    return long * scale, short * scale
