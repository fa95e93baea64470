"""``LiquidationClusterIndicator``: a pure-Python Nautilus indicator around the liquidation engine.

Bars reach it through ``register_indicator_for_bars`` (``handle_bar``); observations (open interest, funding
— records of :mod:`liq_signals.engine.inputs`, e.g. ``OpenInterest.to_observation()``) through ``observe``.
The engine queues observations and applies them at the next bar close, so the state after each bar equals the
batch heatmap's (:mod:`liq_signals.engine.batch`) for the same inputs. With a ``ProximityConfig`` the indicator
also computes each bar's proximity events (:mod:`liq_signals.engine.signals`), read from ``events``.

Clusters: runs of adjacent buckets holding at least ``bucket_floor_usd`` (USDT, all tiers). Prices in USDT,
notionals in USDT, times in epoch ns. The engine itself stays private: callers use the properties below.
"""

from __future__ import annotations

from nautilus_trader.indicators import Indicator
from nautilus_trader.model.data import Bar

from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.signals import ProximityConfig, ProximityEvent, ProximitySignals
from liq_signals.engine.snapshot import Cluster, LevelSnapshot
from liq_signals.errors import ConfigError


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
    proximity : ProximityConfig, optional
        When given, ``events`` holds the proximity events of the last bar.
    """

    def __init__(
        self,
        engine_config: EngineConfig,
        warmup_bars: int = 96,
        bucket_floor_usd: float = 0.0,
        proximity: ProximityConfig | None = None,
    ):
        if not isinstance(warmup_bars, int) or warmup_bars < 0:
            raise ConfigError(f"warmup_bars must be an integer >= 0, got {warmup_bars!r}")
        if not bucket_floor_usd >= 0:
            raise ConfigError(f"bucket_floor_usd must be >= 0, got {bucket_floor_usd!r}")
        if proximity is not None and proximity.bucket_floor_usd != bucket_floor_usd:
            raise ConfigError("proximity.bucket_floor_usd must equal the indicator's bucket_floor_usd")
        super().__init__(params=[engine_config.model, warmup_bars, bucket_floor_usd])
        self.engine_config = engine_config
        self.warmup_bars = warmup_bars
        self.bucket_floor_usd = float(bucket_floor_usd)
        self._engine = LiquidationEngine(engine_config)
        self._signals = ProximitySignals(proximity) if proximity is not None else None
        self.count = 0
        self.events: list[ProximityEvent] = []
        self._snapshot: LevelSnapshot | None = None

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
        """Advance the engine to the bar closing at ``ts_ns`` (prices USDT, volume base), then find the bar's
        proximity events."""
        self._engine.on_bar(ts_ns, open, high, low, close, volume)
        self.count += 1
        self._snapshot = None
        if not self.has_inputs:
            self._set_has_inputs(True)
        if not self.initialized and self.count >= self.warmup_bars and self._engine.initialized:
            self._set_initialized(True)
        if self._signals is not None:
            self.events = self._signals.on_bar(self._engine, ts_ns, high, low, close, warm=self.initialized)

    def observe(self, obs) -> None:
        """Queue an observation record (:mod:`liq_signals.engine.inputs`) stamped at its observed time (ns)."""
        self._engine.observe(obs)

    @property
    def inputs(self) -> frozenset[str]:
        """The input kinds the engine's models consume (``engine.inputs.INPUT_KINDS`` names)."""
        return self._engine.inputs

    # outputs -----------------------------------------------------------------------------------
    @property
    def snapshot(self) -> LevelSnapshot:
        """The engine's levels after the last bar (cached until the next bar)."""
        if self._snapshot is None:
            self._snapshot = self._engine.snapshot()
        return self._snapshot

    @property
    def brackets(self) -> dict:
        """The bracket table in force: {symbol, effective_from, file, is_default, note}."""
        return self._engine.brackets_info()

    @property
    def quiet_bars(self) -> int:
        """Bars on which the proximity signals skipped the cluster work (no event was possible)."""
        return self._signals.quiet_bars if self._signals is not None else 0

    def clusters(self, top_k: int | None = None) -> list[Cluster]:
        """Clusters after the bucket floor, largest notional first (``top_k`` largest when given)."""
        return self.snapshot.with_floor(self.bucket_floor_usd).clusters(top_k)

    def nearest_long_below(self) -> Cluster | None:
        """The long cluster (liquidations below the price) closest to the last close, after the floor."""
        return self.snapshot.with_floor(self.bucket_floor_usd).nearest_long_below()

    def nearest_short_above(self) -> Cluster | None:
        """The short cluster (liquidations above the price) closest to the last close, after the floor."""
        return self.snapshot.with_floor(self.bucket_floor_usd).nearest_short_above()

    def _reset(self) -> None:
        self._engine = LiquidationEngine(self.engine_config)
        if self._signals is not None:
            self._signals.reset()
        self.count = 0
        self.events = []
        self._snapshot = None
