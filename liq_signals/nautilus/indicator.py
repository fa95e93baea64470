"""``LiquidationClusterIndicator``: a pure-Python Nautilus indicator around the liquidation engine.

Bars reach it through ``register_indicator_for_bars`` (``handle_bar``); open interest and funding through
``update_open_interest`` / ``update_funding``, called by the signal actor. Observations are queued by the
engine and applied at the next bar close, so the state after each bar equals the batch heatmap's
(:mod:`liq_signals.engine.batch`) for the same inputs.

Clusters: the engine's ``LevelSnapshot.clusters`` joins every run of adjacent non-empty buckets. With a
smooth distribution that is one wide band per side, so the indicator can first zero buckets holding less
than ``bucket_floor_usd`` (USDT per bucket): what remains are the dense bands (:func:`floored_snapshot`).
Prices in USDT, notionals in USDT, times in epoch ns.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from nautilus_trader.indicators import Indicator
from nautilus_trader.model.data import Bar

from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.snapshot import Cluster, ClusterTable, LevelSnapshot, cluster_tables, member_buckets
from liq_signals.errors import ConfigError


def floored_snapshot(snapshot: LevelSnapshot, bucket_floor_usd: float) -> LevelSnapshot:
    """``snapshot`` with every bucket whose side total is below ``bucket_floor_usd`` (USDT) set to zero.

    Applied per side on the bucket totals (all tiers together); 0 returns ``snapshot`` unchanged.
    """
    if bucket_floor_usd <= 0:
        return snapshot
    keep_long = snapshot.long_by_bucket >= bucket_floor_usd
    keep_short = snapshot.short_by_bucket >= bucket_floor_usd
    return dataclasses.replace(
        snapshot,
        long_notional=np.where(keep_long[None, :], snapshot.long_notional, 0.0),
        short_notional=np.where(keep_short[None, :], snapshot.short_notional, 0.0),
    )


class LiquidationClusterIndicator(Indicator):
    """Estimated liquidation clusters of one instrument, updated bar by bar.

    Parameters
    ----------
    engine_config : EngineConfig
        The engine settings (model, tiers, buckets, ...).
    warmup_bars : int
        Bars to see before ``initialized`` (the engine's ``min_history_hours`` must also be met).
    bucket_floor_usd : float
        Per-bucket notional floor (USDT) applied before grouping buckets into clusters.
    """

    def __init__(self, engine_config: EngineConfig, warmup_bars: int = 96, bucket_floor_usd: float = 0.0):
        if not isinstance(warmup_bars, int) or warmup_bars < 0:
            raise ConfigError(f"warmup_bars must be an integer >= 0, got {warmup_bars!r}")
        if not bucket_floor_usd >= 0:
            raise ConfigError(f"bucket_floor_usd must be >= 0, got {bucket_floor_usd!r}")
        super().__init__(params=[engine_config.model, warmup_bars, bucket_floor_usd])
        self.engine_config = engine_config
        self.warmup_bars = warmup_bars
        self.bucket_floor_usd = float(bucket_floor_usd)
        self.engine = LiquidationEngine(engine_config)
        self.count = 0
        self._snapshot: LevelSnapshot | None = None
        self._clusters: list[Cluster] | None = None
        self._tables: dict[str, ClusterTable] | None = None
        self._totals: tuple[np.ndarray, np.ndarray] | None = None
        self._last_runs: tuple | None = None  # (edges, member mask, tables) of the last cluster_tables()

    # inputs ------------------------------------------------------------------------------------
    def handle_bar(self, bar: Bar) -> None:
        """Advance the engine to ``bar``'s close (``ts_event``, epoch ns)."""
        self.update_raw(
            bar.ts_event,
            bar.open.as_double(),
            bar.high.as_double(),
            bar.low.as_double(),
            bar.close.as_double(),
            bar.volume.as_double(),
        )

    def update_raw(self, ts_ns: int, open: float, high: float, low: float, close: float, volume: float) -> None:
        """Advance the engine to the bar closing at ``ts_ns`` (prices USDT, volume base)."""
        self.engine.on_bar(ts_ns, open, high, low, close, volume)
        self.count += 1
        self._snapshot = None
        self._clusters = None
        self._tables = None
        self._totals = None
        if not self.has_inputs:
            self._set_has_inputs(True)
        if not self.initialized and self.count >= self.warmup_bars and self.engine.initialized:
            self._set_initialized(True)

    def update_open_interest(self, ts_ns: int, open_interest: float, open_interest_value: float | None = None,
                             taker_ratio: float | None = None) -> None:
        """Queue an OI snapshot observed at ``ts_ns`` (OI in base, value in USDT, optional taker buy/sell
        volume ratio of the interval ending then)."""
        self.engine.on_open_interest(ts_ns, open_interest, open_interest_value, taker_ratio)

    def update_funding(self, ts_ns: int, rate: float, mark_price: float | None = None) -> None:
        """Queue a funding event at ``ts_ns`` (rate as a fraction per interval, mark price USDT)."""
        self.engine.on_funding(ts_ns, rate, mark_price)

    # outputs -----------------------------------------------------------------------------------
    @property
    def snapshot(self) -> LevelSnapshot:
        """The engine's levels after the last bar (cached until the next bar)."""
        if self._snapshot is None:
            self._snapshot = self.engine.snapshot()
        return self._snapshot

    def clusters(self, top_k: int | None = None) -> list[Cluster]:
        """Clusters after the bucket floor, largest notional first (``top_k`` largest when given)."""
        if self._clusters is None:
            self._clusters = floored_snapshot(self.snapshot, self.bucket_floor_usd).clusters()
        return self._clusters if top_k is None else self._clusters[:top_k]

    def cluster_tables(self) -> dict[str, ClusterTable]:
        """{'long': ..., 'short': ...}: the same clusters as ``clusters()`` as arrays, computed from the
        engine's bucket totals without building a snapshot (the actor's per-bar form; bitwise equal)."""
        if self._tables is None:
            edges, totals = self._bucket_totals()
            member = member_buckets(totals, floor_usd=self.bucket_floor_usd)
            last = self._last_runs  # same window and members as before: the runs are the same
            same = last is not None and last[0] is edges and np.array_equal(last[1], member)
            self._tables = cluster_tables(totals, edges, member=member, same_runs_as=last[2] if same else None)
            self._last_runs = (edges, member, self._tables)
        return self._tables

    def window_bounds(self) -> tuple[float, float]:
        """Lowest and highest edge (USDT) of the grid window the current clusters were found in."""
        edges = self._bucket_totals()[0]
        return float(edges[0]), float(edges[-1])

    def _bucket_totals(self) -> tuple[np.ndarray, np.ndarray]:
        if self._totals is None:
            self._totals = self.engine.bucket_totals()
        return self._totals

    def nearest_long_below(self) -> Cluster | None:
        """The long cluster (liquidations below the price) closest to the last close, after the floor."""
        price = self.engine.price
        cands = [c for c in self.clusters() if c.side == "long" and c.price_low < price]
        return max(cands, key=lambda c: c.price_high) if cands else None

    def nearest_short_above(self) -> Cluster | None:
        """The short cluster (liquidations above the price) closest to the last close, after the floor."""
        price = self.engine.price
        cands = [c for c in self.clusters() if c.side == "short" and c.price_high > price]
        return min(cands, key=lambda c: c.price_low) if cands else None

    def _reset(self) -> None:
        self.engine = LiquidationEngine(self.engine_config)
        self.count = 0
        self._snapshot = None
        self._clusters = None
        self._tables = None
        self._totals = None
        self._last_runs = None
