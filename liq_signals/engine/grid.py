"""Price buckets for liquidation levels (prices in USDT).

Two lattices, both anchored to a fixed origin so a bucket's edges never move between snapshots:

- ``fixed``: edges at ``k * width`` (``width`` a whole multiple of the tick size), k integer;
- ``bps``: log buckets, edges at ``exp(k * ln(1 + bps/1e4))`` (origin 1 USDT), k integer.

A grid for a given price range is the run of lattice edges covering it; levels outside the range are
counted by the caller (``LevelSnapshot.outside_grid``), never clipped into the end buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liq_signals.errors import ConfigError

MAX_BUCKETS = 200_000


@dataclass(frozen=True)
class PriceGrid:
    """A bucket lattice: ``mode`` is ``fixed`` (width in USDT) or ``bps`` (log step in basis points)."""

    mode: str = "fixed"
    width: float = 50.0
    bps: float = 10.0
    tick_size: float = 0.1

    def __post_init__(self) -> None:
        if self.mode not in ("fixed", "bps"):
            raise ConfigError(f"bucket_mode must be 'fixed' or 'bps', got {self.mode!r}")
        if not (self.tick_size > 0 and math.isfinite(self.tick_size)):
            raise ConfigError(f"tick_size must be > 0, got {self.tick_size}")
        if self.mode == "fixed":
            if not (self.width > 0 and math.isfinite(self.width)):
                raise ConfigError(f"bucket_width must be > 0, got {self.width}")
            ratio = self.width / self.tick_size
            if abs(ratio - round(ratio)) > 1e-6 * max(1.0, ratio):
                raise ConfigError(f"bucket_width {self.width} must be a whole multiple of tick_size {self.tick_size}")
        elif not (self.bps > 0 and math.isfinite(self.bps)):
            raise ConfigError(f"bucket_bps must be > 0, got {self.bps}")

    # lattice index <-> price -------------------------------------------------------------------
    def _log_step(self) -> float:
        return math.log1p(self.bps / 1e4)

    def edge(self, k: np.ndarray | int) -> np.ndarray:
        """Price (USDT) of lattice edge number ``k``."""
        k = np.asarray(k, dtype=float)
        if self.mode == "fixed":
            return k * self.width
        return np.exp(k * self._log_step())

    def index_below(self, price: float) -> int:
        """Lattice index of the edge at or below ``price``."""
        if self.mode == "fixed":
            return int(math.floor(price / self.width + 1e-9))
        return int(math.floor(math.log(price) / self._log_step() + 1e-9))

    def index_range(self, low: float, high: float) -> tuple[int, int]:
        """Lattice buckets (k0, k1) — buckets k0 .. k1 - 1 — covering [low, high] (USDT)."""
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
            raise ConfigError(f"grid range must satisfy 0 < low < high, got [{low}, {high}]")
        k0 = self.index_below(low)
        k1 = self.index_below(high) + 1
        if k1 - k0 > MAX_BUCKETS:
            raise ConfigError(f"grid of {k1 - k0} buckets is too fine; raise bucket_width/bucket_bps")
        return k0, k1

    def edges(self, low: float, high: float) -> np.ndarray:
        """Lattice edges covering [low, high] (USDT), ascending; ``len - 1`` buckets."""
        k0, k1 = self.index_range(low, high)
        return self.edge(np.arange(k0, k1 + 1))

    def edges_around(self, price: float, range_fraction: float) -> np.ndarray:
        """Edges covering ``price * (1 ± range_fraction)``."""
        return self.edges(price * (1.0 - range_fraction), price * (1.0 + range_fraction))


def bucket_of(prices: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bucket index of each price for ``edges`` (bucket i = [edges[i], edges[i+1])); -1 below, n above,
    -2 for NaN."""
    prices = np.asarray(prices, dtype=float)
    idx = np.searchsorted(edges, prices, side="right") - 1
    n = len(edges) - 1
    idx = np.where(prices >= edges[-1], n, idx)
    idx = np.where(np.isnan(prices), -2, idx)
    return idx
