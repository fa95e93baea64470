"""Nautilus layer, low level: tracker rules, LiquidationProximity catalog round-trip, config validation,
and the actor on a low-level BacktestEngine fed the real sample (snapshots equal the batch heatmap)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.data import BarType
from nautilus_trader.model.identifiers import InstrumentId

from liq_signals.errors import ConfigError
from liq_signals.nautilus.actor import (
    LiquidationSignalActor,
    LiquidationSignalActorConfig,
    OpenInterestMissingError,
)
from liq_signals.nautilus.proximity import LiquidationProximity
from liq_signals.nautilus.tracker import Band, ProximityTracker, distance_bps, nearest_qualifying

IID = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
BAR_TYPE = BarType.from_str("BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL")


def C(side, lo, hi, notional):
    return Band(side, lo, hi, notional, 0.0)


# ------------------------------------------------------------------------------------------ tracker


def test_distance_bps_hand_values():
    assert distance_bps(100.0, 99.0, 99.5) == pytest.approx(50.0)  # 0.5 below a price of 100
    assert distance_bps(100.0, 101.0, 102.0) == pytest.approx(100.0)
    assert distance_bps(100.0, 99.0, 101.0) == 0.0


def test_nearest_qualifying_respects_side_thresholds_and_share():
    clusters = [C("long", 98.0, 99.0, 10.0), C("long", 90.0, 91.0, 90.0), C("short", 101.0, 102.0, 5.0)]
    # nearest long is the small one at 98-99
    assert nearest_qualifying(clusters, "long", 100.0, 0.0, 0.0).price_low == 98.0
    # a notional floor of 50 skips it; share 0.5 of the long total (100) does too
    assert nearest_qualifying(clusters, "long", 100.0, 50.0, 0.0).price_low == 90.0
    assert nearest_qualifying(clusters, "long", 100.0, 0.0, 0.5).price_low == 90.0
    # a short cluster is never a long candidate; nothing above 102 for shorts at price 103
    assert nearest_qualifying(clusters, "short", 103.0, 0.0, 0.0) is None


def test_tracker_enter_left_swept_and_cooldown():
    tr = ProximityTracker(proximity_bps=100.0, cooldown_bars=2)
    near = [C("long", 98.5, 99.2, 10.0)]  # 80 bps below 100
    far = [C("long", 90.0, 91.0, 10.0)]
    ev = tr.step(1, high=100.5, low=99.5, close=100.0, clusters=near)
    assert [(e.event, e.band.side) for e in ev] == [("entered", "long")]
    assert tr.step(2, 100.5, 99.5, 100.0, near) == []  # still inside: no event
    ev = tr.step(3, 100.5, 99.5, 100.0, far)
    assert [e.event for e in ev] == ["left"]
    assert tr.step(4, 100.5, 99.5, 100.0, near) == []  # cooldown: 1 bar since exit < 2
    assert [e.event for e in tr.step(5, 100.5, 99.5, 100.0, near)] == ["entered"]
    ev = tr.step(6, 100.5, 98.4, 98.6, near)  # low 98.4 <= price_low 98.5: traded through
    assert [e.event for e in ev] == ["swept"]
    assert ev[0].band.price_low == 98.5


def test_tracker_waits_for_warmup_and_short_side_sweeps_on_high():
    tr = ProximityTracker(proximity_bps=50.0)
    above = [C("short", 100.3, 100.6, 5.0)]  # 30 bps above
    assert tr.step(1, 100.1, 99.9, 100.0, above, warm=False) == []
    assert [e.event for e in tr.step(2, 100.1, 99.9, 100.0, above)] == ["entered"]
    assert [e.event for e in tr.step(3, 100.6, 99.9, 100.5, above)] == ["swept"]


# ------------------------------------------------------------------------------------------ data type


def test_liquidation_proximity_round_trips_through_catalog(tmp_path):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    events = [
        LiquidationProximity(1_700_000_000_000_000_000 + i * 900_000_000_000, 1_700_000_000_000_000_000 + i * 900_000_000_000,
                             instrument_id=IID, side=side, price_low=40000.0 + i, price_high=40050.0 + i,
                             notional_usd=1.5e7 * (i + 1), distance_bps=12.5 * i, model="a", event=ev)
        for i, (side, ev) in enumerate([("long", "entered"), ("short", "left"), ("long", "swept")])
    ]
    catalog = ParquetDataCatalog(str(tmp_path))
    catalog.write_data(events)
    back = catalog.query(LiquidationProximity)
    back = [getattr(b, "data", b) for b in back]
    assert [b.to_row() for b in back] == [e.to_row() for e in events]
    assert [b.ts_init for b in back] == [e.ts_init for e in events]


# ------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "z"}, "model"),
        ({"proximity_bps": -1.0}, "proximity_bps"),
        ({"min_cluster_notional": -5.0}, "min_cluster_notional"),
        ({"min_cluster_share": 1.5}, "min_cluster_share"),
        ({"bucket_floor_usd": float("nan")}, "bucket_floor_usd"),
        ({"engine": {"bucket_widht": 50}}, "bucket_widht"),
        ({"engine": {"model": "b"}}, "engine.model"),
        ({"engine": {"representative_notional_usd": -1.0}}, "representative_notional_usd"),
    ],
)
def test_actor_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kwargs)


def test_actor_config_is_importable_by_path():
    from nautilus_trader.common.config import ImportableActorConfig
    from nautilus_trader.common.config import ActorFactory

    actor = ActorFactory.create(ImportableActorConfig(
        actor_path="liq_signals.nautilus.actor:LiquidationSignalActor",
        config_path="liq_signals.nautilus.actor:LiquidationSignalActorConfig",
        config={"instrument_id": str(IID), "bar_type": str(BAR_TYPE), "proximity_bps": 75.0},
    ))
    assert isinstance(actor, LiquidationSignalActor)
    assert actor.config.proximity_bps == 75.0


# ------------------------------------------------------------------------------------------ low-level engine


def _engine(bars, oi, funding, actor, strategy=None):
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import ClientId, Venue
    from nautilus_trader.model.objects import Money

    from liq_signals.nautilus.instruments import binance_perpetual

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    engine.add_venue(Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=None, starting_balances=[Money(100_000, USDT)], default_leverage=Decimal(5))
    engine.add_instrument(binance_perpetual("BTCUSDT"))
    # observations first: at equal timestamps the (stable) sort keeps them ahead of the bar they belong to
    if oi:
        engine.add_data(oi, client_id=ClientId("LIQ_SIGNALS"))
    if funding:
        engine.add_data(funding, client_id=ClientId("LIQ_SIGNALS"))
    engine.add_data(bars)
    engine.add_actor(actor)
    if strategy is not None:
        engine.add_strategy(strategy)
    return engine


@pytest.fixture(scope="module")
def sample():
    from liq_signals.nautilus.instruments import binance_perpetual
    from liq_signals.nautilus.sample import load_sample_frames, nautilus_objects

    frames = load_sample_frames()
    t0 = int(frames.oi["ts"].iloc[0])  # the metrics file starts two days after the klines
    frames = type(frames)(frames.bars[frames.bars["ts"] >= t0], frames.oi, frames.funding[frames.funding["ts"] >= t0])
    bars, oi, funding = nautilus_objects(frames, binance_perpetual("BTCUSDT"), BAR_TYPE)
    return frames, bars, oi, funding


ACTOR_KW = dict(model="a", proximity_bps=60.0, bucket_floor_usd=3e6, min_cluster_notional=1e7,
                cooldown_bars=4, warmup_bars=96, heatmap_every=4)


@pytest.fixture(scope="module")
def low_level_run(sample):
    frames, bars, oi, funding = sample
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **ACTOR_KW))
    engine = _engine(bars, oi, funding, actor)
    engine.run()
    yield actor
    engine.dispose()


@pytest.fixture(scope="module", params=["a", "b", "ensemble"])
def model_run(request, sample, low_level_run):
    if request.param == "a":
        return low_level_run
    frames, bars, oi, funding = sample
    kw = dict(ACTOR_KW, model=request.param)
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kw))
    engine = _engine(bars, oi, funding, actor)
    engine.run()
    engine.dispose()
    return actor


def test_low_level_actor_snapshots_equal_batch_heatmap(sample, model_run):
    """One source of truth: the actor's hourly snapshots equal ``run_heatmap`` on the same inputs (models
    a, b with funding, and the ensemble)."""
    from liq_signals.engine.batch import run_heatmap
    from liq_signals.nautilus.sample import market_inputs

    frames = sample[0]
    actor = model_run
    assert len(actor.events) > 0
    hm_actor = actor.heatmap_frame()
    assert len(hm_actor) > 1000 and actor.oi_seen == len(frames.oi)
    times = sorted(hm_actor["time"].unique())
    assert all(t.minute == 0 for t in times)  # heatmap_every=4 x 15 min on the epoch grid = whole hours
    cfg = actor.indicator.engine_config
    batch = run_heatmap(market_inputs(frames), cfg, start=times[0], end=times[-1], every="1h").to_frame()
    assert sorted(batch["time"].unique()) == times
    grid = cfg.grid()
    closes = frames.bars.set_index(pd.to_datetime(frames.bars["ts"], unit="ns", utc=True))["close"]
    key = ["time", "side", "tier", "price_low"]
    for t in times[:: max(1, len(times) // 40)]:  # ~40 snapshots spread over the month
        edges = grid.edges_around(float(closes[t]), cfg.grid_range_fraction)
        a = hm_actor[hm_actor["time"] == t].sort_values(key, ignore_index=True)
        b = batch[(batch["time"] == t) & (batch["price_low"] >= edges[0] - 1e-9) & (batch["price_high"] <= edges[-1] + 1e-9)]
        b = b.sort_values(key, ignore_index=True)
        assert len(a) == len(b), t
        np.testing.assert_array_equal(a["price_low"].to_numpy(), b["price_low"].to_numpy())
        np.testing.assert_array_equal(a["side"].to_numpy(), b["side"].to_numpy())
        # the batch heatmap stores float32: the actor's float64 cells round to exactly those values
        np.testing.assert_array_equal(a["notional_usd"].to_numpy().astype(np.float32), b["notional_usd"].to_numpy())


def test_low_level_events_are_consistent_with_their_thresholds(low_level_run):
    ev = low_level_run.events_frame()
    assert set(ev["event"]) <= {"entered", "left", "swept"} and (ev["event"] == "entered").sum() > 0
    entered = ev[ev["event"] == "entered"]
    assert (entered["distance_bps"] <= ACTOR_KW["proximity_bps"]).all()
    assert (entered["notional_usd"] >= ACTOR_KW["min_cluster_notional"]).all()
    # per side the events alternate: entered, then left or swept, then entered ...
    for side, g in ev.groupby("side"):
        kinds = g["event"].tolist()
        assert all((k == "entered") == (i % 2 == 0) for i, k in enumerate(kinds)), side
    assert low_level_run.signals_published == len(ev)


def test_missing_open_interest_fails_with_clear_message(sample):
    _, bars, _, funding = sample
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(
        instrument_id=IID, bar_type=BAR_TYPE, open_interest_timeout_bars=8, **ACTOR_KW))
    engine = _engine(bars[:50], [], funding[:3], actor)
    with pytest.raises(OpenInterestMissingError, match="no OpenInterest for BTCUSDT-PERP.BINANCE after 8 bars"):
        engine.run()
    engine.dispose()


@pytest.mark.parametrize("kw", [
    dict(ACTOR_KW, heatmap_every=0),
    dict(model="a", proximity_bps=40.0, bucket_floor_usd=0.0, min_cluster_notional=0.0, min_cluster_share=0.05,
         cooldown_bars=0, warmup_bars=96),
])
def test_skipping_quiet_bars_changes_no_event(sample, monkeypatch, kw):
    """The actor skips the cluster work on bars where no event can happen (nothing active and nothing can
    enter: not warm yet, or the proximity range lies in a 'quiet interval'). Forcing the full work on every
    bar must publish exactly the same events."""
    frames, bars, oi, funding = sample

    def run():
        actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kw))
        engine = _engine(bars, oi, funding, actor)
        engine.run()
        events = [e.to_row() for e in actor.events]
        skipped = actor.quiet_bars
        engine.dispose()
        return events, skipped

    fast, skipped = run()
    monkeypatch.setattr(LiquidationSignalActor, "_can_skip", lambda *a: False)
    full, none_skipped = run()
    assert none_skipped == 0 and skipped > 50  # the shortcut is really taken ...
    assert len(fast) > 10 and fast == full  # ... and changes nothing


def test_quiet_interval_treats_bands_at_the_window_edge_and_large_bands_as_reachable():
    from liq_signals.engine.snapshot import cluster_tables
    from liq_signals.nautilus.tracker import quiet_interval

    edges = np.arange(90.0, 111.0)  # buckets of 1 USDT from 90 to 110
    by = np.zeros(20)
    by[[0, 1]] = 5.0  # 90-92: small, but touches the window's low edge (more of it may lie below)
    by[4] = 5.0  # 94-95: small
    by[7] = 50.0  # 97-98: large
    by[13] = 5.0  # 103-104: small
    by[16] = 50.0  # 106-107: large
    tables = cluster_tables(np.stack([by, np.zeros(20)]), edges)
    assert quiet_interval(tables, 90.0, 110.0, 100.0, 10.0, 0.0) == (98.0, 106.0)
    by[7] = 0.0
    tables = cluster_tables(np.stack([by, np.zeros(20)]), edges)
    assert quiet_interval(tables, 90.0, 110.0, 100.0, 10.0, 0.0) == (92.0, 106.0)  # the edge band bounds it
    assert quiet_interval(tables, 90.0, 110.0, 100.0, 10.0, 0.01) == (95.0, 103.0)  # shares can grow: all count
    assert quiet_interval(tables, 90.0, 110.0, 106.5, 10.0, 0.0) is None  # a large band holds the price


def test_published_events_persist_to_the_configured_catalog(sample, tmp_path):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    frames, bars, oi, funding = sample
    kw = dict(ACTOR_KW, heatmap_every=0, catalog_path=str(tmp_path / "events"))
    actor = LiquidationSignalActor(LiquidationSignalActorConfig(instrument_id=IID, bar_type=BAR_TYPE, **kw))
    engine = _engine(bars[:1500], oi, funding, actor)
    engine.run()
    published = [e.to_row() for e in actor.events]
    engine.dispose()
    back = ParquetDataCatalog(str(tmp_path / "events")).query(LiquidationProximity)
    assert len(published) > 5 and [getattr(b, "data", b).to_row() for b in back] == published


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 40), price=st.floats(95.0, 145.0),
       min_notional=st.sampled_from([0.0, 3.0, 8.0]), min_share=st.sampled_from([0.0, 0.2]))
def test_nearest_band_from_tables_equals_the_plain_search(data, n, price, min_notional, min_share):
    """The actor's binary search on sorted bands picks what the plain scan over cluster objects picks."""
    from liq_signals.engine.snapshot import cluster_tables

    values = st.sampled_from([0.0, 0.0, 1.0, 2.5, 6.0])
    totals = np.array([data.draw(st.lists(values, min_size=n, max_size=n)) for _ in range(2)])
    edges = 100.0 + np.arange(n + 1) * 1.0
    tables = cluster_tables(totals, edges)
    for side in ("long", "short"):
        t = tables[side]
        plain = [Band(side, float(a), float(b), float(v), 0.0)
                 for a, b, v in zip(t.price_low, t.price_high, t.notional_usd)]
        assert nearest_qualifying(tables, side, price, min_notional, min_share) == \
            nearest_qualifying(plain, side, price, min_notional, min_share)
