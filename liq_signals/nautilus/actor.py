"""``LiquidationSignalActor``: estimated liquidation clusters → Nautilus data and signals.

A thin adapter: it subscribes to one bar type and to :class:`~liq_signals.nautilus.data_types.OpenInterest` /
:class:`~liq_signals.nautilus.data_types.FundingRate` custom data, forwards them to a
:class:`~liq_signals.nautilus.indicator.LiquidationClusterIndicator` (the engine and its proximity signals,
:mod:`liq_signals.engine.signals`), and publishes the events the indicator found for each bar, twice:

- as :class:`~liq_signals.nautilus.data_types.LiquidationProximity` custom data
  (``publish_data(DataType(LiquidationProximity), ...)``; subscribe with ``subscribe_data``);
- as a compact signal ``publish_signal(config.signal_name, value)`` whose string value
  ``"event|side|price_low|price_high|notional_usd|distance_bps"`` (prices to 0.01, notional to 1 USDT,
  distance to 0.1 bps) parses back with :meth:`~liq_signals.nautilus.data_types.ProximitySignal.parse`
  (subscribe with ``subscribe_signal(config.signal_name)``; the custom data carries full precision).

Open interest in live trading: Nautilus's Binance adapter has no open-interest feed. A live node needs a
data client of your own that publishes ``OpenInterest`` (e.g. polling ``/fapi/v1/openInterest``); name it in
``open_interest_client_id``. With ``require_open_interest`` true (default) the actor refuses to start on a
live clock without it, and in any environment raises once ``open_interest_timeout_bars`` bars passed
without a single OI observation — the levels would otherwise stay empty without notice.

Ordering: the engine applies an observation with the first bar closing at or after its timestamp. In a
backtest, add OI/funding data *before* bars (the harness does) so an observation stamped exactly at a bar
close arrives ahead of that bar, as in the batch engine; live, it arrives after and lands one bar later.

Load by path in a ``TradingNode``/``BacktestNode``::

    ImportableActorConfig(
        actor_path="liq_signals.nautilus.actor:LiquidationSignalActor",
        config_path="liq_signals.nautilus.actor:LiquidationSignalActorConfig",
        config={"instrument_id": "BTCUSDT-PERP.BINANCE",
                "bar_type": "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL", "proximity_bps": 50},
    )

Units: prices USDT, notionals USDT, distances basis points, times epoch ns.
"""

from __future__ import annotations

import math

import numpy as np
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig, NonNegativeInt, PositiveInt
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from liq_signals.engine.engine import MODELS, EngineConfig
from liq_signals.engine.signals import ProximityConfig
from liq_signals.errors import ConfigError, LiqSignalsError
from liq_signals.nautilus.data_types import (
    OBSERVATION_TYPES,
    FundingRate,
    LiquidationProximity,
    OpenInterest,
    ProximitySignal,
)
from liq_signals.nautilus.indicator import LiquidationClusterIndicator


class OpenInterestMissingError(LiqSignalsError):
    """The actor needs open interest and none is (or can be) delivered."""


def _check_number(name: str, value, minimum: float = 0.0, maximum: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if not minimum <= value <= maximum:
        hi = "" if maximum == math.inf else f" and <= {maximum:g}"
        raise ConfigError(f"{name} must be >= {minimum:g}{hi}, got {value!r}")


class LiquidationSignalActorConfig(ActorConfig, frozen=True):
    """Config of :class:`LiquidationSignalActor`, validated at construction (``ConfigError`` names the field).

    ``model``: engine model ('a' OI, 'b' OI+funding, 'c' trade flow, 'ensemble'). ``proximity_bps``: a
    cluster is 'entered' when its nearest edge is this close to the bar close (bps). ``min_cluster_notional``
    (USDT) and ``min_cluster_share`` (fraction of the side's total, 0..1) select large clusters.
    ``bucket_floor_usd``: buckets below this notional (USDT) are ignored when forming clusters.
    ``cooldown_bars``: bars to wait after a side's exit ('touched', 'swept' or 'left') before it can enter again.
    ``warmup_bars``: bars before events are emitted. ``engine``: further ``EngineConfig`` fields
    (e.g. ``{"bucket_width": 50, "min_history_hours": 24}``). ``heatmap_every``: record the engine's
    snapshot at bars whose close is a multiple of ``heatmap_every`` bar intervals since the epoch (0 = off).
    ``catalog_path``: when set, the published ``LiquidationProximity`` events are written to this
    ``ParquetDataCatalog`` when the actor stops (query them with ``catalog.query(LiquidationProximity)``).
    """

    instrument_id: InstrumentId
    bar_type: BarType
    model: str = "a"
    proximity_bps: float = 50.0
    min_cluster_notional: float = 0.0
    min_cluster_share: float = 0.0
    bucket_floor_usd: float = 0.0
    cooldown_bars: NonNegativeInt = 0
    warmup_bars: NonNegativeInt = 96
    engine: dict | None = None
    heatmap_every: NonNegativeInt = 0
    signal_name: str = "liq_proximity"
    require_open_interest: bool = True
    open_interest_client_id: str | None = None
    open_interest_timeout_bars: PositiveInt = 96
    catalog_path: str | None = None

    def __post_init__(self) -> None:
        if str(self.model).lower() not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        _check_number("proximity_bps", self.proximity_bps)
        _check_number("min_cluster_notional", self.min_cluster_notional)
        _check_number("min_cluster_share", self.min_cluster_share, 0.0, 1.0)
        _check_number("bucket_floor_usd", self.bucket_floor_usd)
        if not self.signal_name or not self.signal_name.replace("_", "").isalnum():
            raise ConfigError(f"signal_name must be a non-empty identifier, got {self.signal_name!r}")
        self.engine_config()  # validates the engine fields
        self.proximity_config()

    def proximity_config(self) -> ProximityConfig:
        """The thresholds of the proximity signals."""
        return ProximityConfig(
            self.proximity_bps,
            self.min_cluster_notional,
            self.min_cluster_share,
            self.cooldown_bars,
            self.bucket_floor_usd,
        )

    def engine_config(self) -> EngineConfig:
        """The ``EngineConfig`` for this actor (symbol from the instrument id, e.g. BTCUSDT-PERP → BTCUSDT)."""
        params = dict(self.engine or {})
        for key in ("model", "symbol"):
            if key in params:
                raise ConfigError(f"engine.{key} is set by the actor; remove it from the engine table")
        known = set(EngineConfig.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(f"engine: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        symbol = self.instrument_id.symbol.value.split("-")[0]
        return EngineConfig(symbol=symbol, model=str(self.model).lower(), **params)


class LiquidationSignalActor(Actor):
    """Publishes ``LiquidationProximity`` events and signals from estimated liquidation clusters."""

    def __init__(self, config: LiquidationSignalActorConfig) -> None:
        super().__init__(config)
        self.indicator = LiquidationClusterIndicator(
            config.engine_config(),
            warmup_bars=config.warmup_bars,
            bucket_floor_usd=config.bucket_floor_usd,
            proximity=config.proximity_config(),
        )
        self._bar_ns = config.bar_type.spec.timedelta.value
        self._reset_records()

    def _reset_records(self) -> None:
        self._last_obs_ns: dict[type, int] = {}  # newest observation time (ns) per data type
        self.repeated_deliveries = 0  # observations not after the last of their type (dropped)
        self.bars_seen = 0
        self.oi_seen = 0
        self.funding_seen = 0
        self.signals_published = 0
        self.events: list[LiquidationProximity] = []  # every published event, in order
        self.open_interest: list[tuple[int, float, float]] = []  # (ts_ns, OI base, OI value USDT)
        self.heatmap_chunks: list[tuple] = []  # recorded snapshot cells (see _record_snapshot)

    # lifecycle ---------------------------------------------------------------------------------
    def on_start(self) -> None:
        cfg = self.config
        if cfg.require_open_interest and cfg.open_interest_client_id is None and self._is_live():
            raise OpenInterestMissingError(
                "LiquidationSignalActor: live Binance data has no open-interest feed; set open_interest_client_id "
                "to a data client that publishes OpenInterest, or require_open_interest=false"
            )
        oi_client = ClientId(cfg.open_interest_client_id) if cfg.open_interest_client_id else None
        self.register_indicator_for_bars(cfg.bar_type, self.indicator)
        for data_type in OBSERVATION_TYPES:
            # a backtest replays catalog data on data.<Type>; a live client's data carries an instrument id and
            # the data engine publishes it on data.<Type>.<venue>.<symbol>: listen on both, drop repeats
            self.subscribe_data(DataType(data_type), client_id=oi_client)
            self.subscribe_data(DataType(data_type), client_id=oi_client, instrument_id=cfg.instrument_id)
        self.subscribe_bars(cfg.bar_type)

    def _is_live(self) -> bool:
        from nautilus_trader.common.component import LiveClock

        return isinstance(self.clock, LiveClock)

    def on_stop(self) -> None:
        self.unsubscribe_bars(self.config.bar_type)
        if self.config.catalog_path and self.events:
            from nautilus_trader.persistence.catalog import ParquetDataCatalog

            ParquetDataCatalog(self.config.catalog_path).write_data(self.events)

    def on_reset(self) -> None:
        self.indicator.reset()
        self._reset_records()

    # inputs ------------------------------------------------------------------------------------
    def on_data(self, data: Data) -> None:
        if not isinstance(data, OBSERVATION_TYPES) or data.instrument_id != self.config.instrument_id:
            return
        last = self._last_obs_ns.get(type(data))
        if last is not None and data.ts_event <= last:  # delivered on both subscriptions, or replayed
            self.repeated_deliveries += 1
            return
        self._last_obs_ns[type(data)] = data.ts_event
        self.indicator.observe(data.to_observation())
        if isinstance(data, OpenInterest):
            self.open_interest.append((data.ts_event, data.open_interest, data.open_interest_value))
            self.oi_seen += 1
        elif isinstance(data, FundingRate):
            self.funding_seen += 1

    def on_bar(self, bar: Bar) -> None:
        # the indicator already advanced to this bar and found its events (indicators update before on_bar)
        cfg = self.config
        self.bars_seen += 1
        if cfg.require_open_interest and self.oi_seen == 0 and self.bars_seen >= cfg.open_interest_timeout_bars:
            raise OpenInterestMissingError(
                f"LiquidationSignalActor: no OpenInterest for {cfg.instrument_id} after {self.bars_seen} bars "
                "(export open interest to the catalog, or set require_open_interest=false)"
            )
        if cfg.heatmap_every and (bar.ts_event // self._bar_ns) % cfg.heatmap_every == 0:
            self._record_snapshot()
        for ev in self.indicator.events:
            self._publish(ev)

    # outputs -----------------------------------------------------------------------------------
    def _publish(self, ev) -> None:
        b = ev.cluster
        data = LiquidationProximity(
            ev.ts_ns,
            ev.ts_ns,
            instrument_id=self.config.instrument_id,
            side=b.side,
            price_low=b.price_low,
            price_high=b.price_high,
            notional_usd=b.notional_usd,
            distance_bps=b.distance_bps,
            model=self.indicator.engine_config.model,
            event=ev.event,
        )
        self.events.append(data)
        self.publish_data(DataType(LiquidationProximity), data)
        value = ProximitySignal(ev.event, b.side, b.price_low, b.price_high, b.notional_usd, b.distance_bps).to_value()
        self.publish_signal(self.config.signal_name, value, ts_event=ev.ts_ns)
        self.signals_published += 1

    def _record_snapshot(self) -> None:
        """Keep the non-zero cells of the current snapshot compactly: side (0 long / 1 short) and tier as
        int8, bucket index as int32 into the snapshot's edges (shared while the window stays), notional as
        float32 (what heatmap.parquet stores) — ~10 bytes a cell instead of a row of objects."""
        s = self.indicator.snapshot
        cells = np.stack([s.long_notional, s.short_notional])  # [side, tier, bucket]
        side, tier, bucket = np.nonzero(cells > 0)
        if len(side):
            self.heatmap_chunks.append(
                (
                    s.ts_ns,
                    s.edges,
                    side.astype(np.int8),
                    tier.astype(np.int8),
                    bucket.astype(np.int32),
                    cells[side, tier, bucket].astype(np.float32),
                )
            )

    def heatmap_frame(self):
        """Recorded snapshots in long format: time (UTC), side, tier (x), price_low, price_high, notional_usd
        (float32), ordered by time, side (long first), tier, price."""
        import pandas as pd

        tiers = np.asarray(self.indicator.engine_config.tiers, dtype=float)
        parts = {"time_ns": [], "side": [], "tier": [], "price_low": [], "price_high": [], "notional_usd": []}
        for ts_ns, edges, side, tier, bucket, notional in self.heatmap_chunks:
            parts["time_ns"].append(np.full(len(side), ts_ns, dtype=np.int64))
            parts["side"].append(side)
            parts["tier"].append(tiers[tier])
            parts["price_low"].append(edges[bucket])
            parts["price_high"].append(edges[bucket + 1])
            parts["notional_usd"].append(notional)
        empty = {
            "time_ns": np.int64,
            "side": np.int8,
            "tier": float,
            "price_low": float,
            "price_high": float,
            "notional_usd": np.float32,
        }
        frame = pd.DataFrame({c: np.concatenate(v) if v else np.zeros(0, empty[c]) for c, v in parts.items()})
        frame.insert(0, "time", pd.to_datetime(frame.pop("time_ns"), unit="ns", utc=True))
        frame["side"] = np.where(frame["side"].to_numpy() == 0, "long", "short")
        return frame

    def events_frame(self):
        """Published events: ts (ISO UTC), side, price_low, price_high, notional_usd, distance_bps, model, event."""
        import pandas as pd

        rows = [e.to_row() for e in self.events]
        cols = ["ts", "side", "price_low", "price_high", "notional_usd", "distance_bps", "model", "event"]
        if not rows:
            return pd.DataFrame({c: [] for c in cols})
        frame = pd.DataFrame(rows)
        frame["ts"] = pd.to_datetime(frame["ts_ns"], unit="ns", utc=True).map(lambda t: t.isoformat())
        return frame[cols]
